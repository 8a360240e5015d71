"""What the desk's screens read from the log: each query index-backed, none per row.

* :func:`recent_for_address`: an address's recent messages (``pm_recipient_address``: equality on
  the casefolded address, newest first);
* :func:`timeline`: a message's events grouped by recipient, one query (``pm_event_message``);
* :func:`counts` and :func:`per_day`: aggregates over a stream and a time range
  (``pm_sent_stream`` / ``submitted_at``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from .status import RecipientState

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from ..models import SentMessage, SentRecipient, WebhookEvent


def recent_for_address(address: str, limit: int = 50) -> QuerySet[SentRecipient]:
    """The newest ``limit`` recipient rows of ``address`` (any case), with their messages."""
    from ..models import SentRecipient

    key = address.strip().casefold()
    return SentRecipient.objects.filter(address_key=key).select_related("message").order_by("-id")[:limit]


def timeline(sent_message: SentMessage) -> dict[str, list[WebhookEvent]]:
    """The message's webhook events by recipient (each recipient's address as logged), oldest first: one query.

    Every recipient of the message has a list, empty when no event came for it; an event for an
    address the log does not list (or with none: an inbound-side event) is kept under its own address.
    """
    from ..models import WebhookEvent

    names = {recipient.address_key: recipient.address for recipient in sent_message.recipients.all()}
    grouped: dict[str, list[WebhookEvent]] = {address: [] for address in names.values()}
    events = WebhookEvent.objects.filter(message_id=sent_message.message_id).order_by("received_at", "id")
    for event in events:
        address = names.get(event.recipient.casefold(), event.recipient)
        grouped.setdefault(address, []).append(event)
    return grouped


def counts(stream: str | None = None, since: datetime | None = None) -> dict[str, int]:
    """How many recipients stand at each status (every :class:`RecipientState` present, 0 when none).

    Counts recipients of messages submitted since ``since`` (default: the last 24 hours), on ``stream``
    or on every stream. A recipient counts once, at its current status: a delivered-then-opened
    recipient counts as opened.
    """
    from ..models import SentRecipient

    since = since or timezone.now() - timedelta(days=1)
    rows = SentRecipient.objects.filter(message__submitted_at__gte=since)
    if stream:
        rows = rows.filter(message__stream=stream)
    found = dict(rows.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    return {str(status): int(found.get(str(status), 0)) for status in RecipientState}


def per_day(stream: str | None, days: int) -> list[tuple[date, int, int]]:
    """``(day, messages sent, messages with a bounced recipient)`` for each of the last ``days`` days, oldest first.

    Days in the current time zone; a day without messages is listed with zeros (a chart needs them).
    """
    from ..models import SentMessage

    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    rows = SentMessage.objects.filter(submitted_at__gte=start, error_code=0)
    if stream:
        rows = rows.filter(stream=stream)
    tallies = (
        rows.annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values("day")
        .annotate(
            sent=Count("id", distinct=True),
            bounced=Count("id", filter=Q(recipients__status=RecipientState.BOUNCED), distinct=True),
        )
        .values_list("day", "sent", "bounced")
    )
    by_day: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for day, sent, bounced in tallies:
        by_day[day] = (int(sent), int(bounced))
    return [(first + timedelta(days=n), *by_day[first + timedelta(days=n)]) for n in range(days)]
