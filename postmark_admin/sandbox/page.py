"""The inspection pages: ``GET /`` (HTML list of received messages) and ``GET /sandbox/messages`` (JSON).

These are the sandbox's own, not Postmark's: they need no token and are not recorded in ``requests``.
"""

from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any

from .i18n import gettext as _
from .i18n import ngettext
from .records import ReceivedRequest
from .server import Answer
from .validation import NO_ENDPOINT, ApiError

if TYPE_CHECKING:
    from .core import Sandbox

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 70rem; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.05rem; margin: 0 0 .3rem; }
article { border-top: 1px solid #ccc; padding: .8rem 0; }
dl { display: grid; grid-template-columns: 8rem 1fr; gap: .1rem 1rem; margin: .3rem 0; }
dt { color: #666; } dd { margin: 0; }
pre { background: #f6f6f6; padding: .6rem; overflow-x: auto; font-size: .85rem; }
"""


def _message_html(message: dict[str, Any]) -> str:
    fields = [
        (_("From"), message.get("From")),
        (_("To"), message.get("To")),
        (_("Cc"), message.get("Cc")),
        (_("Bcc"), message.get("Bcc")),
        (_("Stream"), message.get("MessageStream") or "outbound"),
        (_("Template"), message.get("TemplateAlias") or message.get("TemplateId")),
        (_("Message ID"), message.get("MessageID")),
    ]
    rows = "".join(
        f"<dt>{html.escape(label)}</dt><dd>{html.escape(str(value))}</dd>" for label, value in fields if value
    )
    subject = message.get("Subject") or _("(no subject)")
    body = json.dumps(message, indent=2, ensure_ascii=False)
    return (
        f"<article><h2>{html.escape(str(subject))}</h2><dl>{rows}</dl>"
        f"<details><summary>{html.escape(_('JSON as received'))}</summary>"
        f"<pre>{html.escape(body)}</pre></details></article>"
    )


def messages_page(sandbox: Sandbox) -> str:
    messages = list(reversed(sandbox.messages))
    title = _("Postmark sandbox")
    summary = ngettext(
        "%(count)d message received, newest first. API URL: %(url)s",
        "%(count)d messages received, newest first. API URL: %(url)s",
        len(messages),
    ) % {
        "count": len(messages),
        "url": sandbox.url,
    }
    items = (
        "".join(_message_html(message) for message in messages)
        or f"<p>{html.escape(_('No messages yet.'))}</p>"
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(summary)}</p>{items}</body></html>"
    )


def answer(sandbox: Sandbox, received: ReceivedRequest) -> Answer | None:
    """The answer for an inspection page, or ``None`` when ``received`` is an API request."""
    if received.method != "GET":
        return None
    if received.path == "/":
        return Answer(200, messages_page(sandbox), content_type="text/html; charset=utf-8")
    if received.path.rstrip("/") == "/sandbox/messages":
        return Answer(200, list(reversed(sandbox.messages)))
    if received.path == "/favicon.ico":
        # Asked for by every browser that opens the messages page: answered, never kept as an API request.
        return Answer(404, ApiError(404, NO_ENDPOINT, "The sandbox has no icon.").body())
    return None
