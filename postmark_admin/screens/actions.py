"""What the admin's Postmark buttons do: each returns a sentence for the admin's message area.

The pure parts (the webhook definition, finding an existing webhook, summarizing delivery
stats, describing an error) take plain values and are tested with tables of cases; the
rest is a thin layer over :class:`~postmark_admin.sending.client.PostmarkClient` and
:class:`~postmark_admin.backends.PostmarkBackend`. No sentence ever contains a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext

from ..backends import PostmarkBackend
from ..config.effective import EffectiveConfig, Source, WebhookCredential
from ..config.mailers import mailer_config, mailer_options
from ..exceptions import PostmarkAPIError, PostmarkError
from ..message import PostmarkMessage
from ..sending.client import PostmarkClient

#: The tracking events this site stores, all switched on.
TRACKING_TRIGGERS: Mapping[str, Mapping[str, bool]] = {
    "Open": {"Enabled": True, "PostFirstOpenOnly": False},
    "Click": {"Enabled": True},
    "Delivery": {"Enabled": True},
    "Bounce": {"Enabled": True, "IncludeContent": False},
    "SpamComplaint": {"Enabled": True, "IncludeContent": False},
    "SubscriptionChange": {"Enabled": True},
}


@dataclass(frozen=True)
class Outcome:
    """What an action reports: success or failure, and the sentence to show."""

    ok: bool
    message: str


# -- pure helpers ---------------------------------------------------------------------------------


def describe_error(error: Exception, config: EffectiveConfig | None = None) -> str:
    """Postmark's exact ErrorCode and Message when it answered, and what to change where; else what went wrong."""
    if isinstance(error, PostmarkAPIError) and error.error_code is not None:
        sentence = gettext("Postmark answered HTTP %(status)s, ErrorCode %(code)s: %(message)s") % {
            "status": error.status_code,
            "code": error.error_code,
            "message": error.message,
        }
        advice = error_advice(error.error_code, config)
        return f"{sentence} {advice}" if advice else sentence
    return str(error)


def token_advice(config: EffectiveConfig | None) -> str:
    """Where to correct the server token in use: this page, or the place in code that overrides it."""
    resolved = config.sources.get("server_token") if config is not None else None
    if resolved is not None and resolved.source is Source.ARGUMENT:
        return gettext(
            "The token in use comes from %(origin)s, which wins over this page: correct it there."
        ) % {"origin": resolved.origin}
    return gettext(
        "Copy the Server API token again from Postmark (Servers, your server, API Tokens) into "
        "“Server API token” on this page."
    )


def error_advice(error_code: int, config: EffectiveConfig | None = None) -> str:
    """What to change, and where, for the ErrorCodes an admin can fix; empty for the others."""
    if error_code == 10:
        return token_advice(config)
    if error_code in (400, 401):
        return gettext(
            "Enter a sender signature confirmed in Postmark (Sender Signatures) under “default From "
            "address for test emails” on this page, or set POSTMARK_DEFAULT_FROM_EMAIL."
        )
    if error_code in (1226, 1235, 1236):
        return gettext(
            "Use a message stream ID that exists on this Postmark server (Servers, your server, Message "
            "Streams), in the form or under “default message stream” on this page."
        )
    if error_code == 606:
        return gettext(
            "Postmark must be able to reach the webhook URL: serve this site on a public https:// address."
        )
    return ""


def missing_token_reason(config: EffectiveConfig) -> str | None:
    """Why no request can be made with ``config``'s token, and where to fix it; None when there is one."""
    if "server_token" in config.undecryptable and not config.server_token:
        return gettext(
            "The stored server token cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS. Enter it "
            "again under “Server API token” on this page, or add the previous SECRET_KEY to "
            "SECRET_KEY_FALLBACKS in settings.py."
        )
    if not config.server_token:
        return gettext(
            "No server token is configured. Enter one under “Server API token” on this page, or set "
            "POSTMARK_SERVER_TOKEN in settings.py or the environment."
        )
    return None


def webhook_definition(url: str, credential: WebhookCredential, message_stream: str) -> dict[str, Any]:
    """The body of ``POST /webhooks`` for this site's tracking URL (the password goes to Postmark only)."""
    return {
        "Url": url,
        "MessageStream": message_stream,
        "HttpAuth": {"Username": credential.username, "Password": credential.password.reveal()},
        "Triggers": {name: dict(trigger) for name, trigger in TRACKING_TRIGGERS.items()},
    }


def _comparable_url(url: str) -> tuple[str, str, str]:
    # Postmark may hold the URL with credentials in it (https://user:pass@host/...): compare without them.
    parts = urlsplit(url.strip())
    return (
        parts.scheme.lower(),
        (parts.hostname or "").lower() + f":{parts.port or ''}",
        parts.path.rstrip("/"),
    )


def find_webhook(webhooks: Iterable[Mapping[str, Any]], url: str) -> Mapping[str, Any] | None:
    """The configured webhook that posts to ``url`` (credentials and trailing slash ignored), if any."""
    wanted = _comparable_url(url)
    for webhook in webhooks:
        if isinstance(webhook.get("Url"), str) and _comparable_url(webhook["Url"]) == wanted:
            return webhook
    return None


def summarize_delivery_stats(stats: Mapping[str, Any]) -> str:
    """One sentence from ``GET /deliverystats``: inactive addresses, then bounces by type."""
    inactive = stats.get("InactiveMails") or 0
    parts = []
    total = None
    for bounce in stats.get("Bounces") or ():
        name, count = bounce.get("Name") or bounce.get("Type") or "?", bounce.get("Count") or 0
        if not bounce.get("Type") and name == "All":
            total = count
            continue
        parts.append(f"{name}: {count}")
    if total is None:
        total = sum(bounce.get("Count") or 0 for bounce in stats.get("Bounces") or () if bounce.get("Type"))
    sentence = gettext("Delivery stats: %(inactive)s inactive addresses, %(total)s bounces") % {
        "inactive": inactive,
        "total": total,
    }
    return f"{sentence} ({', '.join(parts)})." if parts else f"{sentence}."


def describe_server(server: Mapping[str, Any]) -> str:
    """The answer of ``GET /server`` in one sentence (its ApiTokens are never shown)."""
    sentence = gettext(
        "The server token is valid: server “%(name)s” (ID %(id)s), delivery type %(delivery_type)s."
    ) % {
        "name": server.get("Name") or "?",
        "id": server.get("ID") or "?",
        "delivery_type": server.get("DeliveryType") or "?",
    }
    if server.get("DeliveryType") == "Sandbox":
        sentence += " " + gettext("Postmark accepts messages on a sandbox server but delivers none.")
    return sentence


# -- the actions -----------------------------------------------------------------------------------


def _client(config: EffectiveConfig | None = None) -> PostmarkClient:
    return PostmarkClient(config=config or mailer_config())


def verify_server_token() -> Outcome:
    """``GET /server`` with the effective token: the server's name and delivery type, or why it was refused.

    Without a token nothing is sent to Postmark: the outcome says where to enter one.
    """
    config = mailer_config()
    reason = missing_token_reason(config)
    if reason is not None:
        return Outcome(False, reason)
    try:
        server = _client(config).get_server()
    except PostmarkAPIError as error:
        if error.status_code == 401 or error.error_code == 10:
            lead = gettext("Postmark refused the server token. %(error)s")
        else:
            lead = gettext("The server token could not be verified. %(error)s")
        return Outcome(False, lead % {"error": describe_error(error, config)})
    except PostmarkError as error:
        return Outcome(
            False,
            gettext("The server token could not be verified. %(error)s") % {"error": describe_error(error)},
        )
    return Outcome(True, describe_server(server))


def delivery_stats() -> Outcome:
    """``GET /deliverystats``, summarized."""
    config = mailer_config()
    reason = missing_token_reason(config)
    if reason is not None:
        return Outcome(False, gettext("Could not read delivery stats. %(error)s") % {"error": reason})
    try:
        stats = _client(config).get_delivery_stats()
    except PostmarkError as error:
        return Outcome(
            False,
            gettext("Could not read delivery stats. %(error)s") % {"error": describe_error(error, config)},
        )
    return Outcome(True, summarize_delivery_stats(stats))


def configure_webhook(url: str | None, message_stream: str) -> Outcome:
    """Create, or update in place, the Postmark webhook that posts tracking events to ``url``."""
    if url is None:
        return Outcome(
            False,
            gettext(
                'This site has no tracking webhook URL: add path("postmark/", include("postmark_admin.urls")) '
                "to the site's URLconf (ROOT_URLCONF), then configure the webhook again."
            ),
        )
    config = mailer_config()
    if not config.webhook_credentials:
        return Outcome(
            False,
            gettext(
                "No webhook credentials are configured, and Postmark must authenticate to this site's webhook "
                "URL. Enter a “webhook username” and “webhook password” on this page and save them (or set "
                "POSTMARK_WEBHOOK_AUTHORIZATION in settings.py), then configure the webhook again."
            ),
        )
    reason = missing_token_reason(config)
    if reason is not None:
        return Outcome(False, gettext("The webhook was not configured. %(error)s") % {"error": reason})
    credential = config.webhook_credentials[0]
    body = webhook_definition(url, credential, message_stream)
    client = _client(config)
    try:
        existing = find_webhook(
            client.list_webhooks(message_stream=message_stream).get("Webhooks") or (), url
        )
        if existing is None:
            created = client.create_webhook(body)
            return Outcome(
                True,
                gettext(
                    "Created webhook %(id)s in Postmark for stream “%(stream)s”: %(url)s (user %(user)s)."
                )
                % {
                    "id": created.get("ID", "?"),
                    "stream": message_stream,
                    "url": url,
                    "user": credential.username,
                },
            )
        # The stream of an existing webhook cannot change; everything else is brought up to date.
        update = {key: value for key, value in body.items() if key != "MessageStream"}
        client.update_webhook(existing["ID"], update)
    except PostmarkError as error:
        return Outcome(
            False,
            gettext("The webhook was not configured. %(error)s") % {"error": describe_error(error, config)},
        )
    return Outcome(
        True,
        gettext("Updated webhook %(id)s in Postmark for stream “%(stream)s”: %(url)s (user %(user)s).")
        % {"id": existing["ID"], "stream": message_stream, "url": url, "user": credential.username},
    )


def send_test_email(recipient: str, subject: str, message_stream: str = "") -> Outcome:
    """Send one message through :class:`~postmark_admin.backends.PostmarkBackend` with the effective configuration."""
    config = mailer_config()
    reason = missing_token_reason(config)
    if reason is not None:
        return Outcome(
            False,
            gettext("The test email to %(recipient)s was not sent. %(error)s")
            % {"recipient": recipient, "error": reason},
        )
    body = gettext(
        "This is a test email sent from the admin through Postmark.\n\n"
        "If you can read it, the server token and the sender address work."
    )
    message = PostmarkMessage(
        subject,
        body,
        from_email=config.default_from_email,
        to=[recipient],
        # The default mailer's OPTIONS (Django 6.1 MAILERS), so the test uses what the site's mail uses.
        connection=PostmarkBackend(fail_silently=False, **mailer_options()),
        message_stream=message_stream or None,
    )
    try:
        message.send()
    except PostmarkError as error:
        return Outcome(
            False,
            gettext("The test email to %(recipient)s was not sent. %(error)s")
            % {"recipient": recipient, "error": describe_error(error, config)},
        )
    return Outcome(
        True,
        gettext("Test email sent to %(recipient)s from %(sender)s: Postmark's MessageID is %(message_id)s.")
        % {
            "recipient": recipient,
            "sender": config.default_from_email,
            "message_id": sent_message_id(message),
        },
    )


def sent_message_id(message: PostmarkMessage) -> str:
    """The MessageID Postmark gave a message sent through the backend."""
    status = getattr(message, "postmark_status", None)
    message_id = getattr(status, "message_id", None)
    if isinstance(message_id, set | frozenset | list | tuple):
        message_id = ", ".join(sorted(str(item) for item in message_id if item))
    return str(message_id or "?")
