"""Pure: one Django attachment -> Postmark's attachment object (content in base64, as Postmark counts it)."""

from __future__ import annotations

import base64
import email.message
import mimetypes
from typing import Any


def attachment_payload(attachment: Any, encoding: str) -> dict[str, Any]:
    """One of ``message.attachments`` (a MIME part, or ``(filename, content, mimetype)``) in Postmark's shape."""
    if isinstance(attachment, email.message.Message):
        # MIMEBase (Django 5.2) and MIMEPart (Django 6): their headers say everything.
        content_type = attachment.get_content_type()
        if attachment.is_multipart():
            inner = attachment.get_payload()
            content = inner[0].as_bytes() if content_type.startswith("message/") else attachment.as_bytes()
        else:
            content = attachment.get_payload(decode=True) or b""
        filename = attachment.get_filename() or ""
        content_id = attachment.get("Content-ID")
        data: dict[str, Any] = {
            "Name": filename,
            "Content": base64.b64encode(content).decode("ascii"),
            "ContentType": content_type,
        }
        if content_id:
            cid = str(content_id).strip().strip("<>")
            data["ContentID"] = f"cid:{cid}"
            if not filename:
                data["Name"] = cid
        return data
    filename, content, mimetype = attachment
    mimetype = mimetype or mimetypes.guess_type(filename or "")[0] or "application/octet-stream"
    if isinstance(content, str):
        raw = content.encode(encoding)
    elif hasattr(content, "message") and callable(content.message):
        # A Django EmailMessage attached as message/rfc822.
        raw = content.message().as_bytes()
    elif isinstance(content, email.message.Message):
        raw = content.as_bytes()
    else:
        raw = bytes(content)
    return {
        "Name": filename or "",
        "Content": base64.b64encode(raw).decode("ascii"),
        "ContentType": mimetype,
    }
