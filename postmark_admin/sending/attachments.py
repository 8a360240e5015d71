"""Pure: one Django attachment -> Postmark's attachment object (content in base64, as Postmark counts it)."""

from __future__ import annotations

import base64
import codecs
import email.message
import mimetypes
from typing import Any, TypeAlias

from django.core.mail import EmailMessage

#: One of Django's ``message.attachments``: a MIME part, or ``(filename, content, mimetype)``.
Attachment: TypeAlias = (
    email.message.Message | tuple[str | None, str | bytes | EmailMessage | email.message.Message, str | None]
)


def attachment_payload(attachment: Attachment, encoding: str) -> dict[str, Any]:
    """One of ``message.attachments`` in Postmark's shape (content in base64)."""
    if isinstance(attachment, email.message.Message):
        return _part_payload(attachment)
    filename, content, mimetype = attachment
    content_type = mimetype or mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    if isinstance(content, str):
        raw, content_type = _encoded_text(content, content_type, encoding)
    elif isinstance(content, EmailMessage):  # attached as message/rfc822
        raw = content.message().as_bytes()
    elif isinstance(content, email.message.Message):
        raw = content.as_bytes()
    else:
        raw = bytes(content)
    return {
        "Name": filename or "",
        "Content": base64.b64encode(raw).decode("ascii"),
        "ContentType": content_type,
    }


def _encoded_text(content: str, content_type: str, encoding: str) -> tuple[bytes, str]:
    """A text given as ``str``: its bytes in the declared charset (else the message's encoding), and
    a content type naming that charset whenever it is not UTF-8, so the recipient decodes it right.

    A declared charset that holds the text leaves the content type as the user wrote it (as
    django-anymail sends it). A charset Python does not know, or one that cannot hold the text,
    gives way to UTF-8 (named).
    """
    parsed = email.message.Message()
    parsed["Content-Type"] = content_type
    declared = parsed.get_param("charset")
    charset = str(declared) if isinstance(declared, str) and declared else encoding
    try:
        raw = content.encode(charset)
    except (LookupError, UnicodeError):
        charset, raw = "utf-8", content.encode("utf-8")
    else:
        if declared:
            return raw, _as_given(content_type, parsed.get_content_type())
    if declared or (
        "/" in content_type
        and parsed.get_content_maintype() == "text"
        and codecs.lookup(charset).name != "utf-8"
    ):
        content_type = f"{parsed.get_content_type()}; charset={charset.lower()}"
    return raw, content_type


def _as_given(content_type: str, parsed_type: str) -> str:
    """``content_type`` as the user wrote it, unfolded onto one line; ``parsed_type`` (Python's reading)
    when it does not begin with a valid type that reading agrees with."""
    given = " ".join(content_type.split())
    return given if given.split(";", 1)[0].strip().lower() == parsed_type else parsed_type


def _part_payload(part: email.message.Message) -> dict[str, Any]:
    # MIMEBase (Django 5.2) and MIMEPart (Django 6): their headers say everything.
    content_type = part.get_content_type()
    if part.is_multipart():
        # A message/rfc822 part holds the attached mail: its bytes, without this part's own headers.
        inner = part.get_payload(0) if content_type.startswith("message/") else None
        content = (inner if isinstance(inner, email.message.Message) else part).as_bytes()
    else:
        payload = part.get_payload(decode=True)  # bytes, or None when there is no payload
        content = payload if isinstance(payload, bytes) else b""
    filename = part.get_filename() or ""
    charset = part.get_content_charset()
    given = part.get("Content-Type")
    if given is not None and _as_given(str(given), content_type) != content_type:
        # The part's own header (charset quoted or not, other parameters) names the charset, if any.
        content_type = _as_given(str(given), content_type)
    elif charset and part.get_content_maintype() == "text":
        # The payload's bytes are in this charset: without it the recipient would guess.
        content_type = f"{content_type}; charset={charset}"
    data: dict[str, Any] = {
        "Name": filename,
        "Content": base64.b64encode(content).decode("ascii"),
        "ContentType": content_type,
    }
    content_id = part.get("Content-ID")
    if content_id:
        cid = str(content_id).strip().strip("<>")
        data["ContentID"] = f"cid:{cid}"
        if not filename:
            data["Name"] = cid
    return data
