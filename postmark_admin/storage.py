"""Storing a normalized event exactly once.

Postmark may deliver the same event more than once, and two deliveries can reach
two worker processes at the same moment. The event's ``dedupe_key`` is unique, and
one ``INSERT ... ON CONFLICT (dedupe_key) DO NOTHING RETURNING id`` both stores it
and says whether this request stored it: the database, not a read-then-write in
Python, decides which request wins, so only the winner sends the signal.
"""

from __future__ import annotations

from django.db import IntegrityError, connections, router, transaction

from .events import NormalizedEvent
from .models import WebhookEvent

#: Backends whose SQL has ``ON CONFLICT ... DO NOTHING RETURNING`` (SQLite since 3.35).
_RETURNING_VENDORS = ("postgresql", "sqlite")


def store_event(normalized: NormalizedEvent, using: str | None = None) -> tuple[WebhookEvent, bool]:
    """Insert the event unless an event with the same ``dedupe_key`` exists.

    Returns ``(event, created)``. When ``created`` is False the returned event was not
    saved (it has no primary key): the stored one is the earlier delivery's.
    """
    alias = using or router.db_for_write(WebhookEvent)
    connection = connections[alias]
    event = WebhookEvent(**normalized.model_fields())
    if connection.vendor not in _RETURNING_VENDORS:
        return _store_portably(event, alias)
    opts = WebhookEvent._meta
    fields = [f for f in opts.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(event, True), connection) for f in fields]
    quote = connection.ops.quote_name
    # Only identifiers from the model's own metadata are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {quote(opts.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))}) "
        f"ON CONFLICT ({quote(opts.get_field('dedupe_key').column)}) DO NOTHING "
        f"RETURNING {quote(opts.pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return event, False
    event.pk = row[0]
    event._state.adding = False
    event._state.db = alias
    return event, True


def _store_portably(event: WebhookEvent, alias: str) -> tuple[WebhookEvent, bool]:
    """Other backends: a savepoint and the unique constraint (one more query, same guarantee)."""
    try:
        with transaction.atomic(using=alias):
            event.save(using=alias, force_insert=True)
    except IntegrityError:
        if not WebhookEvent.objects.using(alias).filter(dedupe_key=event.dedupe_key).exists():
            raise
        event.pk = None
        return event, False
    return event, True
