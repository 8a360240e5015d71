"""Storing a normalized event exactly once.

Postmark may deliver the same event more than once, and two deliveries can reach
two worker processes at the same moment. The event's ``dedupe_key`` is unique, and
one ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` both stores it
and says whether this request stored it: the database, not a read-then-write in
Python, decides which request wins, so only the winner sends the signal.

The webhook view calls :func:`insert_event`, which builds no model instance (each
value goes through its field's ``get_db_prep_save``, as the ORM's own INSERT does);
:func:`stored_event` builds the instance afterwards, only when a signal receiver needs one.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from django.db import IntegrityError, connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone

from ..models import WebhookEvent
from .events import NormalizedEvent

#: Backends whose SQL has ``ON CONFLICT ... DO NOTHING RETURNING`` (SQLite since 3.35).
_RETURNING_VENDORS = ("postgresql", "sqlite")


class Inserted(NamedTuple):
    """What :func:`insert_event` did: ``pk`` is None when the event was already stored."""

    pk: int | None
    received_at: datetime
    using: str


def insert_statement(
    normalized: NormalizedEvent, received_at: datetime, connection: BaseDatabaseWrapper
) -> tuple[str, list[object]]:
    """The ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` of the event, and its parameters."""
    opts = WebhookEvent._meta
    quote = connection.ops.quote_name
    fields = {field.name: field for field in opts.concrete_fields}
    columns = [field for field in fields.values() if not field.primary_key]  # the database numbers rows
    names = ", ".join(quote(field.column) for field in columns)
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))}) "  # noqa: S608
        f"ON CONFLICT ({quote(fields['dedupe_key'].column)}) DO NOTHING RETURNING {quote(opts.pk.column)}"
    )
    row = {**normalized.model_fields(), "received_at": received_at}
    return sql, [field.get_db_prep_save(row[field.name], connection) for field in columns]


def insert_event(normalized: NormalizedEvent, using: str | None = None) -> Inserted:
    """Insert the event unless an event with the same ``dedupe_key`` exists: one query.

    Commits at once in autocommit mode (the default for a view); inside ``atomic()`` (as with
    ``ATOMIC_REQUESTS``) the row commits with the surrounding transaction.
    """
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    received_at = timezone.now()
    if connection.vendor not in _RETURNING_VENDORS:
        event = WebhookEvent(received_at=received_at, **normalized.model_fields())
        created = _save_portably(event, alias)
        return Inserted(event.pk if created else None, received_at, alias)
    with connection.cursor() as cursor:
        cursor.execute(*insert_statement(normalized, received_at, connection))
        row = cursor.fetchone()
    return Inserted(row[0] if row is not None else None, received_at, alias)


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
