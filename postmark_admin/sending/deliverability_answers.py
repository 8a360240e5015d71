"""Postmark's answers to the deliverability desk's calls, as typed read-only values, and their parsing.

Pure: plain JSON in, dataclasses out. A field that is missing or of the wrong type reads as empty (``""``,
0, None, ``()``), never as an exception: the desk shows what Postmark said, however odd.
:mod:`.deliverability` makes the requests.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Postmark cannot lift these suppressions through its API (only its support can).
PERMANENT_REASONS = frozenset({"SpamComplaint"})


# -- the values returned -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suppression:
    """One suppression of an address on a stream, as the suppressions dump lists it."""

    email_address: str
    reason: str  # HardBounce, SpamComplaint, ManualSuppression (or whatever Postmark adds)
    origin: str  # Recipient, Customer, Admin
    created_at: dt.datetime | None
    stream: str

    @property
    def can_reactivate(self) -> bool:
        """Whether deleting it can succeed: Postmark never lifts a spam complaint through its API."""
        return self.reason not in PERMANENT_REASONS


@dataclass(frozen=True)
class SuppressionResult:
    """Postmark's answer for one address of a create or delete: ``status`` is Suppressed, Deleted or
    Failed, ``message`` says why it failed (None otherwise)."""

    email_address: str
    status: str
    message: str | None


@dataclass(frozen=True)
class MessageEvent:
    """One entry of a message's ``MessageEvents``: Delivered, Opened, LinkClicked, Bounced, Transient,
    SubscriptionChanged... ``details`` is Postmark's object as it came (its keys depend on the type)."""

    recipient: str
    type: str
    received_at: dt.datetime | None
    details: Mapping[str, Any]


@dataclass(frozen=True)
class OutboundMessage:
    """A sent message as Postmark's message search lists it."""

    message_id: str
    stream: str
    sender: str
    subject: str
    tag: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bcc: tuple[str, ...]
    recipients: tuple[str, ...]
    received_at: dt.datetime | None
    status: str
    track_opens: bool
    track_links: str
    metadata: Mapping[str, str]
    attachments: tuple[str, ...]


@dataclass(frozen=True)
class MessageDetails:
    """A message's own record at Postmark: the message, its bodies and what happened to it."""

    message: OutboundMessage
    text_body: str
    html_body: str
    events: tuple[MessageEvent, ...]


@dataclass(frozen=True)
class SearchPage:
    """One page of a message search: how many messages matched in all, and this page's."""

    total_count: int
    messages: tuple[OutboundMessage, ...]


@dataclass(frozen=True)
class OutboundStats:
    """Postmark's ``/stats/outbound`` overview (rates are percentages of ``sent``)."""

    sent: int = 0
    bounced: int = 0
    smtp_api_errors: int = 0
    bounce_rate: float = 0.0
    spam_complaints: int = 0
    spam_complaints_rate: float = 0.0
    opens: int = 0
    unique_opens: int = 0
    tracked: int = 0
    with_open_tracking: int = 0
    with_link_tracking: int = 0
    total_tracked_links_sent: int = 0
    unique_links_clicked: int = 0
    total_clicks: int = 0


@dataclass(frozen=True)
class DayCounts:
    """Messages sent and bounced (every bounce type) on one day, in Postmark's time zone."""

    date: dt.date
    sent: int = 0
    bounced: int = 0


#: The overview's fields: attribute of :class:`OutboundStats` -> Postmark's name.
STATS_FIELDS = {
    "sent": "Sent",
    "bounced": "Bounced",
    "smtp_api_errors": "SMTPApiErrors",
    "bounce_rate": "BounceRate",
    "spam_complaints": "SpamComplaints",
    "spam_complaints_rate": "SpamComplaintsRate",
    "opens": "Opens",
    "unique_opens": "UniqueOpens",
    "tracked": "Tracked",
    "with_open_tracking": "WithOpenTracking",
    "with_link_tracking": "WithLinkTracking",
    "total_tracked_links_sent": "TotalTrackedLinksSent",
    "unique_links_clicked": "UniqueLinksClicked",
    "total_clicks": "TotalClicks",
}


# -- reading Postmark's answers (pure) ------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def read_number(value: Any) -> int:
    """A JSON integer (a boolean is not one); 0 for anything else."""
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _rate(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def read_items(value: Any) -> list[Mapping[str, Any]]:
    """The objects of a JSON list (other items left out); [] for anything but a list."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def parse_timestamp(value: Any) -> dt.datetime | None:
    """One of Postmark's ISO 8601 timestamps (7 fractional digits, ``Z`` or an offset); None if unreadable."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        return None


def _addresses(value: Any) -> tuple[str, ...]:
    return tuple(_text(item.get("Email")) for item in read_items(value) if _text(item.get("Email")))


def parse_suppression(item: Mapping[str, Any], stream: str) -> Suppression:
    return Suppression(
        email_address=_text(item.get("EmailAddress")),
        reason=_text(item.get("SuppressionReason")),
        origin=_text(item.get("Origin")),
        created_at=parse_timestamp(item.get("CreatedAt")),
        stream=stream,
    )


def parse_result(item: Mapping[str, Any]) -> SuppressionResult:
    message = item.get("Message")
    return SuppressionResult(
        email_address=_text(item.get("EmailAddress")),
        status=_text(item.get("Status")),
        message=message if isinstance(message, str) and message else None,
    )


def parse_message(item: Mapping[str, Any]) -> OutboundMessage:
    metadata = item.get("Metadata")
    return OutboundMessage(
        message_id=_text(item.get("MessageID")),
        stream=_text(item.get("MessageStream")),
        sender=_text(item.get("From")),
        subject=_text(item.get("Subject")),
        tag=_text(item.get("Tag")),
        to=_addresses(item.get("To")),
        cc=_addresses(item.get("Cc")),
        bcc=_addresses(item.get("Bcc")),
        recipients=tuple(value for value in item.get("Recipients") or () if isinstance(value, str))
        if isinstance(item.get("Recipients"), list)
        else (),
        received_at=parse_timestamp(item.get("ReceivedAt")),
        status=_text(item.get("Status")),
        track_opens=item.get("TrackOpens") is True,
        track_links=_text(item.get("TrackLinks")),
        metadata={str(key): str(value) for key, value in metadata.items()}
        if isinstance(metadata, Mapping)
        else {},
        attachments=tuple(value for value in item.get("Attachments") or () if isinstance(value, str))
        if isinstance(item.get("Attachments"), list)
        else (),
    )


def parse_details(answer: Mapping[str, Any]) -> MessageDetails:
    events = tuple(
        MessageEvent(
            recipient=_text(event.get("Recipient")),
            type=_text(event.get("Type")),
            received_at=parse_timestamp(event.get("ReceivedAt")),
            details=dict(event["Details"]) if isinstance(event.get("Details"), Mapping) else {},
        )
        for event in read_items(answer.get("MessageEvents"))
    )
    return MessageDetails(
        message=parse_message(answer),
        text_body=_text(answer.get("TextBody")),
        html_body=_text(answer.get("HtmlBody")),
        events=events,
    )


def parse_stats(answer: Mapping[str, Any]) -> OutboundStats:
    values: dict[str, Any] = {}
    for attribute, name in STATS_FIELDS.items():
        reader = _rate if attribute.endswith("_rate") else read_number
        values[attribute] = reader(answer.get(name))
    return OutboundStats(**values)


def _day(value: Any) -> dt.date | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.date.fromisoformat(value[:10])
    except ValueError:
        return None


def merge_days(sends: Mapping[str, Any], bounces: Mapping[str, Any]) -> list[DayCounts]:
    """The per-day sends and bounces (every counter of a bounces day but its Date) as one list, by date. Pure."""
    days: dict[dt.date, dict[str, int]] = {}
    for item in read_items(sends.get("Days")):
        day = _day(item.get("Date"))
        if day is not None:
            days.setdefault(day, {"sent": 0, "bounced": 0})["sent"] += read_number(item.get("Sent"))
    for item in read_items(bounces.get("Days")):
        day = _day(item.get("Date"))
        if day is not None:
            counted = sum(read_number(value) for key, value in item.items() if key != "Date")
            days.setdefault(day, {"sent": 0, "bounced": 0})["bounced"] += counted
    return [DayCounts(day, **counts) for day, counts in sorted(days.items())]
