"""Storing a normalized event exactly once.

Postmark may deliver the same event more than once, and two deliveries can reach
two worker processes at the same moment. The event's ``dedupe_key`` is unique, and
one ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` both stores it
and says whether this request stored it: the database, not a read-then-write in
Python, decides which request wins, so only the winner sends the signal. :func:`prune_events`
deletes old events in small batches (``manage.py postmark_prune_events``).

The webhook view calls :func:`insert_event`, which builds no model instance (each
value goes through its field's ``get_db_prep_save``, as the ORM's own INSERT does);
:func:`stored_event` builds the instance afterwards, only when a signal receiver needs one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, NamedTuple

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.base.operations import BaseDatabaseOperations
from django.db.models import Field
from django.utils import timezone

from ..config.effective import app_settings
from ..desk.status import TARGET, statuses_below
from ..models import SentRecipient, WebhookEvent
from .events import NormalizedEvent

#: Backends whose SQL has ``ON CONFLICT ... DO NOTHING RETURNING`` (SQLite since 3.35).
_RETURNING_VENDORS = ("postgresql", "sqlite")


class Inserted(NamedTuple):
    """What :func:`insert_event` did: ``pk`` is None when the event was already stored."""

    pk: int | None
    received_at: datetime
    using: str


def _sql_names(connection: BaseDatabaseWrapper) -> tuple[str, dict[str, str]]:
    """The events table and its columns (by field name), quoted for raw SQL on ``connection``."""
    opts = WebhookEvent._meta
    quote = connection.ops.quote_name
    columns = {}
    for field in opts.concrete_fields:
        assert field.column is not None  # a concrete field has one (django-stubs: str | None)
        columns[field.name] = quote(field.column)
    return quote(opts.db_table), columns


class _InsertPlan(NamedTuple):
    """What :func:`insert_statement` needs that depends only on the model and the database vendor."""

    sql: str
    #: The inserted fields, in the statement's order, and whether each value must go through
    #: ``get_db_prep_save`` (not the text columns, whose values are already ``str``).
    fields: tuple[tuple[Field[Any, Any], bool], ...]


#: Text columns: :class:`NormalizedEvent` gives them ``str`` values, which their ``get_db_prep_save``
#: returns unchanged on every backend.
_TEXT_TYPES = ("CharField", "TextField")


#: One plan per backend's operations class (the quoting of names is the backend's).
_plans: dict[type[BaseDatabaseOperations], _InsertPlan] = {}


def _insert_plan(connection: BaseDatabaseWrapper) -> _InsertPlan:
    """Built once per backend. Rebuilt for every event, the SQL text and the per-field lookups cost
    ~40 µs of CPU per event (a cProfile of bench/webhooks.py's view on PostgreSQL, where the whole
    insert path costs ~200 µs of CPU): see docs/scaling.rst."""
    plan = _plans.get(type(connection.ops))
    if plan is None:
        plan = _plans[type(connection.ops)] = _build_plan(connection.ops.quote_name)
    return plan


def _build_plan(quote: Callable[[str], str]) -> _InsertPlan:
    opts = WebhookEvent._meta
    fields = [field for field in opts.concrete_fields if not field.primary_key]
    columns = {field.name: quote(field.column) for field in opts.concrete_fields if field.column}
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {quote(opts.db_table)} "  # noqa: S608
        f"({', '.join(columns[field.name] for field in fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({columns['dedupe_key']}) DO NOTHING RETURNING {columns['id']}"
    )
    return _InsertPlan(sql, tuple((field, field.get_internal_type() not in _TEXT_TYPES) for field in fields))


def insert_statement(
    normalized: NormalizedEvent, received_at: datetime, connection: BaseDatabaseWrapper
) -> tuple[str, list[Any]]:
    """The ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` of the event, and its parameters."""
    plan = _insert_plan(connection)
    row = {**normalized.model_fields(), "received_at": received_at}
    # get_db_prep_save: each value as the ORM's own INSERT would send it (JSON, aware datetimes...).
    return plan.sql, [
        field.get_db_prep_save(row[field.name], connection) if prepare else row[field.name]
        for field, prepare in plan.fields
    ]


def insert_event(normalized: NormalizedEvent, using: str | None = None) -> Inserted:
    """Insert the event unless an event with the same ``dedupe_key`` exists: one query.

    Commits at once in autocommit mode (the default for a view); inside ``atomic()`` (as with
    ``ATOMIC_REQUESTS``, which the webhook views opt out of) the row commits with the surrounding
    transaction.
    """
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    received_at = timezone.now()
    if connection.vendor not in _RETURNING_VENDORS:
        event = WebhookEvent(received_at=received_at, **normalized.model_fields())
        created = _save_portably(event, alias)
        return Inserted(event.pk if created else None, received_at, alias)
    with binding_cursor(connection) as cursor:
        cursor.execute(*insert_statement(normalized, received_at, connection))
        row = cursor.fetchone()
    return Inserted(row[0] if row is not None else None, received_at, alias)


class _LinkedPlan(NamedTuple):
    """The statement of :func:`insert_event_linked` on one backend, and the field that prepares ``status_at``."""

    sql: str
    status_at: Field[Any, Any]


_linked_plans: dict[type[BaseDatabaseOperations], _LinkedPlan] = {}


def _linked_plan(connection: BaseDatabaseWrapper) -> _LinkedPlan:
    plan = _linked_plans.get(type(connection.ops))
    if plan is None:
        plan = _linked_plans[type(connection.ops)] = _build_linked_plan(
            connection.ops.quote_name, _insert_plan(connection).sql
        )
    return plan


def _build_linked_plan(quote: Callable[[str], str], insert_sql: str) -> _LinkedPlan:
    opts = SentRecipient._meta
    columns = {field.name: field.column for field in opts.concrete_fields if field.column}

    def column(name: str) -> str:
        return quote(columns[name])

    table, pk, status = quote(opts.db_table), column("id"), column("status")
    # The recipient's ``message_id`` column holds the MessageID itself (a to_field foreign key): no join.
    # Its status moves only forward (status = ANY(the statuses below the target)), re-checked on the
    # row's latest version if a concurrent write changed it (READ COMMITTED), and only for a newly
    # stored event (EXISTS inserted): a repeat moves nothing.
    sql = (
        f"WITH inserted AS ({insert_sql}), "  # noqa: S608 (identifiers from the models' metadata)
        f"recipient AS (SELECT {pk} FROM {table} "
        f"WHERE {column('message')} = %s AND {column('address_key')} = %s), "
        f"advanced AS (UPDATE {table} SET {status} = %s, {column('status_at')} = %s, "
        f"{column('last_event_type')} = %s "
        f"WHERE {pk} IN (SELECT {pk} FROM recipient) AND {status} = ANY(%s) "
        f"AND EXISTS (SELECT 1 FROM inserted) RETURNING 1) "
        f"SELECT (SELECT {_event_pk_column(quote)} FROM inserted), "
        f"EXISTS (SELECT 1 FROM recipient), (SELECT count(*) FROM advanced)"
    )
    return _LinkedPlan(sql, opts.get_field("status_at"))


def _event_pk_column(quote: Callable[[str], str]) -> str:
    pk = WebhookEvent._meta.pk
    assert pk is not None and pk.column is not None  # the model has one (django-stubs: Optional)
    return quote(pk.column)


def insert_event_linked(
    normalized: NormalizedEvent, using: str | None = None
) -> tuple[Inserted, bool] | None:
    """PostgreSQL, the sent-message log on: :func:`insert_event` and the recipient's status advance
    (:func:`~postmark_admin.desk.link.advance_recipient`) in **one** statement, so one commit.

    Returns the :class:`Inserted` and whether the log holds the event's recipient (as this statement
    saw it; its status moved forward if the event was new and the status was below the event's). When
    the recipient was not seen, the caller runs :func:`~postmark_admin.desk.link.advance_for_event`
    after this commit, as without this function: a recipient logged while this statement ran (after its
    snapshot) is then still found. Returns None, and does nothing, when this does not apply (another
    database, the log off, an event type that moves no status, no message ID or recipient, the events
    and the log on different databases); the caller then does the two steps itself.

    Why: a linked event otherwise costs a second statement and a second durable commit (a second wait
    for the disk), and the ORM's UPDATE doubled the view's instructions per event (bench/webhooks.py
    ``--instructions``; see docs/scaling.rst).
    """
    target = TARGET.get(normalized.event_type)
    if (
        not app_settings.LOG_MESSAGES
        or target is None
        or not normalized.message_id
        or not normalized.recipient
    ):
        return None
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    if connection.vendor != "postgresql" or router.db_for_write(SentRecipient) != alias:
        return None
    plan = _linked_plan(connection)
    received_at = timezone.now()
    _, parameters = insert_statement(normalized, received_at, connection)
    at = plan.status_at.get_db_prep_value(normalized.occurred_at or received_at, connection)
    parameters += [
        normalized.message_id,
        normalized.recipient.casefold(),
        target,
        at,
        normalized.event_type,
        statuses_below(target),
    ]
    with binding_cursor(connection) as cursor:
        cursor.execute(plan.sql, parameters)
        pk, seen, _advanced = cursor.fetchone()
    return Inserted(pk, received_at, alias), bool(seen)


def binding_cursor(connection: BaseDatabaseWrapper) -> Any:
    """A cursor for one statement; on psycopg 3, one that sends the values apart from the SQL text.

    Used by this module's INSERT and by the sent-message log's (desk/insert.py).

    Django's default psycopg 3 cursor quotes every value into the SQL text in Python (client-side
    binding). Server-side binding, for this one statement (not prepared unless the site set
    ``prepare_threshold``), saved ~30 µs of CPU and ~40 µs of wall time per event
    (bench/webhooks.py on PostgreSQL; see docs/scaling.rst). Wrapped as ``connection.cursor()``
    wraps its own: execute wrappers and the query log see it.
    """
    if connection.vendor == "postgresql":
        from django.db.backends.postgresql.psycopg_any import is_psycopg3

        if is_psycopg3:
            from django.db.backends.postgresql.base import ServerBindingCursor

            connection.ensure_connection()
            connection.validate_thread_sharing()
            # django-stubs types these as Django's CursorWrapper; they are psycopg's cursor classes.
            cursor: Any = ServerBindingCursor(connection.connection)  # type: ignore[call-arg]
            if connection.queries_logged:
                return connection.make_debug_cursor(cursor)
            return connection.make_cursor(cursor)
    return connection.cursor()


def stored_event(normalized: NormalizedEvent, inserted: Inserted) -> WebhookEvent:
    """The :class:`~postmark_admin.models.WebhookEvent` that :func:`insert_event` stored."""
    if inserted.pk is None:
        raise ValueError("the event was not stored by this call (already stored)")
    opts = WebhookEvent._meta
    row = {**normalized.model_fields(), opts.pk.attname: inserted.pk, "received_at": inserted.received_at}
    # from_db(): an instance of a row that is in the database (as a query's results are).
    names = [field.attname for field in opts.concrete_fields]
    return WebhookEvent.from_db(inserted.using, names, [row[name] for name in names])


def _save_portably(event: WebhookEvent, alias: str) -> bool:
    """Other backends: a savepoint and the unique constraint (one more query, same guarantee)."""
    try:
        with transaction.atomic(using=alias):
            event.save(using=alias, force_insert=True)
    except IntegrityError:
        if not WebhookEvent.objects.using(alias).filter(dedupe_key=event.dedupe_key).exists():
            raise
        return False
    return True


def prune_events(
    cutoff: datetime, batch_size: int = 5000, pause: float = 0.0, using: str | None = None
) -> int:
    """Delete events received before ``cutoff``, ``batch_size`` rows per transaction; return how many.

    Each batch is one ``DELETE ... WHERE id IN (SELECT id ... ORDER BY received_at LIMIT n)`` in its own
    transaction: no row is loaded into Python and no lock is held for long, so it runs while webhooks
    keep arriving. On PostgreSQL each batch also starts where the previous one ended
    (``received_at >= `` the newest it deleted, returned by the same statement): the index entries of the
    rows already deleted stay until VACUUM, and a scan from the oldest end would walk all of them again
    at every batch (its time per batch grew by 60 % over a million deleted rows: docs/scaling.rst).
    SQLite removes index entries with their rows, so it needs no bound. An event stored meanwhile with a
    ``received_at`` older than that bound (none is: it defaults to the time of storing) waits for the next run.
    """
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    table, columns = _sql_names(connection)
    pk, received = columns["id"], columns["received_at"]
    prepare = WebhookEvent._meta.get_field("received_at").get_db_prep_value
    keyset = connection.vendor == "postgresql"
    # Identifiers come from the model's metadata; the bounds and the batch size are parameters.
    select = f"SELECT {pk} FROM {table} WHERE {received} < %s{{lower}} ORDER BY {received} LIMIT %s"  # noqa: S608
    delete = f"DELETE FROM {table} WHERE {pk} IN ({select})"  # noqa: S608
    if keyset:
        delete = f"WITH batch AS ({delete} RETURNING {received}) SELECT count(*), max({received}) FROM batch"  # noqa: S608
    lower: Any = None
    total = 0
    deleted: int
    while True:
        bounded = lower is not None
        sql = delete.format(lower=f" AND {received} >= %s" if bounded else "")
        params = [prepare(cutoff, connection), *([lower] if bounded else []), batch_size]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            cursor.execute(sql, params)
            if keyset:
                deleted, lower = cursor.fetchone()
            else:
                deleted = cursor.rowcount
        total += deleted
        if deleted < batch_size:
            return total
        if pause:
            time.sleep(pause)
