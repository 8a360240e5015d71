"""Check one message the way Postmark's API does. Pure: plain values in, :class:`CheckedMessage` or
:class:`ApiError` out.

The error texts are Postmark's own where known (clients match on them, e.g. ``Invalid 'To' address``);
they are wire protocol, so they are not translated.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .addresses import Address, AddressError, parse_address_list, parse_mailbox
from .templates import Template, find_template, render

MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_BATCH_BYTES = 50 * 1024 * 1024
MAX_BATCH_MESSAGES = 500
MAX_RECIPIENTS = 50
MAX_METADATA_FIELDS = 10
MAX_METADATA_KEY = 20
MAX_METADATA_VALUE = 80
MAX_TAG = 1000
MAX_SUBJECT = 2000
TRACK_LINKS = frozenset({"None", "HtmlAndText", "HtmlOnly", "TextOnly"})
#: The sandbox server's tracking settings (``GET /server`` shows them): off, so only a message's own
#: ``TrackOpens: true`` or ``TrackLinks`` turns tracking on (a message's false cannot turn it off).
SERVER_TRACK_OPENS = False
SERVER_TRACK_LINKS = "None"
TEMPLATE_FORBIDDEN_FIELDS = ("Subject", "HtmlBody", "TextBody")

#: Postmark's list of refused attachment extensions (as published; it may change).
FORBIDDEN_EXTENSIONS = frozenset(
    [
        "vbs",
        "exe",
        "bin",
        "bat",
        "chm",
        "com",
        "cpl",
        "crt",
        "hlp",
        "hta",
        "inf",
        "ins",
        "isp",
        "jse",
        "lnk",
        "mdb",
        "pcd",
        "pif",
        "reg",
        "scr",
        "sct",
        "shs",
        "vbe",
        "vba",
        "wsf",
        "wsh",
        "wsl",
        "msc",
        "msi",
        "msp",
        "mst",
    ]
)

INACTIVE_EXPLANATION = "Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."


#: The ErrorCode of a 404 (no such endpoint) or 405 (not with this method) answer. Postmark publishes
#: none; this one is none of its published codes, so no client mistakes it for one that means something
#: else (ErrorCode 405 means "not allowed to send").
NO_ENDPOINT = 404


@dataclass
class ApiError(Exception):
    """An answer other than success: HTTP ``status`` with Postmark's ``{"ErrorCode", "Message"}``."""

    status: int
    error_code: int
    message: str

    def body(self) -> dict[str, Any]:
        return {"ErrorCode": self.error_code, "Message": self.message}

    def __str__(self) -> str:
        return f"{self.status} ErrorCode {self.error_code}: {self.message}"


def invalid(message: str, code: int = 300) -> ApiError:
    """A 422 refusal; 300 is Postmark's "invalid email request"."""
    return ApiError(422, code, message)


@dataclass(frozen=True)
class CheckedMessage:
    """A message that passed every check, with its recipients parsed and its template rendered."""

    sender: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    stream: str
    subject: str
    html_body: str
    text_body: str
    tag: str
    metadata: dict[str, str] = field(default_factory=dict)
    #: Whether opens are tracked (the message's TrackOpens, or the server's), and which bodies' links are.
    track_opens: bool = SERVER_TRACK_OPENS
    track_links: str = SERVER_TRACK_LINKS
    #: Every recipient, lower-cased, de-duplicated, in To, Cc, Bcc order (derived once, when created).
    recipients: list[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        addresses = (*self.to, *self.cc, *self.bcc)
        object.__setattr__(self, "recipients", list(dict.fromkeys(a.normalized for a in addresses)))


#: Re-encoding parsed JSON compactly makes it at most this many times longer than the text it was parsed
#: from: whitespace, escapes and duplicate keys only shrink; the worst growth is a number such as
#: ``1e15`` (4 characters) becoming ``1000000000000000.0`` (18).
_MAX_REENCODING_GROWTH = 5


def without_nulls(value: object) -> object:
    """``value`` with every object member whose value is ``null`` left out, at every depth. Pure.

    Postmark reads a null as a field that was not sent, and clients send nulls for the fields they leave
    unset (postmarker sends ``"TrackOpens": null``, and ``"Subject": null`` on template sends). Checking
    the message through this once makes every check see a null as absent, with no check of its own.
    Array elements are kept: a null in a list is a value, not a missing field.
    """
    # Only JSON's containers are descended into (the common leaf, a string, costs no call).
    if isinstance(value, Mapping):
        return {
            key: without_nulls(item) if isinstance(item, dict | list) else item
            for key, item in value.items()
            if item is not None
        }
    if isinstance(value, list):
        return [without_nulls(item) if isinstance(item, dict | list) else item for item in value]
    return value


def json_size(value: object) -> int:
    """Bytes ``value`` takes as compact JSON (base64 attachment content included)."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _addresses(message: Mapping[str, Any], name: str) -> tuple[Address, ...]:
    value = message.get(name)
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise invalid(f"Invalid '{name}' address: '{value}'.")
    try:
        return tuple(parse_address_list(value))
    except AddressError as error:
        raise invalid(f"Invalid '{name}' address: '{error.part}'.") from None


def _sender(message: Mapping[str, Any]) -> Address:
    value = message.get("From")
    if not isinstance(value, str) or not value.strip():
        raise invalid("Invalid 'From' address: ''.")
    try:
        return parse_mailbox(value)
    except AddressError:
        raise invalid(f"Invalid 'From' address: '{value}'.") from None


def _metadata(message: Mapping[str, Any]) -> dict[str, str]:
    metadata = message.get("Metadata")
    if metadata is None:
        return {}
    error = invalid(
        "Invalid metadata content. Metadata is an object of at most "
        f"{MAX_METADATA_FIELDS} fields, with names of at most {MAX_METADATA_KEY} characters "
        f"and string values of at most {MAX_METADATA_VALUE} characters."
    )
    if not isinstance(metadata, Mapping) or len(metadata) > MAX_METADATA_FIELDS:
        raise error
    lowered = {str(key).lower() for key in metadata}
    if len(lowered) != len(metadata):
        raise error
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY or not isinstance(value, str | int | float):
            raise error
        if len(str(value)) > MAX_METADATA_VALUE:
            raise error
    return {key: str(value) for key, value in metadata.items()}


def _attachments(message: Mapping[str, Any]) -> None:
    attachments = message.get("Attachments")
    if attachments is None:
        return
    if not isinstance(attachments, list):
        raise invalid("Invalid 'Attachments' field: expected a list of attachments.")
    for attachment in attachments:
        if not isinstance(attachment, Mapping) or not isinstance(attachment.get("Name"), str):
            raise invalid("Invalid 'Attachments' field: every attachment needs a 'Name'.")
        name = attachment["Name"]
        extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
        if extension in FORBIDDEN_EXTENSIONS:
            raise invalid(f"Forbidden attachment type: '{name}'.", 411)
        content = attachment.get("Content")
        if not isinstance(content, str):
            raise invalid(f"Invalid attachment content for '{name}': expected base64 text.")
        try:
            base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError):
            raise invalid(f"Invalid attachment content for '{name}': not valid base64.") from None
        if not isinstance(attachment.get("ContentType", "application/octet-stream"), str):
            raise invalid(f"Invalid attachment content type for '{name}'.")


def _headers(message: Mapping[str, Any]) -> None:
    headers = message.get("Headers")
    if headers is None:
        return
    if not isinstance(headers, list) or not all(
        isinstance(header, Mapping) and isinstance(header.get("Name"), str) and header["Name"]
        for header in headers
    ):
        raise invalid('Invalid \'Headers\' field: expected a list of {"Name", "Value"} objects.')


def _template(message: Mapping[str, Any], templates: Iterable[Template]) -> Template:
    present = [name for name in TEMPLATE_FORBIDDEN_FIELDS if name in message]
    if present:
        raise invalid(
            f"The '{present[0]}' field is not allowed when sending with a template "
            "(TemplateId or TemplateAlias).",
            1123,
        )
    template_id, alias = message.get("TemplateId"), message.get("TemplateAlias")
    if template_id is None and alias is None:
        raise invalid("A template send needs 'TemplateId' or 'TemplateAlias'.", 1101)
    template = find_template(templates, template_id, alias)
    if template is None:
        raise invalid(
            f"The template '{template_id if template_id is not None else alias}' was not found.", 1101
        )
    if "TemplateModel" not in message or not isinstance(message["TemplateModel"], Mapping):
        raise invalid("The 'TemplateModel' field is required when sending with a template.", 1120)
    return template


def check_message(
    message: Any,
    *,
    with_template: bool,
    streams: Mapping[str, str],
    templates: Iterable[Template] = (),
    source_size: int | None = None,
) -> CheckedMessage:
    """Check ``message`` (one element of the request JSON) and return what it means.

    ``streams`` maps stream id to its type ("Transactional", "Broadcasts", "Inbound").
    ``source_size``, the length of the JSON text the message was parsed from (the whole request body),
    lets the size check skip re-encoding the message when that text is too short to hold a message over
    the limit. Raise :class:`ApiError` with Postmark's ErrorCode on the first problem found.
    """
    if not isinstance(message, Mapping):
        raise invalid("Invalid JSON: expected a message object.", 402)
    message = without_nulls(message)
    could_be_too_large = source_size is None or source_size * _MAX_REENCODING_GROWTH > MAX_MESSAGE_BYTES
    if could_be_too_large and json_size(message) > MAX_MESSAGE_BYTES:
        raise ApiError(
            413, 300, f"The message is larger than the {MAX_MESSAGE_BYTES // 1024 // 1024} MB limit."
        )
    sender = _sender(message)
    to, cc, bcc = _addresses(message, "To"), _addresses(message, "Cc"), _addresses(message, "Bcc")
    if not (to or cc or bcc):
        raise invalid("Zero recipients specified")
    if len(to) + len(cc) + len(bcc) > MAX_RECIPIENTS:
        raise invalid(
            f"Too many recipients: 'To', 'Cc' and 'Bcc' together may hold at most {MAX_RECIPIENTS} addresses."
        )
    _addresses(message, "ReplyTo")

    if with_template:
        template = _template(message, templates)
        model = message["TemplateModel"]
        subject = render(template.subject, model, escape=False)
        html_body = render(template.html_body, model, escape=True)
        text_body = render(template.text_body, model, escape=False)
    else:
        subject = message.get("Subject") or ""
        html_body = message.get("HtmlBody") or ""
        text_body = message.get("TextBody") or ""
        if not (isinstance(subject, str) and isinstance(html_body, str) and isinstance(text_body, str)):
            raise invalid("Invalid 'Subject', 'HtmlBody' or 'TextBody': expected text.")
        if not html_body and not text_body:
            raise invalid("Provide either email TextBody or HtmlBody or both.")
    if len(subject) > MAX_SUBJECT:
        raise invalid(f"Invalid 'Subject': at most {MAX_SUBJECT} characters.")

    tag = message.get("Tag") or ""
    if not isinstance(tag, str) or len(tag) > MAX_TAG:
        raise invalid(f"Invalid 'Tag': one string of at most {MAX_TAG} characters.")
    metadata = _metadata(message)
    _headers(message)
    _attachments(message)
    if "TrackLinks" in message and message["TrackLinks"] not in TRACK_LINKS:
        raise invalid(f"Invalid 'TrackLinks' value: expected one of {', '.join(sorted(TRACK_LINKS))}.")
    if "TrackOpens" in message and not isinstance(message["TrackOpens"], bool):
        raise invalid("Invalid 'TrackOpens' value: expected true or false.")

    stream = message.get("MessageStream") or "outbound"
    if stream not in streams:
        raise invalid(f"The message stream '{stream}' does not exist on this server.", 1235)
    if streams[stream] == "Inbound":
        raise invalid(f"The message stream '{stream}' is an inbound stream: it cannot send.", 1236)

    return CheckedMessage(
        sender=sender,
        to=to,
        cc=cc,
        bcc=bcc,
        stream=stream,
        subject=subject,
        html_body=html_body,
        text_body=text_body,
        tag=tag,
        metadata=metadata,
        track_opens=message.get("TrackOpens", False) or SERVER_TRACK_OPENS,
        track_links=message.get("TrackLinks", SERVER_TRACK_LINKS),
    )


def inactive_refusal(addresses: Iterable[str]) -> ApiError:
    """ErrorCode 406: every recipient is inactive."""
    return invalid(
        "You tried to send to recipient(s) that have been marked as inactive. "
        f"Found inactive addresses: {', '.join(addresses)}. {INACTIVE_EXPLANATION}",
        406,
    )


def partially_inactive_message(addresses: Iterable[str]) -> str:
    """The success Message when some (not all) recipients are inactive."""
    return f"Message OK, but will not deliver to these inactive addresses: {', '.join(addresses)}. {INACTIVE_EXPLANATION}"
