"""What the deliverability desk asks Postmark: a recipient's suppressions and their reactivation, a
message's own record (``/messages/outbound/{id}/details``), message search and the outbound statistics.

Each function makes one request (two for :func:`outbound_days`) through the process's pooled
:class:`~.client.PostmarkClient` with the effective configuration (or the ``client`` given), and
returns typed, read-only values parsed defensively from Postmark's answer: a field that is missing or
of the wrong type reads as empty, never as an exception. A refusal raises the project's
:class:`~postmark_admin.exceptions.PostmarkAPIError` (a subclass of
:class:`~postmark_admin.exceptions.PostmarkError`) with Postmark's ErrorCode and Message; the token is
never logged or shown (the client sends it only in its header).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from ..exceptions import PostmarkAPIError, PostmarkSuppressionRefused
from .client import PostmarkClient

#: Postmark's per-address refusals carry a Message but no ErrorCode; these are the codes its published
#: table gives the same texts (1406, 1408), so a refusal always names one when it is known.
REFUSAL_CODES = {
    "You do not have the required authority to change this suppression.": 1406,
    "An invalid email address was provided.": 1408,
}
#: Postmark cannot lift these suppressions through its API (only its support can).
PERMANENT_REASONS = frozenset({"SpamComplaint"})

DateBound = dt.date | dt.datetime


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


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _rate(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _items(value: Any) -> list[Mapping[str, Any]]:
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
    return tuple(_text(item.get("Email")) for item in _items(value) if _text(item.get("Email")))


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
        for event in _items(answer.get("MessageEvents"))
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
        reader = _rate if attribute.endswith("_rate") else _number
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
    for item in _items(sends.get("Days")):
        day = _day(item.get("Date"))
        if day is not None:
            days.setdefault(day, {"sent": 0, "bounced": 0})["sent"] += _number(item.get("Sent"))
    for item in _items(bounces.get("Days")):
        day = _day(item.get("Date"))
        if day is not None:
            counted = sum(_number(value) for key, value in item.items() if key != "Date")
            days.setdefault(day, {"sent": 0, "bounced": 0})["bounced"] += counted
    return [DayCounts(day, **counts) for day, counts in sorted(days.items())]


# -- the requests --------------------------------------------------------------------------------------


@functools.cache
def _postmark_zone() -> dt.tzinfo:
    """US Eastern time, the zone Postmark reads a date and time without an offset in."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    except Exception:  # no tz database: a fixed offset is close enough for a filter
        return dt.timezone(dt.timedelta(hours=-5))


def query_date(value: DateBound) -> str:
    """A ``fromdate``/``todate`` value: a date as is, a datetime in Postmark's time zone (US Eastern)
    without offset, as its reference writes them (``2024-05-01T10:00:00``). Pure."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_postmark_zone()).replace(tzinfo=None)
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _segment(value: str) -> str:
    """``value`` as one path segment, quoted; refused when it could name another path."""
    if not isinstance(value, str) or value.strip(".") == "":
        raise ValueError(_("A message ID or stream must be a non-empty text other than dots."))
    return quote(value, safe="")


def require_object(answer: Any) -> Mapping[str, Any]:
    """``answer`` if it is a JSON object; else raise :class:`PostmarkAPIError` (a proxy's page, a list)."""
    if not isinstance(answer, Mapping):
        raise PostmarkAPIError(_("Postmark's answer could not be read."), response=answer)
    return answer


def _get(
    client: PostmarkClient | None, path: str, params: Mapping[str, Any] | None = None
) -> Mapping[str, Any]:
    client = client or PostmarkClient()
    return require_object(client.request("GET", path, params=params)[1])


def suppressions(
    address: str | None = None, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> list[Suppression]:
    """The suppressions on ``stream`` (of ``address`` only, when given): ``GET
    /message-streams/{stream}/suppressions/dump``."""
    params = {"EmailAddress": address} if address else None
    answer = _get(client, f"message-streams/{_segment(stream)}/suppressions/dump", params)
    return [parse_suppression(item, stream) for item in _items(answer.get("Suppressions"))]


def _change(
    addresses: Iterable[str], stream: str, *, delete: bool, client: PostmarkClient | None
) -> list[SuppressionResult]:
    path = f"message-streams/{_segment(stream)}/suppressions" + ("/delete" if delete else "")
    body = {"Suppressions": [{"EmailAddress": address} for address in addresses]}
    answer = require_object((client or PostmarkClient()).request("POST", path, json_body=body)[1])
    return [parse_result(item) for item in _items(answer.get("Suppressions"))]


def _one(results: list[SuppressionResult], address: str, *, delete: bool) -> SuppressionResult:
    """The result for ``address``; raise :class:`PostmarkSuppressionRefused` when Postmark refused it."""
    result = next((item for item in results if item.email_address.lower() == address.lower()), None)
    if result is None:
        result = results[0] if len(results) == 1 else SuppressionResult(address, "Failed", None)
    if result.status not in ("Deleted", "Suppressed"):  # "Failed", or nothing Postmark said
        raise PostmarkSuppressionRefused(
            address,
            delete=delete,
            error_code=REFUSAL_CODES.get(result.message or ""),
            message=result.message,
            response=result,
        )
    return result


def reactivate(
    address: str, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> SuppressionResult:
    """Delete ``address``'s suppression on ``stream`` (``POST .../suppressions/delete``) and return
    Postmark's result ("Deleted"; Postmark applies it within a minute).

    Raise :class:`~postmark_admin.exceptions.PostmarkSuppressionRefused` when Postmark refuses (a spam
    complaint cannot be reactivated), naming its ErrorCode and Message.
    """
    return _one(_change([address], stream, delete=True, client=client), address, delete=True)


def suppress(
    address: str, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> SuppressionResult:
    """Suppress ``address`` on ``stream`` (``POST .../suppressions``, a ManualSuppression) and return
    Postmark's result ("Suppressed"); raise like :func:`reactivate` when Postmark refuses."""
    return _one(_change([address], stream, delete=False, client=client), address, delete=False)


def message_details(message_id: str, *, client: PostmarkClient | None = None) -> MessageDetails:
    """Postmark's own record of a sent message (``GET /messages/outbound/{id}/details``); an unknown
    message raises :class:`~postmark_admin.exceptions.PostmarkAPIError` with ErrorCode 701."""
    return parse_details(_get(client, f"messages/outbound/{_segment(message_id)}/details"))


def _stats_params(
    stream: str | None, fromdate: DateBound | None, todate: DateBound | None, tag: str | None
) -> dict[str, str]:
    params = {"messagestream": stream, "tag": tag}
    dates = {"fromdate": fromdate, "todate": todate}
    found = {name: value for name, value in params.items() if value}
    found.update({name: query_date(value) for name, value in dates.items() if value is not None})
    return found


def outbound_stats(
    stream: str | None = "outbound",
    fromdate: DateBound | None = None,
    todate: DateBound | None = None,
    *,
    tag: str | None = None,
    client: PostmarkClient | None = None,
) -> OutboundStats:
    """Postmark's overview (``GET /stats/outbound``) of ``stream`` (every stream when None) from
    ``fromdate`` to ``todate`` (both included; all time when None)."""
    return parse_stats(_get(client, "stats/outbound", _stats_params(stream, fromdate, todate, tag)))


def outbound_days(
    stream: str | None = "outbound",
    fromdate: DateBound | None = None,
    todate: DateBound | None = None,
    *,
    tag: str | None = None,
    client: PostmarkClient | None = None,
) -> list[DayCounts]:
    """Sends and bounces per day (``/stats/outbound/sends`` and ``/stats/outbound/bounces``), only the
    days Postmark lists (those with something to count), by date."""
    params = _stats_params(stream, fromdate, todate, tag)
    client = client or PostmarkClient()
    return merge_days(
        _get(client, "stats/outbound/sends", params), _get(client, "stats/outbound/bounces", params)
    )


@dataclass(frozen=True)
class SearchFilters:
    """The message search's filters, as Postmark names them (None or empty: not filtered)."""

    recipient: str | None = None
    fromemail: str | None = None
    tag: str | None = None
    status: str | None = None  # queued, sent, processed
    subject: str | None = None
    fromdate: DateBound | None = None
    todate: DateBound | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)  # Postmark allows one field at a time

    def params(self) -> dict[str, str]:
        found = {
            name: value
            for name, value in (
                ("recipient", self.recipient),
                ("fromemail", self.fromemail),
                ("tag", self.tag),
                ("status", self.status),
                ("subject", self.subject),
            )
            if value
        }
        for name, bound in (("fromdate", self.fromdate), ("todate", self.todate)):
            if bound is not None:
                found[name] = query_date(bound)
        found.update({f"metadata_{key}": value for key, value in self.metadata.items()})
        return found


def outbound_search(
    filters: SearchFilters | None = None,
    stream: str = "outbound",
    *,
    count: int = 50,
    offset: int = 0,
    client: PostmarkClient | None = None,
) -> SearchPage:
    """One page of Postmark's message search (``GET /messages/outbound``) on ``stream``, newest first:
    ``count`` at most 500, ``count + offset`` at most 10,000 (Postmark refuses more with ErrorCode 700)."""
    params = {
        "count": str(count),
        "offset": str(offset),
        "messagestream": stream,
        **(filters or SearchFilters()).params(),
    }
    answer = _get(client, "messages/outbound", params)
    return SearchPage(
        total_count=_number(answer.get("TotalCount")),
        messages=tuple(parse_message(item) for item in _items(answer.get("Messages"))),
    )
