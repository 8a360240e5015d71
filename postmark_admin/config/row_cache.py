"""The settings row, read without a query per read and never stale.

How a process knows its copy is current:

* **Shared cache** (Redis, Memcached, database, file): the cache holds a version
  token and the row's stored form (secrets still encrypted). Each read fetches
  the small version token; the process keeps the decrypted row for as long as
  the token is unchanged. A committed save replaces the token, so every process
  sees the change on its next read.
* **Process-local cache** (locmem, dummy): other processes cannot be told, so
  each process re-reads the row at most every :data:`LOCAL_TTL` seconds.

A save registers its invalidation with ``transaction.on_commit``: a rolled-back
save never reaches the cache. Between the save and the commit, the thread that
saved reads the row straight from the database and caches nothing.

A cache that fails (a Redis server that does not answer, a missing ``redis`` package, the database
cache's table not created) is logged and treated as absent: the row is read from the database, at
most once a second per process as with a local cache, so sending and the webhooks go on. A save made
meanwhile is published by the process that made it once the cache answers again.
``manage.py check`` and ``check --deploy`` report the broken cache (``postmark_admin.E010``, ``E011``).

Before ``migrate`` the table is missing: the row reads as empty, and nothing is cached. Any other
database error (a refused connection, too many connections, a statement timeout) raises
:class:`~postmark_admin.exceptions.PostmarkSettingsUnavailable`: falling back to settings.py, the
environment or the defaults would send with another token or refuse the stored webhook credentials.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.cache import BaseCache, caches
from django.core.cache.backends.dummy import DummyCache
from django.core.cache.backends.locmem import LocMemCache
from django.db import (
    DEFAULT_DB_ALIAS,
    DatabaseError,
    OperationalError,
    ProgrammingError,
    connections,
    router,
    transaction,
)

from ..exceptions import PostmarkSettingsUnavailable
from .app_settings import app_settings

if TYPE_CHECKING:
    from django.db.models import Field, Model

    from ..models import PostmarkSettings

logger = logging.getLogger(__name__)

LOCAL_TTL = 1.0
VERSION_KEY = "postmark_admin:settings:version"
DATA_KEY = "postmark_admin:settings:row"
#: A version token expires so that an edit made behind Django's back (raw SQL, a
#: restored backup) is picked up within this many seconds.
VERSION_TIMEOUT = 300
DATA_TIMEOUT = 24 * 3600


#: The settings row's Python values by field name (secrets as :class:`~postmark_admin.config.crypto.Secret`).
Row = Mapping[str, Any]
#: What a missing row (or a missing table, before ``migrate``) reads as. Any other database error
#: raises :class:`~postmark_admin.exceptions.PostmarkSettingsUnavailable`.
EMPTY: Row = {}


# This process's decrypted copy of the row. bench/config.py, CPU per effective_config() call: 41 µs
# while the copy is current (locmem; 400 µs with Redis, one round trip for the version token), against
# 1,100-1,400 µs (locmem: a query and two decryptions) or 930 µs (Redis: the stored row fetched and
# decrypted) without it.
@dataclass
class _Memo:
    version: str | None
    row: Row
    loaded_at: float


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.memo: _Memo | None = None
        self.local = threading.local()
        #: The cache failed on the last read (logged once, until it answers again), and when.
        self.cache_failing = False
        self.failed_at = 0.0
        #: A save committed while the cache failed: its new version token is still to be published.
        self.unpublished = False


_state = _State()


def _model() -> type[PostmarkSettings]:
    from ..models import PostmarkSettings

    return PostmarkSettings


def cache_alias() -> str:
    """The alias of the cache that holds the row (``POSTMARK_CACHE``, read live)."""
    return app_settings.CACHE


def is_shared(cache: BaseCache) -> bool:
    """Whether other processes see what this process writes to ``cache``."""
    return not isinstance(cache, LocMemCache | DummyCache)


def clear() -> None:
    """Forget this process's copy of the row (tests and ``override_postmark_settings`` use it)."""
    with _state.lock:
        _state.memo = None


def _db_alias() -> str:
    return router.db_for_read(_model()) or DEFAULT_DB_ALIAS


def _savepoint(alias: str) -> AbstractContextManager[object]:
    """A savepoint when the caller is in a transaction on ``alias``, so that a failed statement does not
    abort the caller's transaction (PostgreSQL refuses every later statement otherwise)."""
    if connections[alias].in_atomic_block:
        return transaction.atomic(using=alias)
    return nullcontext()


def _read_raw() -> dict[str, Any] | None:
    """The row as stored (secrets encrypted), or None when there is no row.

    Raises :class:`_TableMissing` when the table does not exist yet (before ``migrate``), and
    :class:`~postmark_admin.exceptions.PostmarkSettingsUnavailable` for any other database error:
    a database that cannot answer must not read as an empty row.
    """
    model = _model()
    alias = _db_alias()
    try:
        with _savepoint(alias):
            obj = model.objects.using(alias).filter(pk=model.singleton_instance_id).first()
    except DatabaseError as error:
        if _table_missing(alias, error):
            raise _TableMissing from None
        raise PostmarkSettingsUnavailable(alias, error_summary(error)) from error
    if obj is None:
        return None
    return {f.attname: f.get_prep_value(getattr(obj, f.attname)) for f in _stored_fields()}


def _table_missing(alias: str, error: DatabaseError) -> bool:
    """Whether the failed read was for want of the table, asked of the database itself.

    A missing table is a ProgrammingError (PostgreSQL's undefined_table, 42P01; MySQL's 1146) or an
    OperationalError (SQLite's "no such table"), but so are a refused connection and a statement
    timeout: only the introspection of a database that answers tells them apart.
    """
    if not isinstance(error, ProgrammingError | OperationalError):
        return False
    connection = connections[alias]
    try:
        with _savepoint(alias), connection.cursor() as cursor:
            return _model()._meta.db_table not in connection.introspection.table_names(cursor)
    except DatabaseError:
        return False


class _TableMissing(Exception):
    pass


def _stored_fields() -> list[Field[Any, Any]]:
    return [f for f in _model()._meta.concrete_fields if not f.primary_key]


def _from_raw(raw: dict[str, Any] | None) -> Row:
    if raw is None:
        return EMPTY
    fields = {f.attname: f for f in _stored_fields()}
    values = {}
    for name, value in raw.items():
        field = fields.get(name)
        if field is None:
            continue
        values[name] = field.from_db_value(value, None, None) if hasattr(field, "from_db_value") else value
    return values


def _pending_write() -> bool:
    """Whether this thread saved the row in a transaction that has not committed yet."""
    pending: tuple[str, Callable[[], None]] | None = getattr(_state.local, "pending", None)
    if pending is None:
        return False
    alias, callback = pending
    connection = connections[alias]
    if connection.in_atomic_block and any(item[1] is callback for item in connection.run_on_commit):
        return True
    # The callback ran (commit) or was discarded (rollback): either way the pending write is over.
    _state.local.pending = None
    clear()
    return False


def current_row() -> Row:
    """The committed settings row, from this process's copy when it is known to be current.

    While the copy is current this is the very same object each time (never to be modified).
    """
    if _pending_write():
        return _read_uncached()
    if _state.cache_failing and time.monotonic() - _state.failed_at < LOCAL_TTL:
        # Tried again at most once a second: a client retrying its connection must not slow every read.
        return _read_local()
    try:
        cache = _cache_op(caches.__getitem__, cache_alias())
        row = _read_shared(cache) if is_shared(cache) else None
    except _CacheFailed as failed:
        # Any cache backend's own errors (redis.ConnectionError, ImportError, a DatabaseError of the
        # database cache...): the database still has the row.
        _cache_failed(failed.__cause__ or failed)
        return _read_local()
    if row is None:
        return _read_local()
    if _state.cache_failing:
        _state.cache_failing = False
        logger.warning("The Postmark settings cache %r answers again.", cache_alias())
    return row


class _CacheFailed(Exception):
    """A cache operation failed; the backend's own exception is the ``__cause__``."""


def _cache_op(operation: Callable[..., Any], *args: Any) -> Any:
    """``operation(*args)``, its failure raised as :class:`_CacheFailed` (and only a cache operation's)."""
    try:
        return operation(*args)
    except Exception as error:
        raise _CacheFailed from error


def _cache_failed(error: BaseException) -> None:
    _state.failed_at = time.monotonic()
    if not _state.cache_failing:
        _state.cache_failing = True
        logger.warning(
            "The Postmark settings cache %r failed (%s); reading the settings from the database instead "
            "until it answers. See manage.py check --deploy.",
            cache_alias(),
            error_summary(error),
        )


def error_summary(error: BaseException) -> str:
    """``Type: first line of the message``, short enough for a log line or a check message."""
    first_line = next(iter(str(error).strip().splitlines()), "")
    return f"{type(error).__name__}: {first_line}"[:300]


def _read_uncached() -> Row:
    try:
        return _from_raw(_read_raw())
    except _TableMissing:
        return EMPTY


def _read_local() -> Row:
    memo = _state.memo
    now = time.monotonic()
    if memo is not None and now - memo.loaded_at < LOCAL_TTL:
        return memo.row
    try:
        row = _from_raw(_read_raw())
    except _TableMissing:
        return EMPTY
    with _state.lock:
        _state.memo = _Memo(version=None, row=row, loaded_at=now)
    return row


def _read_shared(cache: BaseCache) -> Row:
    if _state.unpublished:
        _cache_op(cache.set, VERSION_KEY, uuid.uuid4().hex, VERSION_TIMEOUT)
        _state.unpublished = False
    version = _cache_op(cache.get, VERSION_KEY)
    if version is None:
        _cache_op(cache.add, VERSION_KEY, uuid.uuid4().hex, VERSION_TIMEOUT)
        version = _cache_op(cache.get, VERSION_KEY)
    memo = _state.memo
    if memo is not None and version is not None and memo.version == version:
        return memo.row
    stored = _cache_op(cache.get, DATA_KEY)
    if isinstance(stored, tuple) and len(stored) == 2 and stored[0] == version and version is not None:
        row = _from_raw(stored[1])
    else:
        try:
            raw = _read_raw()
        except _TableMissing:
            return EMPTY
        # Stored under the version read *before* the query: if a save commits
        # meanwhile, the token changes and this copy is never used.
        if version is not None:
            _cache_op(cache.set, DATA_KEY, (version, raw), DATA_TIMEOUT)
        row = _from_raw(raw)
    with _state.lock:
        _state.memo = _Memo(version=version, row=row, loaded_at=time.monotonic())
    return row


def settings_changed(setting: str = "", **kwargs: Any) -> None:
    """setting_changed receiver: the cached row depends on the keys that decrypt it and on the cache."""
    if setting in ("SECRET_KEY", "SECRET_KEY_FALLBACKS", "CACHES", "POSTMARK_CACHE"):
        clear()
    if setting in ("CACHES", "POSTMARK_CACHE"):
        _state.cache_failing = False  # another cache: its failure is logged anew


def publish_change() -> None:
    """Tell every process that the row changed (a save runs this once it commits)."""
    try:
        cache = caches[cache_alias()]
        if is_shared(cache):
            cache.set(VERSION_KEY, uuid.uuid4().hex, VERSION_TIMEOUT)
    except Exception as error:
        # The save is committed: failing now would only turn it into a 500. Published once the cache answers.
        _state.unpublished = True
        _cache_failed(error)
    clear()


def row_changed(
    sender: type[Model], instance: Model | None = None, using: str | None = None, **kwargs: Any
) -> None:
    """post_save/post_delete receiver: publish the change once (and only if) it commits."""
    alias = using or DEFAULT_DB_ALIAS
    connection = connections[alias]
    if not connection.in_atomic_block:
        publish_change()
        return

    def on_commit() -> None:
        if getattr(_state.local, "pending", None) is not None and _state.local.pending[1] is on_commit:
            _state.local.pending = None
        publish_change()

    _state.local.pending = (alias, on_commit)
    transaction.on_commit(on_commit, using=alias)
