"""The webhook payloads Postmark posts, built from a message the sandbox accepted. Pure.

Shapes follow Postmark's documented examples; the client, OS and place of opens and clicks are fixed,
plausible values.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from dataclasses import dataclass
from typing import Any

from .records import postmark_timestamp
from .validation import CheckedMessage


@dataclass(frozen=True)
class Outcome:
    """What the emulated receiving side does with mail to an address (chosen by its local part)."""

    record_type: str  # "Bounce" or "SpamComplaint" (a Delivery is not an Outcome)
    type: str
    type_code: int
    name: str
    description: str
    details: str
    delivered_first: bool  # a spam complaint comes after a delivery
    makes_inactive: bool
    can_activate: bool


#: Local-part prefixes that make the sandbox emulate a bounce or complaint instead of a plain delivery.
OUTCOMES: dict[str, Outcome] = {
    "hardbounce": Outcome(
        "Bounce",
        "HardBounce",
        1,
        "Hard bounce",
        "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
        "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
        delivered_first=False,
        makes_inactive=True,
        can_activate=True,
    ),
    "softbounce": Outcome(
        "Bounce",
        "SoftBounce",
        4096,
        "Soft bounce/Undeliverable",
        "Unable to temporarily deliver this message.",
        "smtp;452 4.2.2 The email account that you tried to reach is over quota.",
        delivered_first=False,
        makes_inactive=False,
        can_activate=False,
    ),
    "spamcomplaint": Outcome(
        "SpamComplaint",
        "SpamComplaint",
        100001,
        "Spam complaint",
        "The subscriber explicitly marked this message as spam.",
        "Test spam complaint details",
        delivered_first=True,
        makes_inactive=True,
        can_activate=False,
    ),
}

#: An ``<a>`` tag's href, quoted either way or not at all.
_HTML_LINK = re.compile(r"""<a\s[^>]*?\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_TEXT_LINK = re.compile(r"""https?://[^\s<>"']+""", re.IGNORECASE)
_WEB_URL = re.compile(r"https?://", re.IGNORECASE)
#: What ends a sentence rather than a URL written in text ("see https://x.example/a.").
_AFTER_TEXT_LINK = ".,;:!?)]}'\""
#: The bodies whose links each ``TrackLinks`` value tracks ("HTML" and "Text" are a Click's ClickLocation).
LINK_TRACKING: dict[str, tuple[str, ...]] = {
    "None": (),
    "HtmlAndText": ("HTML", "Text"),
    "HtmlOnly": ("HTML",),
    "TextOnly": ("Text",),
}
_CLIENT = {"Name": "Chrome 120.0", "Company": "Google", "Family": "Chrome"}
_OS = {"Name": "Linux", "Company": "-", "Family": "Linux"}
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)
_GEO = {
    "CountryISOCode": "US",
    "Country": "United States",
    "RegionISOCode": "NY",
    "Region": "New York",
    "City": "New York",
    "Zip": "10001",
    "Coords": "40.7506,-73.9970",
    "IP": "192.0.2.10",
}


@dataclass(frozen=True)
class Link:
    """A web link in a message: the body it is in ("HTML" or "Text") and its URL."""

    location: str
    url: str


def body_links(message: CheckedMessage) -> list[Link]:
    """The http(s) links of the HTML body (its ``<a href>``), then those written in the text body."""
    links = []
    for found in _HTML_LINK.finditer(message.html_body):
        url = html.unescape(next(group for group in found.groups() if group is not None)).strip()
        if _WEB_URL.match(url):
            links.append(Link("HTML", url))
    for found in _TEXT_LINK.finditer(message.text_body):
        links.append(Link("Text", found.group(0).rstrip(_AFTER_TEXT_LINK)))
    return links


def tracked_links(message: CheckedMessage) -> list[Link]:
    """The links Postmark tracks in ``message``: those of the bodies its ``TrackLinks`` names."""
    tracked = LINK_TRACKING.get(message.track_links, ())
    return [link for link in body_links(message) if link.location in tracked] if tracked else []


def opens_tracked(message: CheckedMessage) -> bool:
    """Whether Postmark can see ``message`` opened: open tracking is on and there is an HTML body to
    carry the tracking pixel."""
    return message.track_opens and bool(message.html_body)


def outcome_for(address: str) -> Outcome | None:
    """The emulated outcome for ``address`` (``hardbounce...@``, ``softbounce...@``, ``spamcomplaint...@``)."""
    local = address.split("@", 1)[0].lower()
    for prefix, outcome in OUTCOMES.items():
        if local.startswith(prefix):
            return outcome
    return None


def _common(message: CheckedMessage, message_id: str, server_id: int) -> dict[str, Any]:
    return {
        "MessageID": message_id,
        "Tag": message.tag,
        "Metadata": dict(message.metadata),
        "MessageStream": message.stream,
        "ServerID": server_id,
    }


def _recipient_event(
    record_type: str, message: CheckedMessage, message_id: str, recipient: str, server_id: int
) -> dict[str, Any]:
    """The fields every per-recipient event (not a bounce record) starts with, in Postmark's order."""
    return {"RecordType": record_type, **_common(message, message_id, server_id), "Recipient": recipient}


def _reader() -> dict[str, Any]:
    """Who opened or clicked: the fixed client, OS, platform and user agent."""
    return {"Client": dict(_CLIENT), "OS": dict(_OS), "Platform": "Desktop", "UserAgent": USER_AGENT}


def delivery(
    message: CheckedMessage, message_id: str, recipient: str, server_id: int, at: dt.datetime
) -> dict[str, Any]:
    return {
        **_recipient_event("Delivery", message, message_id, recipient, server_id),
        "DeliveredAt": postmark_timestamp(at),
        "Details": "Test delivery webhook details: accepted by the Postmark sandbox.",
    }


def open_event(
    message: CheckedMessage, message_id: str, recipient: str, server_id: int, at: dt.datetime
) -> dict[str, Any]:
    return {
        **_recipient_event("Open", message, message_id, recipient, server_id),
        "ReceivedAt": postmark_timestamp(at),
        "FirstOpen": True,
        **_reader(),
        "ReadSeconds": 5,
        "Geo": dict(_GEO),
    }


def click(
    message: CheckedMessage,
    message_id: str,
    recipient: str,
    server_id: int,
    at: dt.datetime,
    link: Link | None = None,
) -> dict[str, Any]:
    """A click on ``link`` (by default the first link of the message's bodies); raise :class:`ValueError`
    when the message has no link to click."""
    if link is None:
        links = body_links(message)
        if not links:
            raise ValueError("A click needs a link in the message's bodies.")
        link = links[0]
    return {
        **_recipient_event("Click", message, message_id, recipient, server_id),
        "ReceivedAt": postmark_timestamp(at),
        "ClickLocation": link.location,
        "OriginalLink": link.url,
        **_reader(),
        "Geo": dict(_GEO),
    }


def bounce_record(
    message: CheckedMessage,
    message_id: str,
    recipient: str,
    server_id: int,
    at: dt.datetime,
    bounce_id: int,
    outcome: Outcome,
) -> dict[str, Any]:
    """A bounce's fields. ``GET /bounces`` lists them after ``"RecordType": "Bounce"`` (see
    :func:`listed_bounce`); the webhook posts them after the outcome's RecordType, and with
    ``IncludeContent`` adds ``Content`` (see :func:`bounce_webhook`)."""
    return {
        "ID": bounce_id,
        "Type": outcome.type,
        "TypeCode": outcome.type_code,
        "Name": outcome.name,
        **_common(message, message_id, server_id),
        "Description": outcome.description,
        "Details": outcome.details,
        "Email": recipient,
        "From": message.sender.email,
        "BouncedAt": postmark_timestamp(at),
        "DumpAvailable": True,
        "Inactive": outcome.makes_inactive,
        "CanActivate": outcome.can_activate,
        "Subject": message.subject,
    }


def listed_bounce(record: dict[str, Any]) -> dict[str, Any]:
    """A bounce record as ``GET /bounces`` lists it: every record, a spam complaint's too, is a "Bounce"."""
    return {"RecordType": "Bounce", **record}


def bounce_content(record: dict[str, Any]) -> str:
    """The raw bounce the emulated receiving side sent back: the webhook's ``Content`` (with
    ``IncludeContent``) and ``GET /bounces/{id}/dump``'s ``Body``."""
    return f"Subject: {record['Subject']}\r\n\r\n{record['Details']}"


def bounce_webhook(record: dict[str, Any], outcome: Outcome, include_content: bool) -> dict[str, Any]:
    payload = {"RecordType": outcome.record_type, **record}
    if include_content:
        payload["Content"] = bounce_content(record)
    return payload


def subscription_change(
    message: CheckedMessage, message_id: str, recipient: str, server_id: int, at: dt.datetime, reason: str
) -> dict[str, Any]:
    return {
        **_recipient_event("SubscriptionChange", message, message_id, recipient, server_id),
        "ChangedAt": postmark_timestamp(at),
        "Origin": "Recipient",
        "SuppressSending": True,
        "SuppressionReason": reason,
    }


def manual_subscription_change(
    recipient: str, stream: str, server_id: int, at: dt.datetime, *, suppress: bool
) -> dict[str, Any]:
    """The SubscriptionChange of a suppression created (``suppress``) or deleted through the API or a
    bounce's activation: no message behind it (``MessageID`` null), ``Origin`` "Customer". A lifted
    suppression's ``SuppressionReason`` is null (unsure: Postmark documents only the suppressing case)."""
    return {
        "RecordType": "SubscriptionChange",
        "MessageID": None,
        "ServerID": server_id,
        "MessageStream": stream,
        "ChangedAt": postmark_timestamp(at),
        "Recipient": recipient,
        "Origin": "Customer",
        "SuppressSending": suppress,
        "SuppressionReason": "ManualSuppression" if suppress else None,
        "Tag": None,
        "Metadata": {},
    }


#: The outcome behind a bounce record's ``Type``.
OUTCOMES_BY_RECORD: dict[str, Outcome] = {outcome.type: outcome for outcome in OUTCOMES.values()}
