"""Pure mapping: a Django EmailMessage -> Postmark's message JSON, with Postmark's rules checked.

Nothing here does I/O or reads settings: :func:`build_payload` takes the message
and plain values and returns a :class:`PreparedMessage` (one Postmark message
object per item, already serialized), so the whole mapping is tested with tables.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.mail import EmailMessage
from django.utils.encoding import force_str
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from ..config.crypto import Secret
from ..exceptions import PostmarkInvalidMessage, PostmarkUnsupportedFeature
from ..message import MESSAGE_ATTRIBUTES, TrackLinks
from .addresses import ParsedAddress, parse_addresses
from .addresses import join_addresses as _join
from .attachments import attachment_payload
from .encoding import encode_item
from .limits import MAX_MESSAGE_BYTES, MAX_RECIPIENTS, validate
from .send_defaults import as_tags_list, with_send_defaults

#: Postmark's stream when a message names none; left out of the JSON (Postmark's own default).
DEFAULT_STREAM = "outbound"

ENDPOINT_EMAIL = "email"
ENDPOINT_TEMPLATE = "template"


@dataclass(frozen=True)
class PayloadItem:
    """One Postmark message object, its JSON, and who it goes to (addr-specs)."""

    data: dict[str, Any]
    body: bytes
    to: tuple[str, ...]
    cc_bcc: tuple[str, ...]
    #: How many of ``cc_bcc`` (the last ones) are Bcc: the sent-message log records each one's kind.
    bcc_count: int = 0

    @property
    def size(self) -> int:
        return len(self.body)


@dataclass(frozen=True)
class PreparedMessage:
    """What one Django message becomes: usually one item, one per To recipient with merge data."""

    items: tuple[PayloadItem, ...]
    endpoint: str
    #: ``esp_extra["server_token"]``: sends this message with another server's token.
    server_token: Secret | None = None
    #: Unsupported features left out because ignore_unsupported_features is on.
    ignored_features: tuple[str, ...] = field(default=())
    #: merge_data, merge_metadata or merge_headers set: django-anymail's "batch send", which always
    #: goes to a batch endpoint, even for a single recipient (see batching).
    batch_send: bool = False


def is_unset(value: Any) -> bool:
    """None, or django-anymail's ``UNSET`` marker (so an AnymailMessage works here too)."""
    return value is None or (isinstance(value, type) and value.__name__ == "UNSET")


def _attr(message: EmailMessage, name: str) -> Any:
    value = getattr(message, name, None)
    return None if is_unset(value) else value


def _options(message: EmailMessage) -> dict[str, Any]:
    """The :data:`MESSAGE_ATTRIBUTES` that ``message`` sets (None and anymail's UNSET left out)."""
    options = {}
    for name in MESSAGE_ATTRIBUTES:
        value = _attr(message, name)
        if value is not None:
            options[name] = value
    return options


def _text(value: Any) -> Any:
    """Strings (and lazy or bytes ones) as str; anything else unchanged, for the encoder to judge.

    Numbers and booleans stay JSON numbers and booleans; a Decimal or a date is refused by
    :func:`_encode` with the field named, rather than sent silently converted.
    """
    return force_str(value) if isinstance(value, str | bytes | Promise) else value


# -- the mapping ---------------------------------------------------------------------------


class _Unsupported:
    """Collects unsupported features: raise at once, or remember them when ignoring."""

    def __init__(self, ignore: bool, message: EmailMessage) -> None:
        self.ignore = ignore
        self.message = message
        self.ignored: list[str] = []

    def __call__(self, feature: str) -> None:
        if not self.ignore:
            raise PostmarkUnsupportedFeature(feature, self.message)
        self.ignored.append(feature)


def _track_links(value: object, message: EmailMessage) -> str:
    if isinstance(value, bool):
        return TrackLinks.HTML_AND_TEXT.value if value else TrackLinks.NONE.value
    try:
        return TrackLinks(str(value)).value
    except ValueError:
        raise PostmarkInvalidMessage(
            _("track_clicks must be True, False or one of %(values)s, not %(value)r.")
            % {"values": ", ".join(item.value for item in TrackLinks), "value": value},
            message,
        ) from None


def _bodies(message: EmailMessage, data: dict[str, Any], unsupported: _Unsupported) -> None:
    body = force_str(message.body or "")
    if getattr(message, "content_subtype", "plain") == "html":
        data["HtmlBody"] = body
    else:
        data["TextBody"] = body
    for alternative in getattr(message, "alternatives", None) or ():
        content, mimetype = alternative[0], alternative[1]
        if isinstance(content, bytes):
            content = content.decode(message.encoding or "utf-8")
        mimetype = (mimetype or "").lower()
        if mimetype == "text/html":
            if "HtmlBody" in data:
                unsupported(_("several HTML parts"))
                continue
            data["HtmlBody"] = force_str(content)
        elif mimetype == "text/plain":
            if data.get("TextBody"):
                unsupported(_("several plain-text parts"))
                continue
            data["TextBody"] = force_str(content)
        else:
            unsupported(_("an alternative part of type %(mimetype)s") % {"mimetype": mimetype})


def _headers(
    message: EmailMessage, data: dict[str, Any], to: list[ParsedAddress], cc: list[ParsedAddress]
) -> None:
    headers = []
    for name, value in (message.extra_headers or {}).items():
        lowered = name.lower()
        text = _text(value)
        if lowered == "reply-to":
            # Postmark's ReplyTo field, not a raw header.
            data["ReplyTo"] = _join(parse_addresses([force_str(text)], "Reply-To", message))
        elif lowered == "from":
            data["From"] = _join(parse_addresses([force_str(text)], "From", message))
        elif lowered in ("to", "cc"):
            shown = {
                address.addr_spec.lower() for address in parse_addresses([force_str(text)], name, message)
            }
            actual = {address.addr_spec.lower() for address in (to if lowered == "to" else cc)}
            if shown != actual:
                raise PostmarkUnsupportedFeature(
                    _("a %(header)s header that differs from the message's recipients") % {"header": name},
                    message,
                )
        elif lowered == "bcc":
            raise PostmarkInvalidMessage(_("Bcc is not a valid header: use the message's bcc list."), message)
        else:
            headers.append({"Name": name, "Value": text})
    if headers:
        data["Headers"] = headers


def build_payload(
    message: EmailMessage,
    *,
    message_stream: str | None = None,
    ignore_unsupported_features: bool = False,
    from_email: str | None = None,
    send_defaults: Mapping[str, Any] | None = None,
) -> PreparedMessage:
    """Map ``message`` to Postmark JSON and check it against Postmark's rules.

    ``message_stream`` is the configured default (the message's own, then the send defaults',
    win); ``from_email`` replaces ``message.from_email`` (a From header still wins);
    ``send_defaults`` are attributes the message gets unless it sets its own
    (:func:`with_send_defaults`). Raises :class:`PostmarkUnsupportedFeature` and
    :class:`PostmarkInvalidMessage` (its :class:`PostmarkSerializationError` for a value JSON cannot hold).
    """
    unsupported = _Unsupported(ignore_unsupported_features, message)
    encoding = getattr(message, "encoding", None) or "utf-8"
    data: dict[str, Any] = {}
    options = with_send_defaults(_options(message), send_defaults or {})

    data["From"] = _join(parse_addresses([from_email or message.from_email], "From", message))
    to = parse_addresses(message.to, "To", message)
    cc = parse_addresses(message.cc, "Cc", message)
    bcc = parse_addresses(message.bcc, "Bcc", message)
    if to:
        data["To"] = _join(to)
    if cc:
        data["Cc"] = _join(cc)
    if bcc:
        data["Bcc"] = _join(bcc)
    data["Subject"] = force_str(message.subject or "")
    reply_to = parse_addresses(message.reply_to or (), "Reply-To", message)
    if reply_to:
        data["ReplyTo"] = _join(reply_to)
    _headers(message, data, to, cc)
    _bodies(message, data, unsupported)

    attachments = [attachment_payload(attachment, encoding) for attachment in message.attachments or ()]
    if attachments:
        data["Attachments"] = attachments

    tags = options.get("tags")
    if tags:
        tags = as_tags_list(tags)
        if len(tags) > 1:
            unsupported(_("multiple tags (%(tags)s)") % {"tags": ", ".join(map(str, tags))})
        data["Tag"] = _text(tags[0])
    metadata = options.get("metadata")
    if metadata:
        data["Metadata"] = dict(metadata)
    track_opens = options.get("track_opens")
    if track_opens is not None:
        data["TrackOpens"] = bool(track_opens)
    track_clicks = options.get("track_clicks")
    if track_clicks is not None:
        data["TrackLinks"] = _track_links(track_clicks, message)
    stream = options.get("message_stream") or message_stream or DEFAULT_STREAM
    if stream != DEFAULT_STREAM:
        data["MessageStream"] = stream

    if options.get("send_at") is not None:
        unsupported(_("scheduled sending (send_at)"))
    if options.get("envelope_sender") is not None:
        unsupported(_("a custom envelope sender (envelope_sender)"))

    template_id = options.get("template_id", "")
    merge_global_data = options.get("merge_global_data")
    merge_data = options.get("merge_data")
    merge_metadata = options.get("merge_metadata")
    merge_headers = options.get("merge_headers")
    inline_css = options.get("inline_css")
    templated = template_id != ""
    if templated:
        if isinstance(template_id, int) or str(template_id).isdigit():
            data["TemplateId"] = int(template_id)
        else:
            data["TemplateAlias"] = str(template_id)
        data["TemplateModel"] = dict(merge_global_data or {})
        if inline_css is not None:
            data["InlineCss"] = bool(inline_css)
        # Django fills these with "" by default; Postmark refuses them with a template.
        for name in ("Subject", "TextBody", "HtmlBody"):
            if name in data and not data[name]:
                del data[name]
        present = [name for name in ("Subject", "TextBody", "HtmlBody") if name in data]
        if present:
            raise PostmarkInvalidMessage(
                _("A template message must not have its own %(fields)s (Postmark ErrorCode 1123).")
                % {"fields": ", ".join(present)},
                message,
            )
    else:
        # Postmark ignores TemplateModel without a template, so merge values would go nowhere;
        # an empty merge_data only asks for one message per recipient (django-anymail's rule).
        if merge_global_data:
            unsupported(_("merge_global_data without template_id"))
        if merge_data:
            unsupported(_("merge_data without template_id"))
            merge_data = {}
        if inline_css is not None:
            unsupported(_("inline_css without template_id"))

    esp_extra = dict(options.get("esp_extra") or {})
    token = esp_extra.pop("server_token", None)
    server_token = Secret(str(token)) if token else None

    split = merge_data is not None or merge_metadata is not None or merge_headers is not None
    if split:
        per_recipient = [
            _for_recipient(data, address, merge_data, merge_metadata, merge_headers) for address in to
        ]
        items = [
            _item({**item_data, **esp_extra}, (address.addr_spec,), cc + bcc, message, len(bcc))
            for item_data, address in zip(per_recipient, to, strict=True)
        ]
        if not to:
            items = [_item({**data, **esp_extra}, (), cc + bcc, message, len(bcc))]
    else:
        items = [_item({**data, **esp_extra}, tuple(a.addr_spec for a in to), cc + bcc, message, len(bcc))]
    return PreparedMessage(
        items=tuple(items),
        endpoint=ENDPOINT_TEMPLATE if templated else ENDPOINT_EMAIL,
        server_token=server_token,
        ignored_features=tuple(unsupported.ignored),
        batch_send=split,
    )


def _for_recipient(
    data: dict[str, Any],
    address: ParsedAddress,
    merge_data: Mapping[str, Any] | None,
    merge_metadata: Mapping[str, Any] | None,
    merge_headers: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """One To recipient's copy: its own To, and its merge values over the shared ones."""
    item = dict(data)
    item["To"] = address.format()
    key = address.addr_spec
    if merge_data and key in merge_data:
        item["TemplateModel"] = {**item.get("TemplateModel", {}), **merge_data[key]}
    if merge_metadata and key in merge_metadata:
        item["Metadata"] = {**item.get("Metadata", {}), **merge_metadata[key]}
    if merge_headers and key in merge_headers:
        headers = {header["Name"].lower(): header for header in item.get("Headers", [])}
        for name, value in merge_headers[key].items():
            headers[name.lower()] = {"Name": name, "Value": _text(value)}
        item["Headers"] = list(headers.values())
    return item


def _item(
    data: dict[str, Any],
    to: tuple[str, ...],
    others: list[ParsedAddress],
    message: EmailMessage,
    bcc_count: int = 0,
) -> PayloadItem:
    validate(data, message, recipients=len(to) + len(others))
    body = encode_item(data, message)
    if len(body) > MAX_MESSAGE_BYTES:
        raise PostmarkInvalidMessage(
            _("The message is %(size)s bytes once encoded; Postmark accepts at most %(limit)s (10 MB).")
            % {"size": len(body), "limit": MAX_MESSAGE_BYTES},
            message,
        )
    return PayloadItem(
        data=data, body=body, to=to, cc_bcc=tuple(a.addr_spec for a in others), bcc_count=bcc_count
    )


__all__ = [
    "DEFAULT_STREAM",
    "ENDPOINT_EMAIL",
    "ENDPOINT_TEMPLATE",
    "MAX_MESSAGE_BYTES",
    "MAX_RECIPIENTS",
    "ParsedAddress",
    "PayloadItem",
    "PreparedMessage",
    "build_payload",
    "is_unset",
    "parse_addresses",
    "validate",
    "with_send_defaults",
]
