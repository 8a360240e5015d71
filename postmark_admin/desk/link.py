"""Webhook events and the log's recipients, linked by MessageID, whichever arrives first.

There is no foreign key between them: an event names its message by ``message_id`` and its
recipient by address (``SentRecipient.address_key`` is the address casefolded). Two paths keep a
recipient's status right (the state machine is :mod:`.status`):

* an event stored after its message was logged: :func:`advance_recipient`, one ``UPDATE`` that moves
  the recipient's status only forward, called by the webhook view once per newly stored event;
* a message logged after some of its events were stored (an event can outrun the send's commit,
  and events of a message sent before the log existed stay in the events table):
  :func:`statuses_from_events`, one ``SELECT`` per logged request, folds those events into the
  statuses before the rows are inserted.

A race remains, and is accepted: an event committed between a request's SELECT and its INSERT's
commit (a few milliseconds) is seen by neither path; the recipient's status then lags until its next
event, while the message page, which reads the events themselves, shows it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.db import DatabaseError, router
from django.utils import timezone

from ..config.effective import app_settings
from .status import TARGET, advance, statuses_below

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

    return (
        SentRecipient.objects.using(router.db_for_write(SentRecipient))
        .filter(
            message__message_id=message_id,
            address_key=recipient.casefold(),
            status__in=statuses_below(target),
        )
        .update(status=target, status_at=at or timezone.now(), last_event_type=event_type)
    )


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


def statuses_from_events(
    recipients: Sequence[dict[str, Any]], message_ids: Sequence[str], alias: str
) -> None:
    """Fold the events already stored for ``message_ids`` into ``recipients`` (rows not yet inserted): one SELECT.

    Each recipient's status, ``status_at`` and ``last_event_type`` become what its events, applied
    in any order, make of the status the send gave it (the state machine's result does not depend
    on the order; the time is the event that set the final status).
    """
    if not message_ids or not recipients:
        return
    from ..models import WebhookEvent

    rows = (
        WebhookEvent.objects.using(alias)
        .filter(message_id__in=list(message_ids), event_type__in=list(TARGET))
        .values_list("message_id", "recipient", "event_type", "occurred_at", "received_at")
    )
    found: dict[tuple[str, str], list[tuple[str, datetime]]] = {}
    for message_id, address, event_type, occurred_at, received_at in rows:
        found.setdefault((message_id, address.casefold()), []).append(
            (event_type, occurred_at or received_at)
        )
    if not found:
        return
    for recipient in recipients:
        for event_type, at in found.get((recipient["message_id"], recipient["address_key"]), ()):
            status = advance(recipient["status"], event_type)
            if status != recipient["status"]:
                recipient.update(status=status, status_at=at, last_event_type=event_type)
