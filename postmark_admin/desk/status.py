"""Pure: a recipient's state machine. One webhook event type in, the recipient's new status out.

A recipient's status only moves forward, along one order (docs/desk.rst has the table)::

    queued < sent < delivered < opened < clicked < unsubscribed < bounced < complained < refused

An event moves the status to the event's target only when the target ranks above the current
status: a later open does not hide a bounce, a delivery does not undo a bounce, a second open changes
nothing. Events that say nothing final about the recipient (a transient bounce or DNS error, which
Postmark retries; an autoresponder; a resubscription; an unknown type) have no target. The same order
gives the webhook path its single ``UPDATE ... WHERE status IN (ranked below the target)``
(:func:`statuses_below`), so the database applies exactly what :func:`advance` says.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from ..webhooks.events import EventType


class SentVia(models.TextChoices):
    """Which path of the backend sent a message (one Postmark endpoint each, or the queued worker)."""

    SINGLE = "single", _("single message")
    BATCH = "batch", _("batch")
    TEMPLATE = "template", _("template")
    BATCH_TEMPLATE = "batch_template", _("batch of templates")
    BULK = "bulk", _("Bulk API")
    QUEUED = "queued", _("queued backend")


class RecipientState(models.TextChoices):
    """A recipient's standing, in the order it only moves forward (this module)."""

    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    OPENED = "opened", _("opened")
    CLICKED = "clicked", _("clicked")
    BOUNCED = "bounced", _("bounced")
    COMPLAINED = "complained", _("complained")
    UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
    REFUSED = "refused", _("refused")


class RecipientKind(models.TextChoices):
    TO = "to", _("To")
    CC = "cc", _("Cc")
    BCC = "bcc", _("Bcc")


#: The forward order: a status never moves to one earlier in this list.
ORDER: tuple[str, ...] = (
    RecipientState.QUEUED,
    RecipientState.SENT,
    RecipientState.DELIVERED,
    RecipientState.OPENED,
    RecipientState.CLICKED,
    RecipientState.UNSUBSCRIBED,
    RecipientState.BOUNCED,
    RecipientState.COMPLAINED,
    # Only the send records it (Postmark refused the recipient): no event follows a refusal.
    RecipientState.REFUSED,
)
RANK: dict[str, int] = {str(status): rank for rank, status in enumerate(ORDER)}

#: Webhook event type -> the status it moves a recipient to. A type missing here moves nothing.
TARGET: dict[str, str] = {
    EventType.QUEUED: RecipientState.QUEUED,
    EventType.SENT: RecipientState.SENT,
    EventType.DELIVERED: RecipientState.DELIVERED,
    EventType.OPENED: RecipientState.OPENED,
    EventType.CLICKED: RecipientState.CLICKED,
    EventType.UNSUBSCRIBED: RecipientState.UNSUBSCRIBED,
    # A hard bounce, a soft bounce (Postmark deactivates the address), a bad address, a block:
    # the mail did not arrive.
    EventType.BOUNCED: RecipientState.BOUNCED,
    EventType.REJECTED: RecipientState.BOUNCED,
    EventType.FAILED: RecipientState.BOUNCED,
    EventType.COMPLAINED: RecipientState.COMPLAINED,
}
TARGET = {str(event_type): str(status) for event_type, status in TARGET.items()}


def advance(current: str, event_type: str) -> str:
    """The status after an event of ``event_type``: its target if that ranks higher, else ``current``.

    An unknown ``current`` (a value written by hand) ranks lowest, so any event with a target moves it.
    """
    target = TARGET.get(event_type)
    if target is None or RANK[target] <= RANK.get(current, -1):
        return current
    return target


def statuses_below(target: str) -> list[str]:
    """Every status an event with ``target`` may move a recipient from (those ranked below it)."""
    return [status for status in RANK if RANK[status] < RANK[target]]


def fold(current: str, event_types: Iterable[str]) -> str:
    """The status after several events, in any order (the order does not matter: the result is the highest)."""
    for event_type in event_types:
        current = advance(current, event_type)
    return current
