"""PostmarkMessage: an EmailMultiAlternatives with Postmark's options as attributes.

Any Django message may carry the same attributes (django-anymail's names); this
class only makes them constructor arguments and adds ``message_stream`` and
``inline_css``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from email.mime.image import MIMEImage
from email.utils import make_msgid
from typing import Any

import django
from django.core.mail import EmailMessage, EmailMultiAlternatives


class TrackLinks(enum.StrEnum):
    """Postmark's ``TrackLinks`` values (also accepted as ``track_clicks``)."""

    NONE = "None"
    HTML_AND_TEXT = "HtmlAndText"
    HTML_ONLY = "HtmlOnly"
    TEXT_ONLY = "TextOnly"


#: The per-message attributes the backend reads, on any EmailMessage.
MESSAGE_ATTRIBUTES = (
    "tags",
    "metadata",
    "track_opens",
    "track_clicks",
    "template_id",
    "merge_global_data",
    "merge_data",
    "merge_metadata",
    "merge_headers",
    "esp_extra",
    "send_at",
    "envelope_sender",
    "message_stream",
    "inline_css",
)


class PostmarkMessage(EmailMultiAlternatives):
    """An email with Postmark options; every keyword below is optional.

    ``tags`` (Postmark accepts one), ``metadata`` (str -> str), ``track_opens``,
    ``track_clicks`` (bool or :class:`TrackLinks`), ``template_id`` (int id or alias),
    ``merge_global_data`` (the TemplateModel), ``merge_data`` / ``merge_metadata`` /
    ``merge_headers`` (per To recipient: one message each), ``esp_extra`` (merged last
    into the JSON), ``message_stream``, ``inline_css``. After sending,
    ``postmark_status`` (and ``anymail_status``) holds the result.
    """

    def __init__(
        self,
        *args: Any,
        tags: Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        track_opens: bool | None = None,
        track_clicks: bool | str | None = None,
        template_id: int | str | None = None,
        merge_global_data: Mapping[str, Any] | None = None,
        merge_data: Mapping[str, Mapping[str, Any]] | None = None,
        merge_metadata: Mapping[str, Mapping[str, Any]] | None = None,
        merge_headers: Mapping[str, Mapping[str, str]] | None = None,
        esp_extra: Mapping[str, Any] | None = None,
        message_stream: str | None = None,
        inline_css: bool | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.tags = list(tags) if tags is not None else None
        self.metadata = metadata
        self.track_opens = track_opens
        self.track_clicks = track_clicks
        self.template_id = template_id
        self.merge_global_data = merge_global_data
        self.merge_data = merge_data
        self.merge_metadata = merge_metadata
        self.merge_headers = merge_headers
        self.esp_extra = esp_extra
        self.message_stream = message_stream
        self.inline_css = inline_css
        self.postmark_status = None

    def attach_inline_image(
        self, content: bytes, filename: str | None = None, subtype: str | None = None
    ) -> str:
        """Attach an image shown in the HTML body; returns the id to use as ``src="cid:<id>"``."""
        return attach_inline_image(self, content, filename=filename, subtype=subtype)


def attach_inline_image(
    message: EmailMessage, content: bytes, filename: str | None = None, subtype: str | None = None
) -> str:
    """Attach an inline image to any Django message; returns its content id (without ``<>``).

    Uses :class:`email.message.MIMEPart` on Django 6 and ``MIMEImage`` on Django 5.2,
    the attachment type each version accepts without a deprecation warning.
    """
    cid = make_msgid()[1:-1]
    if django.VERSION >= (6, 0):
        from email.message import MIMEPart

        part = MIMEPart()
        part.set_content(
            content,
            maintype="image",
            subtype=subtype or _image_subtype(filename),
            disposition="inline",
            filename=filename,
            cid=f"<{cid}>",
        )
        message.attach(part)
    else:
        image = MIMEImage(content, _subtype=subtype) if subtype else MIMEImage(content)
        image.add_header("Content-ID", f"<{cid}>")
        if filename:
            image.add_header("Content-Disposition", "inline", filename=filename)
        else:
            image.add_header("Content-Disposition", "inline")
        message.attach(image)
    return cid


def _image_subtype(filename: str | None) -> str:
    import mimetypes

    guessed = mimetypes.guess_type(filename or "")[0]
    return guessed.split("/", 1)[1] if guessed and guessed.startswith("image/") else "png"
