"""Webhook events and the log's recipients, linked by MessageID, whichever arrives first.

There is no foreign key between them: an event names its message by ``message_id`` and its
recipient by address (``SentRecipient.address_key`` is the address casefolded). Two paths keep a
recipient's status right (the state machine is :mod:`.status`):

* an event stored after its message was logged: :func:`advance_recipient`, one ``UPDATE`` that moves
  the recipient's status only forward, called by the webhook view once per newly stored event;
* a message logged after some of its events were stored (an event can outrun the send's commit):
  :func:`advance_from_events`, one ``SELECT`` per logged request **after** its rows are committed
  (``transaction.on_commit``), and an UPDATE per recipient it found events for.

No event falls between the two: each side writes first (the webhook view commits its event row, the
send its rows) and reads after its own commit (the webhook's UPDATE is a statement of its own, after
the INSERT committed in autocommit). Under READ COMMITTED (or SQLite's serialized writes) whichever
side commits second sees the other's row. Both may apply the same event; that is harmless, as the
UPDATE only moves a status forward (``status IN`` the statuses ranked below the target) and nothing
counts events (the opens and clicks are counted from the events themselves).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, connections, router
from django.utils import timezone

from ..config.effective import app_settings
from .status import RANK, TARGET, statuses_below

if TYPE_CHECKING:
    from ..webhooks.events import NormalizedEvent

logger = logging.getLogger("postmark_admin.desk")


def advance_recipient(message_id: str, recipient: str, event_type: str, at: datetime | None = None) -> int:
    """Move the recipient of ``message_id`` forward for an event of ``event_type``: one UPDATE at most.

    Returns how many rows moved (0 when the log has no such recipient yet, or it already stands
    at or past the event's target). Runs no SQL when the event type moves nothing, the event names
    no message or recipient, or the log is off.
    """
    target = TARGET.get(event_type)
    if target is None or not message_id or not recipient or not app_settings.LOG_MESSAGES:
        return 0
    from ..models import SentRecipient

    below = statuses_below(target)
    if not below:
        return 0  # the lowest status: nothing moves up to it
    connection = connections[router.db_for_write(SentRecipient)]
    sql, status_at = _update_plan(connection, target)
    at_value = status_at.get_db_prep_value(at or timezone.now(), connection)
    from ..webhooks.storage import binding_cursor

    # Server-side binding on psycopg 3, as the event's INSERT: Django's default cursor quotes each value
    # into the SQL text in Python, which was most of this UPDATE's cost to the webhook view.
    with binding_cursor(connection) as cursor:
        cursor.execute(sql, [target, at_value, event_type, message_id, recipient.casefold(), *below])
        return int(cursor.rowcount)


#: The forward-only UPDATE's SQL text per (backend, target status), built once: the ORM's queryset
#: ``.update()`` cost about as much as the rest of a webhook request (bench/webhooks.py --instructions:
#: 2,894 k instructions per event with it, for an event whose recipient the log does not hold).
_update_plans: dict[tuple[type[Any], str], tuple[str, Any]] = {}


def _update_plan(connection: Any, target: str) -> tuple[str, Any]:
    key = (type(connection.ops), target)
    plan = _update_plans.get(key)
    if plan is None:
        from ..models import SentRecipient

        opts, quote = SentRecipient._meta, connection.ops.quote_name
        column = {field.name: quote(field.column) for field in opts.concrete_fields if field.column}
        statuses = ", ".join(["%s"] * len(statuses_below(target)))
        # Identifiers come from the model's metadata; values are parameters. The recipient's
        # ``message_id`` column holds the MessageID itself (a to_field foreign key): no join.
        sql = (
            f"UPDATE {quote(opts.db_table)} SET {column['status']} = %s, "  # noqa: S608
            f"{column['status_at']} = %s, {column['last_event_type']} = %s "
            f"WHERE {column['message']} = %s AND {column['address_key']} = %s "
            f"AND {column['status']} IN ({statuses})"
        )
        plan = _update_plans[key] = (sql, opts.get_field("status_at"))
    return plan


def advance_for_event(normalized: NormalizedEvent, *, stored: bool) -> int:
    """:func:`advance_recipient` for a webhook event the view has just handled.

    Nothing for a duplicate (``stored`` false: the first delivery moved the status already). A
    database error is logged, not raised: the event is stored, and a 5xx would make Postmark post it
    again only to be skipped as a duplicate; the recipient's status lags until its next event.
    """
    if not stored:
        return 0
    try:
        return advance_recipient(
            normalized.message_id, normalized.recipient, normalized.event_type, normalized.occurred_at
        )
    except DatabaseError:
        logger.exception("Postmark: the sent-message log's recipient status was not advanced")
        return 0


def advance_from_events(message_ids: Sequence[str], alias: str) -> int:
    """Move the logged recipients of ``message_ids`` forward for the events already stored: one SELECT.

    The send path's half of "whichever arrives first", run once the request's rows are committed
    (:func:`.record.record_answers`). Then one ``UPDATE`` per recipient that has events (the same
    forward-only UPDATE as :func:`advance_recipient`, to the highest status its events reach, at the
    time of the first event that reached it); usually none has, and the SELECT is all it costs.
    Returns how many recipients moved.
    """
    if not message_ids:
        return 0
    found: dict[tuple[str, str], tuple[int, datetime, str]] = {}
    for message_id, address, event_type, occurred_at, received_at in _stored_events(message_ids, alias):
        at = occurred_at or received_at
        key, rank = (message_id, address.casefold()), RANK[TARGET[event_type]]
        best = found.get(key)
        if best is None or rank > best[0] or (rank == best[0] and at < best[1]):
            found[key] = (rank, at, event_type)
    return sum(
        advance_recipient(message_id, address, event_type, at)
        for (message_id, address), (_rank, at, event_type) in found.items()
    )


def _stored_events(message_ids: Sequence[str], alias: str) -> Iterable[tuple[str, str, str, Any, Any]]:
    """``(message_id, recipient, event_type, occurred_at, received_at)`` of the stored events that move a status.

    Index-backed (``pm_event_message``). On PostgreSQL one array parameter (``= ANY(%s)``, bound
    server-side) rather than the ORM's ``IN`` of 500 parameters that psycopg quotes into the SQL text.
    """
    from ..models import WebhookEvent

    connection = connections[alias]
    if connection.vendor != "postgresql":
        return (
            WebhookEvent.objects.using(alias)
            .filter(message_id__in=list(message_ids), event_type__in=list(TARGET))
            .values_list("message_id", "recipient", "event_type", "occurred_at", "received_at")
            .iterator()
        )
    from ..webhooks.storage import binding_cursor

    opts, quote = WebhookEvent._meta, connection.ops.quote_name
    fields = {field.name: field for field in opts.concrete_fields}
    column = {name: quote(fields[name].column or name) for name in _EVENT_COLUMNS}
    message_type = fields["message_id"].db_type(connection)
    type_type = fields["event_type"].db_type(connection)
    # Identifiers come from the model's metadata; values are parameters.
    sql = (
        f"SELECT {', '.join(column.values())} FROM {quote(opts.db_table)} "  # noqa: S608
        f"WHERE {column['message_id']} = ANY(%s::{message_type}[]) "
        f"AND {column['event_type']} = ANY(%s::{type_type}[])"
    )
    with binding_cursor(connection) as cursor:
        cursor.execute(sql, [list(message_ids), list(TARGET)])
        rows: list[tuple[str, str, str, Any, Any]] = cursor.fetchall()
    return rows


_EVENT_COLUMNS = ("message_id", "recipient", "event_type", "occurred_at", "received_at")
