"""Pure mapping: a webhook body Postmark posted -> a normalized event.

No database, no request: plain values in, plain values out, so every record
type and bounce type is tested with a table of payloads (tests/webhooks/test_events.py).
Real payloads miss fields or carry nulls: every field is read defensively and a
missing one becomes ``""`` / ``None``, never an exception.
"""

from __future__ import annotations

import enum
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .body import InvalidWebhookPayload, clean_text


class EventType(models.TextChoices):
    """What happened, normalized across Postmark's record types (see :mod:`postmark_admin.webhooks.events`)."""

    QUEUED = "queued", _("queued")
    SENT = "sent", _("sent")
    REJECTED = "rejected", _("rejected")
    FAILED = "failed", _("failed")
    BOUNCED = "bounced", _("bounced")
    DEFERRED = "deferred", _("deferred")
    DELIVERED = "delivered", _("delivered")
    AUTORESPONDED = "autoresponded", _("autoresponded")
    OPENED = "opened", _("opened")
    CLICKED = "clicked", _("clicked")
    COMPLAINED = "complained", _("complained")
    UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
    SUBSCRIBED = "subscribed", _("subscribed")
    INBOUND = "inbound", _("inbound")
    INBOUND_FAILED = "inbound_failed", _("inbound failed")
    UNKNOWN = "unknown", _("unknown")


class RejectReason(models.TextChoices):
    """Why a message was not delivered, when one applies."""

    INVALID = "invalid", _("invalid address")
    BOUNCED = "bounced", _("bounced")
    TIMED_OUT = "timed_out", _("timed out")
    BLOCKED = "blocked", _("blocked")
    SPAM = "spam", _("spam")
    UNSUBSCRIBED = "unsubscribed", _("unsubscribed")
    OTHER = "other", _("other")


class PayloadKind(enum.StrEnum):
    """Which of the two webhook URLs a payload belongs to."""

    TRACKING = "tracking"
    INBOUND = "inbound"


class RecordType(enum.StrEnum):
    """Postmark's ``RecordType`` values (postmark-api.md, section 5). Another value is stored as it came."""

    BOUNCE = "Bounce"
    SPAM_COMPLAINT = "SpamComplaint"
    DELIVERY = "Delivery"
    OPEN = "Open"
    CLICK = "Click"
    SUBSCRIPTION_CHANGE = "SubscriptionChange"
    INBOUND = "Inbound"


#: The record types that carry Postmark's bounce ``ID``, ``Type`` and ``Description``.
_BOUNCE_RECORDS = (RecordType.BOUNCE, RecordType.SPAM_COMPLAINT)

#: Bounce ``Type`` -> (event type, reject reason). Postmark's table of bounce types; a Type
#: missing from it is stored as ``unknown`` with its payload, never dropped.
BOUNCE_TYPES: dict[str, tuple[EventType, str]] = {
    "HardBounce": (EventType.BOUNCED, RejectReason.BOUNCED),
    "Transient": (EventType.DEFERRED, ""),
    "Unsubscribe": (EventType.UNSUBSCRIBED, RejectReason.UNSUBSCRIBED),
    "Subscribe": (EventType.SUBSCRIBED, ""),
    "AutoResponder": (EventType.AUTORESPONDED, ""),
    "AddressChange": (EventType.AUTORESPONDED, ""),
    "DnsError": (EventType.DEFERRED, ""),
    "SpamNotification": (EventType.COMPLAINED, RejectReason.SPAM),
    "OpenRelayTest": (EventType.DEFERRED, ""),
    "Unknown": (EventType.UNKNOWN, ""),
    # A soft bounce may later turn into a hard one; the site should treat it as bounced now.
    "SoftBounce": (EventType.BOUNCED, RejectReason.BOUNCED),
    "VirusNotification": (EventType.BOUNCED, RejectReason.OTHER),
    "ChallengeVerification": (EventType.AUTORESPONDED, ""),
    "BadEmailAddress": (EventType.REJECTED, RejectReason.INVALID),
    "SpamComplaint": (EventType.COMPLAINED, RejectReason.SPAM),
    "ManuallyDeactivated": (EventType.REJECTED, RejectReason.BLOCKED),
    "Unconfirmed": (EventType.REJECTED, RejectReason.OTHER),
    "Blocked": (EventType.REJECTED, RejectReason.BLOCKED),
    "SMTPApiError": (EventType.FAILED, ""),
    "InboundError": (EventType.INBOUND_FAILED, ""),
    "DMARCPolicy": (EventType.REJECTED, RejectReason.BLOCKED),
    "TemplateRenderingFailed": (EventType.FAILED, ""),
}

#: SubscriptionChange with SuppressSending true: SuppressionReason -> (event type, reject reason).
SUPPRESSION_REASONS: dict[str, tuple[EventType, str]] = {
    "HardBounce": (EventType.BOUNCED, RejectReason.BOUNCED),
    "SpamComplaint": (EventType.COMPLAINED, RejectReason.SPAM),
    "ManualSuppression": (EventType.UNSUBSCRIBED, RejectReason.UNSUBSCRIBED),
}

# Which field holds the recipient and the time, per record type.
_RECIPIENT_FIELD: dict[str, str] = {RecordType.BOUNCE: "Email", RecordType.SPAM_COMPLAINT: "Email"}
_TIME_FIELD: dict[str, str] = {
    RecordType.BOUNCE: "BouncedAt",
    RecordType.SPAM_COMPLAINT: "BouncedAt",
    RecordType.DELIVERY: "DeliveredAt",
    RecordType.OPEN: "ReceivedAt",
    RecordType.CLICK: "ReceivedAt",
    RecordType.SUBSCRIPTION_CHANGE: "ChangedAt",
}
_ANY_TIME_FIELDS = ("ReceivedAt", "DeliveredAt", "BouncedAt", "ChangedAt", "Date")

# Column sizes of WebhookEvent (models.py takes them from here): normalize() cuts a longer value,
# so that no payload can fail the insert.
MAX_RECORD_TYPE = 50
MAX_RECIPIENT = 320
MAX_MESSAGE_ID = 100
MAX_STREAM = 100
MAX_TAG = 1000
#: The tag is indexed: PostgreSQL's btree refuses entries above ~2700 bytes.
MAX_TAG_BYTES = 2000
INT64 = range(-(2**63), 2**63)


@dataclass(frozen=True)
class NormalizedEvent:
    """One webhook, normalized: ``kind``, then the values of a :class:`~postmark_admin.models.WebhookEvent`.

    Its fields after ``kind`` are the model's columns (in the model's order) but the id and
    ``received_at``, which the database row adds: :data:`MODEL_FIELDS` lists them.
    """

    kind: PayloadKind
    dedupe_key: str
    event_type: str
    record_type: str
    reject_reason: str = ""
    recipient: str = ""
    message_id: str = ""
    message_stream: str = ""
    tag: str = ""
    occurred_at: datetime | None = None
    bounce_id: int | None = None
    description: str = ""
    mta_response: str = ""
    user_agent: str = ""
    click_url: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)

    def model_fields(self) -> dict[str, Any]:
        """The values to store, keyed by WebhookEvent field name."""
        return {name: getattr(self, name) for name in MODEL_FIELDS}


#: The fields of :class:`NormalizedEvent` that are WebhookEvent columns, in order.
MODEL_FIELDS = tuple(item.name for item in fields(NormalizedEvent) if item.name != "kind")


# -- classifying -------------------------------------------------------------------------------

_INBOUND_MARKERS = ("FromFull", "ToFull", "OriginalRecipient", "RawEmail", "StrippedTextReply")


def payload_kind(payload: Mapping[str, Any]) -> PayloadKind | None:
    """TRACKING, INBOUND, or None when the object is not a Postmark webhook payload."""
    record_type = payload.get("RecordType")
    if isinstance(record_type, str) and record_type.strip() and record_type != RecordType.INBOUND:
        return PayloadKind.TRACKING
    if record_type == RecordType.INBOUND:
        return PayloadKind.INBOUND
    looks_inbound = any(key in payload for key in _INBOUND_MARKERS) or (
        "From" in payload and ("TextBody" in payload or "HtmlBody" in payload)
    )
    if record_type in (None, "") and looks_inbound:
        return PayloadKind.INBOUND
    return None


# -- reading fields ------------------------------------------------------------------------------


def text(value: Any, max_length: int | None = None) -> str:
    """A field as text: strings as they are, numbers as digits, anything else (null, objects) ``""``."""
    if isinstance(value, str):
        result = clean_text(value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = str(value)
    else:
        return ""
    return result[:max_length] if max_length is not None else result


def _clip_bytes(value: str, max_bytes: int) -> str:
    encoded = value.encode("utf-8")
    if len(encoded) <= max_bytes:
        return value
    return encoded[:max_bytes].decode("utf-8", "ignore")


_FRACTION = re.compile(r"(\.\d{6})\d+")
_COLON_OFFSET = re.compile(r"([+-]\d\d):(\d\d)$")


def parse_timestamp(value: Any) -> datetime | None:
    """An aware UTC datetime from Postmark's ISO 8601 (7-digit fractions, ``Z`` or an offset) or RFC 2822.

    None when the value is missing or unreadable.
    """
    parsed = parse_dated(value)
    if parsed is None:
        return None
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


def parse_dated(value: Any) -> datetime | None:
    """:func:`parse_timestamp`, keeping the offset the value was written in (a mail's ``Date``: the
    sender's clock, as django-anymail keeps it); a value without one is taken as UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    try:
        parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", value, count=1))
    except ValueError:
        try:
            # Postmark's inbound Date may spell the offset "-04:00", which RFC 2822 parsing ignores.
            parsed = parsedate_to_datetime(_COLON_OFFSET.sub(r"\1\2", value))
        except (TypeError, ValueError, IndexError):
            return None
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed
        parsed.utcoffset()  # an offset of a day or more is unreadable
        parsed.astimezone(UTC)  # and so is an instant outside datetime's range
    except (OverflowError, ValueError):
        return None
    return parsed


def _bounce_id(value: Any) -> int | None:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int) and not isinstance(value, bool) and value in INT64:
        return value
    return None


def canonical_json(payload: Mapping[str, Any]) -> bytes:
    """The payload in one fixed spelling (sorted keys, no spaces), for hashing."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def dedupe_key(payload: Mapping[str, Any], record_type: str) -> str:
    """What makes two deliveries "the same event".

    Bounce and SpamComplaint records carry Postmark's own ID; every other record is
    identified by its whole content (a retry sends the same body again).
    """
    if record_type in _BOUNCE_RECORDS:
        bounce_id = _bounce_id(payload.get("ID"))
        if bounce_id is not None:
            return f"{record_type}:{bounce_id}"
    return "sha256:" + hashlib.sha256(canonical_json(payload)).hexdigest()


def _first_address(items: Any) -> str:
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and text(item.get("Email")):
                return text(item.get("Email"))
    return ""


def _classify(record_type: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    if record_type in _BOUNCE_RECORDS:
        bounce_type = payload.get("Type")
        if record_type == RecordType.SPAM_COMPLAINT and not isinstance(bounce_type, str):
            bounce_type = "SpamComplaint"
        if isinstance(bounce_type, str) and bounce_type in BOUNCE_TYPES:
            event_type, reason = BOUNCE_TYPES[bounce_type]
            return str(event_type), str(reason)
        return str(EventType.UNKNOWN), ""
    if record_type == RecordType.DELIVERY:
        return str(EventType.DELIVERED), ""
    if record_type == RecordType.OPEN:
        return str(EventType.OPENED), ""
    if record_type == RecordType.CLICK:
        return str(EventType.CLICKED), ""
    if record_type == RecordType.SUBSCRIPTION_CHANGE:
        # Postmark: a missing SuppressSending means the address is suppressed.
        suppress = payload.get("SuppressSending", True)
        if suppress is False:
            return str(EventType.SUBSCRIBED), ""
        suppression = payload.get("SuppressionReason")
        event_type, reject = SUPPRESSION_REASONS.get(
            suppression if isinstance(suppression, str) else "",
            (EventType.UNSUBSCRIBED, RejectReason.UNSUBSCRIBED),
        )
        return str(event_type), str(reject)
    return str(EventType.UNKNOWN), ""


def normalize(payload: dict[str, Any], kind: PayloadKind | None = None) -> NormalizedEvent:
    """Map a decoded webhook payload onto a :class:`NormalizedEvent`.

    ``kind`` defaults to :func:`payload_kind`; :class:`InvalidWebhookPayload` if the
    payload is not Postmark's. An unknown RecordType or bounce Type gives ``unknown``.
    """
    kind = kind or payload_kind(payload)
    if kind is None:
        raise InvalidWebhookPayload(gettext("Not a Postmark webhook payload (no RecordType)."))
    common = {
        "message_id": text(payload.get("MessageID"), MAX_MESSAGE_ID),
        "message_stream": text(payload.get("MessageStream"), MAX_STREAM),
        "tag": _clip_bytes(text(payload.get("Tag"), MAX_TAG), MAX_TAG_BYTES),
        "metadata": payload["Metadata"] if isinstance(payload.get("Metadata"), dict) else {},
        "payload": payload,
    }
    if kind is PayloadKind.INBOUND:
        recipient = (
            text(payload.get("OriginalRecipient"))
            or _first_address(payload.get("ToFull"))
            or text(payload.get("To"))
        )
        return NormalizedEvent(
            kind=kind,
            event_type=str(EventType.INBOUND),
            record_type=str(RecordType.INBOUND),
            dedupe_key=dedupe_key(payload, RecordType.INBOUND),
            recipient=recipient[:MAX_RECIPIENT],
            occurred_at=parse_timestamp(payload.get("Date")),
            description=text(payload.get("Subject")),
            **common,
        )
    record_type = text(payload.get("RecordType"), MAX_RECORD_TYPE)
    event_type, reject_reason = _classify(record_type, payload)
    recipient_field = _RECIPIENT_FIELD.get(record_type, "Recipient")
    recipient = text(payload.get(recipient_field)) or text(payload.get("Email"))
    time_field = _TIME_FIELD.get(record_type)
    time_fields = (time_field,) if time_field else _ANY_TIME_FIELDS
    occurred_at = next(
        (t for t in (parse_timestamp(payload.get(name)) for name in time_fields) if t is not None), None
    )
    is_bounce = record_type in _BOUNCE_RECORDS
    return NormalizedEvent(
        kind=kind,
        event_type=event_type,
        record_type=record_type,
        dedupe_key=dedupe_key(payload, record_type),
        reject_reason=reject_reason,
        recipient=recipient[:MAX_RECIPIENT],
        occurred_at=occurred_at,
        bounce_id=_bounce_id(payload.get("ID")) if is_bounce else None,
        description=text(payload.get("Description")) if is_bounce else "",
        mta_response=text(payload.get("Details"))
        if record_type in (*_BOUNCE_RECORDS, RecordType.DELIVERY)
        else "",
        user_agent=text(payload.get("UserAgent")),
        click_url=text(payload.get("OriginalLink")) if record_type == RecordType.CLICK else "",
        **common,
    )
