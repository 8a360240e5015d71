"""Storing a normalized event exactly once.

Postmark may deliver the same event more than once, and two deliveries can reach
two worker processes at the same moment. The event's ``dedupe_key`` is unique, and
one ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` both stores it
and says whether this request stored it: the database, not a read-then-write in
Python, decides which request wins, so only the winner sends the signal.

The webhook view calls :func:`insert_event`, which sends the row's values straight
to the database (no model instance, no per-field preparation for the text columns:
about 40 µs less per event, see bench/webhooks.py); :func:`stored_event` builds the
model instance afterwards, only when a signal receiver needs one.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, NamedTuple

from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone

from ..models import WebhookEvent
from .events import MODEL_FIELDS, NormalizedEvent

#: Backends whose SQL has ``ON CONFLICT ... DO NOTHING RETURNING`` (SQLite since 3.35).
_RETURNING_VENDORS = ("postgresql", "sqlite")

#: The columns :func:`insert_event` writes, in order: the normalized fields, then ``received_at``.
_COLUMNS = (*MODEL_FIELDS, "received_at")
_values = attrgetter(*MODEL_FIELDS)
_DATETIMES = frozenset({"occurred_at", "received_at"})
_JSON = frozenset({"metadata", "payload"})


class Inserted(NamedTuple):
    """What :func:`insert_event` did: ``pk`` is None when the event was already stored."""

    pk: int | None
    received_at: datetime
    using: str


@lru_cache(maxsize=8)
def _insert_sql(vendor: str, alias: str) -> str:
    # Keyed by vendor and alias (both fixed for a process's connection); built on first use, not at import.
    connection = connections[alias]
    opts = WebhookEvent._meta
    quote = connection.ops.quote_name
    columns = ", ".join(quote(opts.get_field(name).column) for name in _COLUMNS)
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    return (
        f"INSERT INTO {quote(opts.db_table)} ({columns}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(_COLUMNS))}) "
        f"ON CONFLICT ({quote(opts.get_field('dedupe_key').column)}) DO NOTHING "
        f"RETURNING {quote(opts.pk.column)}"
    )


def _parameters(normalized: NormalizedEvent, received_at: datetime, connection: Any) -> list[Any]:
    ops = connection.ops
    values: list[Any] = []
    for name, value in zip(_COLUMNS, (*_values(normalized), received_at), strict=True):
        if name in _JSON:
            value = ops.adapt_json_value(value, None)
        elif name in _DATETIMES and value is not None:
            value = ops.adapt_datetimefield_value(value)
        values.append(value)
    return values


def insert_event(normalized: NormalizedEvent, using: str | None = None) -> Inserted:
    """Insert the event unless an event with the same ``dedupe_key`` exists: one query.

    Commits at once in autocommit mode (the default for a view); inside ``atomic()`` (as with
    ``ATOMIC_REQUESTS``) the row commits with the surrounding transaction.
    """
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    received_at = timezone.now()
    if connection.vendor not in _RETURNING_VENDORS:
        event = _instance(normalized, None, received_at, alias)
        created = _save_portably(event, alias)
        return Inserted(event.pk if created else None, received_at, alias)
    with connection.cursor() as cursor:
        cursor.execute(
            _insert_sql(connection.vendor, alias), _parameters(normalized, received_at, connection)
        )
        row = cursor.fetchone()
    return Inserted(row[0] if row is not None else None, received_at, alias)


def stored_event(normalized: NormalizedEvent, inserted: Inserted) -> WebhookEvent:
    """The :class:`~postmark_admin.models.WebhookEvent` that :func:`insert_event` stored."""
    if inserted.pk is None:
        raise ValueError("the event was not stored by this call (already stored)")
    return _instance(normalized, inserted.pk, inserted.received_at, inserted.using)


def _instance(
    normalized: NormalizedEvent, pk: int | None, received_at: datetime, alias: str | None
) -> WebhookEvent:
    event = WebhookEvent(pk=pk, received_at=received_at, **normalized.model_fields())
    if pk is not None:
        event._state.adding = False
        event._state.db = alias
    return event


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
