"""The sent-message log's INSERT of one Postmark request: one statement on PostgreSQL, two elsewhere.

:func:`insert_logged` writes a request's :class:`~postmark_admin.models.SentMessage` rows and their
:class:`~postmark_admin.models.SentRecipient` rows (built by :func:`.record.build_rows`):

* on PostgreSQL, **one statement**: a data-modifying CTE inserts the messages and the main
  ``INSERT`` their recipients, each from ``unnest()`` of one array parameter per column (about twenty
  parameters whatever the request's size), bound server-side on psycopg 3. It runs in autocommit (no
  ``BEGIN``/``COMMIT`` round trips): one statement is atomic by itself;
* on SQLite and other databases, which have no data-modifying CTE, **two multi-row INSERTs** in one
  transaction (a savepoint inside the caller's), each with one parameter per value, cut only at the
  database's parameter limit (:func:`max_rows`).

Why not ``bulk_create``, nor the multi-row ``VALUES`` form on PostgreSQL: bench/send.py --log both, and
a cProfile of 500 messages on PostgreSQL: the ``VALUES`` form's ~10,000 parameters cost ~250 ms of
client-side binding (psycopg splitting and quoting the SQL text in Python) per request, against a send
of ~100 ms; ``bulk_create`` builds model instances and cuts at Django's idea of SQLite's limit (999
parameters: 76 messages a statement). The SQL names come from the models' metadata; values are parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import connections, transaction
from django.db.models import DateTimeField, Field, JSONField, Model
from django.db.models.constants import OnConflict

#: One row to insert: the model's field attnames -> Python values (what the model would hold).
Row = dict[str, Any]
#: When a backend states no limit (PostgreSQL): the wire protocol's 65,535 parameters.
_DEFAULT_MAX_PARAMS = 65535


def insert_logged(messages: Sequence[Row], recipients: Sequence[Row], alias: str) -> None:
    """Insert one request's messages (a MessageID already logged is skipped) and their recipients."""
    from ..models import SentMessage, SentRecipient

    if connections[alias].vendor == "postgresql":
        _insert_with_arrays(SentMessage, messages, SentRecipient, recipients, alias)
        return
    with transaction.atomic(using=alias):
        insert_rows(SentMessage, messages, alias, ignore_conflicts=True)
        insert_rows(SentRecipient, recipients, alias)


def _columns(model: type[Model]) -> list[Field[Any, Any]]:
    return [field for field in model._meta.concrete_fields if not field.primary_key]


def _preparers(model: type[Model], connection: Any) -> list[tuple[str, Any]]:
    """Each column's attname, and the function that makes its value what the database takes (or None).

    Text and integer columns go as they are (their get_db_prep_save is the identity for a str or int);
    JSON and datetime columns through their field's own get_db_prep_save, as the ORM's INSERT does.
    """
    preparers = []
    for field in _columns(model):
        prepare = None
        if isinstance(field, JSONField | DateTimeField):
            prepare = partial(field.get_db_prep_save, connection=connection)
        preparers.append((field.attname, prepare))
    return preparers


class _Prepared:
    """Values made what the database takes; a datetime (or empty JSON) prepared once per statement."""

    def __init__(self) -> None:
        self.memo: dict[tuple[str, Any], Any] = {}

    def __call__(self, name: str, prepare: Any, value: Any) -> Any:
        if prepare is None:
            return value
        if isinstance(value, dict) and value:
            return prepare(value)
        key = (name, None if isinstance(value, dict) else value)
        if key not in self.memo:
            self.memo[key] = prepare(value)
        return self.memo[key]


def _unnest(
    model: type[Model], rows: Sequence[Row], connection: Any, prepared: _Prepared
) -> tuple[str, list[Any]]:
    """``(columns) SELECT * FROM unnest(%s::type[], ...)`` for ``model``, and one array per column."""
    quote = connection.ops.quote_name
    fields = _columns(model)
    columns = ", ".join(quote(field.column or "") for field in fields)
    # %b: psycopg 3 sends the arrays in its binary format, which skips escaping each element in Python.
    placeholder = "%b" if _psycopg3() else "%s"
    arrays = ", ".join(f"{placeholder}::{field.db_type(connection)}[]" for field in fields)
    params = [
        [row[name] for row in rows]
        if prepare is None
        else [prepared(name, prepare, row[name]) for row in rows]
        for name, prepare in _preparers(model, connection)
    ]
    return f"{quote(model._meta.db_table)} ({columns}) SELECT * FROM unnest({arrays})", params  # noqa: S608


def _psycopg3() -> bool:
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return bool(is_psycopg3)


def _insert_with_arrays(
    messages_model: type[Model],
    messages: Sequence[Row],
    recipients_model: type[Model],
    recipients: Sequence[Row],
    alias: str,
) -> None:
    """PostgreSQL: messages and recipients in one statement, one array parameter per column."""
    from ..webhooks.storage import binding_cursor

    connection = connections[alias]
    prepared = _Prepared()
    into_messages, message_params = _unnest(messages_model, messages, connection, prepared)
    into_recipients, recipient_params = _unnest(recipients_model, recipients, connection, prepared)
    # The recipients' foreign key has no constraint in the database (models.py: its check cost 3-5 ms
    # per 500 recipients); the one statement writes both tables or neither. A data-modifying CTE runs
    # whether or not the main statement reads it. Identifiers come from the models' metadata; values
    # are parameters.
    sql = f"WITH logged AS (INSERT INTO {into_messages} ON CONFLICT DO NOTHING) INSERT INTO {into_recipients}"
    with binding_cursor(connection) as cursor:
        cursor.execute(sql, [*message_params, *recipient_params])


def max_rows(alias: str, model: type[Model]) -> int:
    """How many rows of ``model`` one multi-row ``VALUES`` INSERT may carry on ``alias`` (the parameter limit)."""
    connection = connections[alias]
    limit = connection.features.max_query_params or _DEFAULT_MAX_PARAMS
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old compile-time default (999); SQLite since 3.32 allows 32,766,
        # and the connection says what this build allows.
        import sqlite3

        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return max(1, limit // len(_columns(model)))


def insert_rows(
    model: type[Model], rows: Sequence[Row], alias: str, *, ignore_conflicts: bool = False
) -> None:
    """``rows`` in as few multi-row INSERT statements as the database's parameter limit allows (usually one).

    The SQL is the ORM's own (the backend's insert_statement and on_conflict_suffix_sql);
    identifiers come from the model's metadata, values are parameters.
    """
    connection = connections[alias]
    quote = connection.ops.quote_name
    preparers = _preparers(model, connection)
    fields = _columns(model)
    columns = ", ".join(quote(field.column or "") for field in fields)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = f"{connection.ops.insert_statement(on_conflict=on_conflict)} {quote(model._meta.db_table)} ({columns}) VALUES "
    tail = connection.ops.on_conflict_suffix_sql(fields, on_conflict, [], [])
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    prepared = _Prepared()
    size = max_rows(alias, model)
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        params = [prepared(name, prepare, row[name]) for row in batch for name, prepare in preparers]
        sql = head + ", ".join([placeholder] * len(batch)) + (f" {tail}" if tail else "")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
