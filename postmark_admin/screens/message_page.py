"""The desk's message page, shared by the Django admin and Wagtail: a sent message's facts and, per
recipient, a timeline of what happened to it (sent, delivered, opened n times, clicked with the URL,
bounced with its type and description, complained, unsubscribed), each entry linked to its raw event.

Three queries whatever the message holds: the message, its recipients, its newest
:data:`TIMELINE_LIMIT` events (one query by MessageID on the events' ``message_id`` index, grouped by
recipient here; a link leads to the rest). Postmark's own record
(``/messages/outbound/{id}/details``) is fetched only when the user asks for it, and a failure is a
sentence on the page, never an error page.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..exceptions import PostmarkError, PostmarkSettingsUnavailable
from ..sending import deliverability
from ..webhooks.events import EventType, RecordType
from .panels import event_type_label

if TYPE_CHECKING:
    from django.db.models import QuerySet
    from django_stubs_ext import StrOrPromise

    from ..models import SentMessage, SentRecipient, WebhookEvent

#: The admin's page of a raw webhook event, by its primary key (None: the events are not linked).
EventURL = Callable[[int], str] | None
#: The statuses after which no delivery is expected: a recipient without a delivery is no gap then.
FINAL_STATUSES = frozenset({"bounced", "complained", "unsubscribed", "refused"})
#: A message this much older than now with a recipient still "sent" (no delivery event): a gap.
DELIVERY_EXPECTED_AFTER = dt.timedelta(minutes=10)
#: The page shows at most this many of a message's events (the newest), and links to the rest: a
#: message with thousands of opens is read in one bounded query.
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class Fact:
    """One line of the message's facts: a label and the value as text."""

    label: StrOrPromise
    value: str


@dataclass(frozen=True)
class TimelineEntry:
    """One step of a recipient's timeline. ``event_id`` is the raw webhook event's id (None for "sent")."""

    kind: str
    label: str
    at: dt.datetime | None
    detail: str = ""
    url: str = ""
    event_id: int | None = None
    #: The raw event's page in the admin showing it ("" when there is none).
    event_url: str = ""


@dataclass(frozen=True)
class RecipientTimeline:
    """A recipient of the message, its status, and its timeline (oldest first)."""

    address: str
    kind: str
    kind_label: str
    status: str
    status_label: str
    entries: tuple[TimelineEntry, ...]
    opens: int

    @property
    def has_gap(self) -> bool:
        """Whether the log lacks what Postmark certainly knows: nothing at all after the send."""
        return self.status not in FINAL_STATUSES and not any(e.event_id for e in self.entries)


@dataclass(frozen=True)
class MessagePage:
    """What the message page shows."""

    message: SentMessage
    facts: tuple[Fact, ...]
    recipients: tuple[RecipientTimeline, ...]
    #: Events of this message for no listed recipient (a recipient the log does not know).
    other_events: tuple[TimelineEntry, ...] = ()
    has_gaps: bool = False
    can_fetch: bool = True
    #: The page shows only the newest :data:`TIMELINE_LIMIT` events of the message.
    truncated: bool = False
    #: The admin's list of every event of this message ("" when there is none).
    all_events_url: str = ""
    timeline_limit: int = TIMELINE_LIMIT


def entry_for(event: WebhookEvent, event_url: EventURL = None) -> TimelineEntry:
    """A webhook event as a timeline entry: what it says beyond its type (the URL, the bounce). Pure."""
    detail = ""
    label = event_type_label(event.event_type)
    payload = event.payload if isinstance(event.payload, dict) else {}
    if event.record_type == RecordType.SUBSCRIPTION_CHANGE:
        # The suppression that follows a bounce or a complaint (or an unsubscribe), not a second bounce.
        label = gettext("suppressed") if payload.get("SuppressSending", True) else gettext("reactivated")
        detail = str(payload.get("SuppressionReason") or "")
    elif event.event_type == EventType.BOUNCED or event.event_type == EventType.COMPLAINED:
        bounce_type = str(payload.get("Type") or event.record_type)
        detail = " — ".join(part for part in (bounce_type, event.description) if part)
    elif event.event_type == EventType.DEFERRED:
        detail = event.description
    elif event.event_type == EventType.OPENED:
        detail = event.user_agent
    return TimelineEntry(
        kind=event.event_type,
        label=label,
        at=event.occurred_at or event.received_at,
        detail=detail,
        url=event.click_url if event.event_type == EventType.CLICKED else "",
        event_id=event.pk,
        event_url=event_url(event.pk) if event_url is not None else "",
    )


def _sort_key(entry: TimelineEntry) -> tuple[dt.datetime, int]:
    return (entry.at or dt.datetime.min.replace(tzinfo=dt.UTC), entry.event_id or 0)


def timelines(
    message: SentMessage,
    recipients: Iterable[SentRecipient],
    events: Iterable[WebhookEvent],
    event_url: EventURL = None,
) -> tuple[tuple[RecipientTimeline, ...], tuple[TimelineEntry, ...]]:
    """Each recipient's timeline (the send first, then its events by time), and the events of no
    listed recipient. Recipients match events case-insensitively. Pure (no query)."""
    by_address: dict[str, list[TimelineEntry]] = {}
    for event in events:
        by_address.setdefault(event.recipient.casefold(), []).append(entry_for(event, event_url))
    shown: list[RecipientTimeline] = []
    for recipient in recipients:
        found = sorted(by_address.pop(recipient.address_key, []), key=_sort_key)
        start = (
            TimelineEntry("refused", gettext("refused"), message.submitted_at, message.postmark_message)
            if message.refused
            else TimelineEntry("sent", gettext("sent"), message.submitted_at)
        )
        shown.append(
            RecipientTimeline(
                address=recipient.address,
                kind=recipient.kind,
                kind_label=recipient.get_kind_display(),
                status=recipient.status,
                status_label=recipient.get_status_display(),
                entries=(start, *found),
                opens=sum(1 for entry in found if entry.kind == EventType.OPENED),
            )
        )
    others = sorted((entry for entries in by_address.values() for entry in entries), key=_sort_key)
    return tuple(shown), tuple(others)


def facts(message: SentMessage) -> tuple[Fact, ...]:
    """The message's facts, in the page's order (metadata as ``key: value`` pairs)."""
    metadata = ", ".join(f"{key}: {value}" for key, value in sorted(message.metadata.items()))
    lines = [
        Fact(_("message ID"), "" if message.refused else message.message_id),
        Fact(_("submitted at"), _when(message.submitted_at)),
        Fact(_("message stream"), message.stream),
        Fact(_("From"), message.from_email),
        Fact(_("subject"), message.subject),
        Fact(_("tag"), message.tag),
        Fact(_("metadata"), metadata),
        Fact(_("sent via"), message.get_sent_via_display()),
        Fact(_("Postmark's answer"), _answer(message)),
    ]
    return tuple(lines)


def _when(value: dt.datetime | None) -> str:
    from django.utils import formats, timezone

    if value is None:
        return ""
    return str(formats.date_format(timezone.localtime(value), "DATETIME_FORMAT"))


def _answer(message: SentMessage) -> str:
    if message.refused:
        return gettext("ErrorCode %(code)s: %(message)s") % {
            "code": message.error_code,
            "message": message.postmark_message,
        }
    return message.postmark_message


def message_page(
    message: SentMessage,
    event_url: EventURL = None,
    now: dt.datetime | None = None,
    all_events_url: str = "",
    limit: int | None = None,
) -> MessagePage:
    """The page of ``message``: two more queries (its recipients, its newest ``limit`` events, on the
    events' ``pm_event_message`` index). ``event_url(pk)`` is the admin's page of a raw event,
    ``all_events_url`` its list of every event of the message (linked when the timeline is cut)."""
    from django.utils import timezone

    from ..models import WebhookEvent

    limit = TIMELINE_LIMIT if limit is None else limit
    recipients = list(message.recipients.order_by("id"))
    events: list[WebhookEvent] = []
    if not message.refused:
        newest = WebhookEvent.objects.filter(message_id=message.message_id).order_by("-received_at", "-id")
        events = list(newest[: limit + 1])
    truncated = len(events) > limit
    events = events[:limit][::-1]
    shown, others = timelines(message, recipients, events, event_url)
    now = now or timezone.now()
    old_enough = message.submitted_at is not None and now - message.submitted_at > DELIVERY_EXPECTED_AFTER
    return MessagePage(
        message=message,
        facts=facts(message),
        recipients=shown,
        other_events=others,
        # A cut timeline lacks the oldest events: it says nothing about gaps.
        has_gaps=not message.refused and not truncated and old_enough and any(item.has_gap for item in shown),
        can_fetch=not message.refused,
        truncated=truncated,
        all_events_url=all_events_url,
        timeline_limit=limit,
    )


# -- Postmark's own record ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PostmarkRecord:
    """Postmark's record of the message (``details``), or why it could not be fetched (``error``)."""

    details: deliverability.MessageDetails | None = None
    error: str = ""
    events: tuple[TimelineEntry, ...] = field(default_factory=tuple)


#: Postmark's MessageEvents types -> the event type the timeline shows them as.
POSTMARK_EVENT_TYPES: Mapping[str, str] = {
    "Delivered": EventType.DELIVERED,
    "Opened": EventType.OPENED,
    "LinkClicked": EventType.CLICKED,
    "Bounced": EventType.BOUNCED,
    "Transient": EventType.DEFERRED,
    "SubscriptionChanged": EventType.UNSUBSCRIBED,
}


def postmark_entry(event: deliverability.MessageEvent) -> TimelineEntry:
    """One of Postmark's MessageEvents as a timeline entry (with its recipient in the detail). Pure."""
    kind = POSTMARK_EVENT_TYPES.get(event.type, "")
    details = event.details
    url = str(details.get("OriginalLink") or "") if event.type == "LinkClicked" else ""
    summary = details.get("Summary") or details.get("DeliveryMessage") or details.get("BounceType") or ""
    detail = " — ".join(str(part) for part in (event.recipient, summary) if part)
    return TimelineEntry(
        kind=kind or "unknown",
        label=event_type_label(kind) if kind else event.type,
        at=event.received_at,
        detail=detail,
        url=url,
    )


def fetch_postmark_record(message: SentMessage) -> PostmarkRecord:
    """Ask Postmark for its record of ``message``; any failure (unknown message, no token, Postmark
    unreachable) is a sentence in ``error``."""
    try:
        details = deliverability.message_details(message.message_id)
    except (PostmarkError, PostmarkSettingsUnavailable, ValueError) as error:
        return PostmarkRecord(
            error=gettext("Postmark's record could not be fetched: %(error)s") % {"error": error}
        )
    entries = tuple(sorted((postmark_entry(event) for event in details.events), key=_sort_key))
    return PostmarkRecord(details=details, events=entries)


def context(page: MessagePage, record: PostmarkRecord | None) -> dict[str, Any]:
    """The template context both admins render the page with."""
    return {"desk_message": page, "postmark_record": record}


# -- the list's search -------------------------------------------------------------------------------


def search_condition(term: str) -> dict[str, Any] | None:
    """What a search term looks up, by its shape: an address (its recipients, case-insensitive, on the
    address index), a MessageID (exact), else the start of the subject. Pure."""
    term = term.strip()
    if not term:
        return None
    if "@" in term:
        return {"address_key": term.casefold()}
    try:
        uuid.UUID(term)
    except ValueError:
        return {"subject__istartswith": term}
    return {"message_id": term}


def search(queryset: QuerySet[SentMessage], term: str) -> QuerySet[SentMessage]:
    """``queryset`` narrowed to the messages :func:`search_condition` finds (all of it for no term)."""
    from django.db.models import Exists, OuterRef

    from ..models import SentRecipient

    condition = search_condition(term)
    if condition is None:
        return queryset
    if "address_key" in condition:
        matching = SentRecipient.objects.filter(message_id=OuterRef("message_id"), **condition)
        return queryset.filter(Exists(matching))
    return queryset.filter(**condition)
