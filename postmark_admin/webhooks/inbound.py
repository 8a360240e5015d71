"""Pure: a parsed view of an inbound mail, from Postmark's inbound webhook payload.

When the payload carries ``RawEmail`` (the inbound stream's "include raw email
content" option), the mail is read from it with the standard library's email
parser, and Postmark's JSON fills what the raw mail does not hold (Bcc, the
original recipient, the mailbox hash). Otherwise Postmark's JSON fields are used.
Every field is read defensively: a malformed payload gives empty values, never an
exception.
"""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import formataddr, getaddresses
from functools import partial
from typing import Any, TypeVar

from .events import parse_dated, text

T = TypeVar("T")


@dataclass(frozen=True)
class Address:
    """One mailbox: ``email``, display ``name`` and Postmark's ``mailbox_hash`` (the part after ``+``)."""

    email: str
    name: str = ""
    mailbox_hash: str = ""

    def __str__(self) -> str:
        return formataddr((self.name, self.email)) if self.name else self.email


@dataclass(frozen=True)
class InboundAttachment:
    """An attached file. ``content`` is decoded; ``content_id`` is set for inline parts."""

    name: str
    content_type: str
    content: bytes
    content_id: str = ""

    @property
    def size(self) -> int:
        return len(self.content)


@dataclass(frozen=True)
class InboundMessage:
    """An inbound mail as the site sees it (see :func:`parse_inbound`)."""

    from_address: Address | None
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    bcc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    subject: str = ""
    text: str = ""
    html: str = ""
    stripped_text_reply: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    attachments: tuple[InboundAttachment, ...] = ()
    envelope_sender: str = ""
    envelope_recipient: str = ""
    spam_score: float | None = None
    spam_detected: bool | None = None
    message_id: str = ""
    date: datetime | None = None
    mailbox_hash: str = ""
    from_raw_email: bool = False

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or None."""
        wanted = name.lower()
        return next((value for key, value in self.headers if key.lower() == wanted), None)

    def header_values(self, name: str) -> list[str]:
        """Every header called ``name`` (case-insensitive), in order."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


def _safe(read: Callable[[], T], default: T) -> T:
    """Malformed mail must not break the receiver: a part that cannot be read is empty."""
    try:
        return read()
    except Exception:
        return default


# -- from Postmark's JSON ------------------------------------------------------------------------


def _json_address(item: Any) -> Address | None:
    if not isinstance(item, Mapping):
        return None
    address = text(item.get("Email"))
    if not address:
        return None
    return Address(address, text(item.get("Name")), text(item.get("MailboxHash")))


def _json_addresses(full: Any, plain: Any) -> tuple[Address, ...]:
    if isinstance(full, list):
        found = tuple(a for a in (_json_address(item) for item in full) if a is not None)
        if found:
            return found
    return _parse_addresses([text(plain)])


def _parse_addresses(values: list[str]) -> tuple[Address, ...]:
    pairs: list[tuple[str, str]] = _safe(lambda: getaddresses([v for v in values if v]), [])
    return tuple(Address(addr, name) for name, addr in pairs if addr)


def _json_headers(items: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(items, list):
        return ()
    return tuple(
        (text(item.get("Name")), text(item.get("Value")))
        for item in items
        if isinstance(item, Mapping) and text(item.get("Name"))
    )


def _decode_base64(value: Any) -> bytes:
    if not isinstance(value, str):
        return b""
    try:
        return base64.b64decode(value.encode("ascii", "ignore"))
    except (binascii.Error, ValueError):
        return b""


def _json_attachments(items: Any) -> tuple[InboundAttachment, ...]:
    if not isinstance(items, list):
        return ()
    attachments = []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        # Postmark's "test" button sends Data instead of Content.
        content = item.get("Content") if item.get("Content") is not None else item.get("Data")
        attachments.append(
            InboundAttachment(
                name=text(item.get("Name")),
                content_type=text(item.get("ContentType")) or "application/octet-stream",
                content=_decode_base64(content),
                content_id=text(item.get("ContentID")),
            )
        )
    return tuple(attachments)


# -- from the raw mail ---------------------------------------------------------------------------


def _raw_addresses(message: EmailMessage, name: str) -> tuple[Address, ...]:
    values: list[Any] = _safe(lambda: message.get_all(name) or [], [])
    return _parse_addresses([str(value) for value in values])


def _raw_body_part(message: EmailMessage, subtype: str) -> EmailMessage | None:
    part = _safe(lambda: message.get_body(preferencelist=(subtype,)), None)
    return part if isinstance(part, EmailMessage) and part.get_content_subtype() == subtype else None


def _raw_body(part: EmailMessage | None) -> str:
    """The text of a body part, decoded from its transfer encoding and its charset."""
    if part is None:
        return ""
    return _safe(lambda: str(part.get_content()), "")


def _leaf_parts(message: EmailMessage) -> list[EmailMessage]:
    """Every non-multipart part of the mail, depth first; an attached mail (message/*) is one part."""
    found: list[EmailMessage] = []
    stack = [message]
    while stack:
        part = stack.pop()
        if part.is_multipart() and part.get_content_maintype() == "multipart":
            children = part.get_payload()
            stack.extend(reversed([child for child in children if isinstance(child, EmailMessage)]))
        else:
            found.append(part)
    return found


def _part_content(part: EmailMessage) -> bytes:
    if part.get_content_maintype() == "message":
        # An attached mail (message/rfc822): its bytes, with the CRLF line ends of mail.
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], EmailMessage):
            return inner[0].as_bytes(policy=email.policy.default.clone(linesep="\r\n"))
        return b""
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def _raw_attachments(message: EmailMessage, bodies: list[EmailMessage]) -> tuple[InboundAttachment, ...]:
    """Every part of the raw mail, at any depth, that is not one of its ``bodies`` (the text and HTML
    shown): attachments, inline images (``content_id``), attached mails. A text part with no name,
    no Content-ID and no attachment disposition is a fragment of the body, not a file."""

    def read(part: EmailMessage) -> InboundAttachment | None:
        name = _safe(part.get_filename, None) or ""
        content_id = str(part.get("Content-ID", "") or "").strip().strip("<>")
        content_type = part.get_content_type()
        if (
            content_type in ("text/plain", "text/html")
            and not name
            and not content_id
            and not part.is_attachment()
        ):
            return None
        return InboundAttachment(
            name=name, content_type=content_type, content=_part_content(part), content_id=content_id
        )

    found = []
    parts: list[EmailMessage] = _safe(lambda: _leaf_parts(message), [])
    for part in parts:
        if any(part is body for body in bodies):
            continue
        attachment = _safe(partial(read, part), None)
        if attachment is not None:
            found.append(attachment)
    return tuple(found)


def _raw_headers(message: EmailMessage) -> tuple[tuple[str, str], ...]:
    """The raw mail's headers in order, RFC 2047 encoded words decoded (a header that cannot be
    decoded keeps its raw text)."""
    items: list[tuple[str, str]] = _safe(lambda: [(str(k), str(v)) for k, v in message.raw_items()], [])
    policy = message.policy
    return tuple(
        (name, _safe(partial(lambda n, v: str(policy.header_fetch_parse(n, v)), name, value), value))
        for name, value in items
    )


# -- spam and envelope ---------------------------------------------------------------------------

_SCORE = re.compile(r"score=(-?\d+(?:\.\d+)?)", re.IGNORECASE)


def _spam(headers: tuple[tuple[str, str], ...]) -> tuple[float | None, bool | None]:
    by_name: dict[str, str] = {}
    for key, value in headers:
        by_name.setdefault(key.lower(), value)
    score: float | None = None
    raw_score = by_name.get("x-spam-score", "").strip()
    if raw_score:
        score = _safe(lambda: float(raw_score), None)
    status = by_name.get("x-spam-status", "").strip()
    if score is None and status:
        match = _SCORE.search(status)
        score = float(match.group(1)) if match else None
    detected: bool | None = None
    flag = status.split(",", 1)[0].strip().lower() if status else by_name.get("x-spam-flag", "").lower()
    if flag in ("yes", "no"):
        detected = flag == "yes"
    return score, detected


def _angle(value: str | None) -> str:
    return (value or "").strip().strip("<>").strip()


def parse_inbound(payload: Mapping[str, Any]) -> InboundMessage:
    """The parsed mail of an inbound webhook payload (RawEmail first, Postmark's JSON otherwise)."""
    json_headers = _json_headers(payload.get("Headers"))
    from_full = _json_address(payload.get("FromFull"))
    if from_full is None and text(payload.get("From")):
        parsed = _parse_addresses([text(payload.get("From"))])
        from_full = (
            Address(parsed[0].email, text(payload.get("FromName")) or parsed[0].name) if parsed else None
        )
    values: dict[str, Any] = {
        "from_address": from_full,
        "to": _json_addresses(payload.get("ToFull"), payload.get("To")),
        "cc": _json_addresses(payload.get("CcFull"), payload.get("Cc")),
        "bcc": _json_addresses(payload.get("BccFull"), payload.get("Bcc")),
        "reply_to": _parse_addresses([text(payload.get("ReplyTo"))]),
        "subject": text(payload.get("Subject")),
        "text": text(payload.get("TextBody")),
        "html": text(payload.get("HtmlBody")),
        "headers": json_headers,
        "attachments": _json_attachments(payload.get("Attachments")),
        "date": parse_dated(payload.get("Date")),
    }
    raw = payload.get("RawEmail")
    message: EmailMessage | None = None
    if isinstance(raw, str) and raw.strip():
        mail = _safe(lambda: email.message_from_string(raw, policy=email.policy.default), None)
        # A text without any header is not a mail: Postmark's JSON is the better source then.
        if mail is not None and _safe(lambda: bool(mail.keys()), False):
            message = mail
    if message is not None:
        raw_from = _raw_addresses(message, "From")
        text_part, html_part = _raw_body_part(message, "plain"), _raw_body_part(message, "html")
        raw_values = {
            "from_address": raw_from[0] if raw_from else None,
            "to": _raw_addresses(message, "To"),
            "cc": _raw_addresses(message, "Cc"),
            "bcc": _raw_addresses(message, "Bcc"),
            "reply_to": _raw_addresses(message, "Reply-To"),
            "subject": _safe(lambda: str(message.get("Subject", "") or ""), ""),
            "text": _raw_body(text_part),
            "html": _raw_body(html_part),
            "headers": _raw_headers(message),
            "date": parse_dated(_safe(lambda: str(message.get("Date", "") or ""), "")),
        }
        # The raw mail wins where it has a value; Postmark's JSON fills the rest (Bcc, say).
        values.update({key: value for key, value in raw_values.items() if value})
        # The files are the raw mail's, at any depth (none is none): Postmark's list is a summary of them.
        bodies = [part for part in (text_part, html_part) if part is not None]
        values["attachments"] = _raw_attachments(message, bodies)
    headers = values["headers"]
    header_map = {key.lower(): value for key, value in reversed(headers)}
    from_address = values["from_address"]
    # The envelope sender is the Return-Path that Postmark puts FIRST in its JSON Headers (from the SMTP
    # MAIL FROM). A Return-Path inside the raw mail or further down the list is the sender's own text.
    first = json_headers[0] if json_headers else None
    envelope_sender = (_angle(first[1]) if first and first[0].lower() == "return-path" else "") or (
        from_address.email if from_address else ""
    )
    envelope_recipient = (
        text(payload.get("OriginalRecipient"))
        or _angle(header_map.get("x-original-to") or header_map.get("delivered-to"))
        or (values["to"][0].email if values["to"] else "")
    )
    # Postmark's spam check is in its JSON Headers; the raw mail's own X-Spam-* are read only without them.
    spam_score, spam_detected = _spam(json_headers)
    if spam_score is None and spam_detected is None:
        spam_score, spam_detected = _spam(headers)
    return InboundMessage(
        **values,
        stripped_text_reply=text(payload.get("StrippedTextReply")),
        envelope_sender=envelope_sender,
        envelope_recipient=envelope_recipient,
        spam_score=spam_score,
        spam_detected=spam_detected,
        message_id=text(payload.get("MessageID")),
        mailbox_hash=text(payload.get("MailboxHash"))
        or next((a.mailbox_hash for a in values["to"] if a.mailbox_hash), ""),
        from_raw_email=message is not None,
    )
