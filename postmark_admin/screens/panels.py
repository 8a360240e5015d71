"""What the settings page shows about the effective configuration: plain values, no HTML.

Everything here is computed from an :class:`~postmark_admin.config.effective.EffectiveConfig` and the
request; secrets are only ever shown through :meth:`~postmark_admin.config.crypto.Secret.masked`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..config.api_hosts import is_loopback
from ..config.crypto import Secret
from ..config.effective import EffectiveConfig, Resolved, Source, WebhookCredential
from ..webhooks.events import EventType

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: The configuration fields, in the order the panel lists them.
FIELD_LABELS: Mapping[str, StrOrPromise] = {
    "server_token": _("Server API token"),
    "api_url": _("API URL"),
    "message_stream": _("Default message stream"),
    "default_from_email": _("From address of test emails"),
    "webhook_credentials": _("Webhook credentials"),
    "ignore_unsupported_features": _("Ignore unsupported features"),
    "test_mode": _("Test mode"),
    "timeout": _("Request timeout"),
}

SOURCE_LABELS: Mapping[Source, StrOrPromise] = {
    Source.ARGUMENT: _("code argument"),
    Source.OVERRIDE: _("test override"),
    Source.DATABASE: _("database"),
    Source.SETTINGS: _("settings.py"),
    Source.ENVIRONMENT: _("environment"),
    Source.DEFAULT: _("default"),
}

#: The row's secret fields and the configuration field each one feeds.
SECRET_FIELDS: Mapping[str, str] = {
    "server_token": "server_token",
    "webhook_password": "webhook_credentials",
}


@dataclass(frozen=True)
class ConfigRow:
    """One line of the effective-configuration panel."""

    name: str
    label: str
    value: str
    is_set: bool
    source: Source
    source_label: str
    origin: str


def display_value(value: object) -> tuple[str, bool]:
    """How a configuration value is shown, and whether it is set; secrets are masked."""
    if isinstance(value, Secret):
        return (value.masked(), True) if value else (gettext("not set"), False)
    if isinstance(value, tuple):
        if not value:
            return gettext("not set"), False
        shown = []
        for item in value:
            if isinstance(item, WebhookCredential):
                shown.append(f"{item.username or gettext('(no username)')} / {item.password.masked()}")
        return ", ".join(shown), True
    if isinstance(value, bool):
        return (gettext("yes") if value else gettext("no")), True
    if isinstance(value, float):
        seconds = int(value) if value.is_integer() else value  # "30 seconds", not "30.0 seconds"
        return gettext("%(seconds)s seconds") % {"seconds": number_format(seconds)}, True
    if value in (None, ""):
        return gettext("not set"), False
    return str(value), True


def source_text(resolved: Resolved) -> str:
    """The translated name of where a value was read from."""
    return str(SOURCE_LABELS.get(resolved.source, resolved.source.value))


def config_rows(config: EffectiveConfig) -> list[ConfigRow]:
    """The panel's lines: each field's effective value (masked), source and origin."""
    rows = []
    for name, label in FIELD_LABELS.items():
        resolved = config.sources[name]
        value, is_set = display_value(resolved.value)
        rows.append(
            ConfigRow(
                name=name,
                label=str(label),
                value=value,
                is_set=is_set,
                source=resolved.source,
                source_label=source_text(resolved),
                origin=resolved.origin,
            )
        )
    return rows


def secret_source_note(config: EffectiveConfig, row_field: str) -> str:
    """One sentence for a secret input: where the effective value of this secret comes from."""
    resolved = config.sources[SECRET_FIELDS[row_field]]
    if resolved.source is Source.DEFAULT:
        return gettext(
            "No value is set anywhere: enter one here, or set it in settings.py or the environment."
        )
    return gettext("The effective value comes from %(source)s (%(origin)s).") % {
        "source": source_text(resolved),
        "origin": resolved.origin,
    }


def test_mode_warning(config: EffectiveConfig) -> str | None:
    """The banner the settings page shows while test mode is on (and where it was switched on), or None."""
    if not config.test_mode:
        return None
    resolved = config.sources["test_mode"]
    return gettext(
        "Test mode: Postmark validates messages but delivers nothing. Every send uses the "
        "POSTMARK_API_TEST token; no webhooks follow. Test mode is on in %(source)s (%(origin)s)."
    ) % {"source": source_text(resolved), "origin": resolved.origin}


@dataclass(frozen=True)
class WebhookURL:
    """One of this site's webhook URLs, ready to paste into Postmark."""

    label: str
    url: str


def webhook_urls(request: HttpRequest) -> list[WebhookURL]:
    """This site's tracking and inbound webhook URLs, absolute; empty if the URLs are not included."""
    urls = []
    for name, label in (
        (
            "postmark_admin:tracking",
            _("Tracking webhook (delivery, bounce, spam, open, click, subscription)"),
        ),
        ("postmark_admin:inbound", _("Inbound webhook")),
    ):
        try:
            path = reverse(name)
        except NoReverseMatch:
            continue
        urls.append(WebhookURL(label=str(label), url=request.build_absolute_uri(path)))
    return urls


def tracking_url(request: HttpRequest) -> str | None:
    """The absolute tracking webhook URL, or None when the site does not include postmark_admin.urls."""
    return _absolute_url(request, "postmark_admin:tracking")


def inbound_url(request: HttpRequest) -> str | None:
    """The absolute inbound webhook URL, or None when the site does not include postmark_admin.urls."""
    return _absolute_url(request, "postmark_admin:inbound")


def _absolute_url(request: HttpRequest, name: str) -> str | None:
    try:
        return request.build_absolute_uri(reverse(name))
    except NoReverseMatch:
        return None


#: A webhook password shorter than this gets a warning: nothing slows down guessing it (see docs/webhooks.rst).
MIN_WEBHOOK_PASSWORD_LENGTH = 16


def webhook_warnings(config: EffectiveConfig, urls: list[WebhookURL]) -> list[str]:
    """What makes the webhook credentials easy to guess or to read on the way: short passwords, http:// URLs."""
    warnings = []
    resolved = config.sources["webhook_credentials"]
    if any(len(item.password.reveal()) < MIN_WEBHOOK_PASSWORD_LENGTH for item in config.webhook_credentials):
        warnings.append(
            gettext(
                "A webhook password (from %(source)s) is shorter than %(length)d characters. Nothing slows "
                "down someone trying passwords against the webhook URLs: use a long random one, for example "
                "with “Generate a new webhook password”, and rate-limit the URLs at your proxy."
            )
            % {"source": source_text(resolved), "length": MIN_WEBHOOK_PASSWORD_LENGTH}
        )
    plain = [item.url for item in urls if _is_plain_http(item.url)]
    if plain:
        warnings.append(
            gettext(
                "This site's webhook URLs start with http:// (%(url)s): Postmark would send the webhook "
                "password unencrypted. Serve them over https://; behind a proxy that terminates TLS, set "
                "SECURE_PROXY_SSL_HEADER so that Django builds https:// URLs."
            )
            % {"url": plain[0]}
        )
    return warnings


def _is_plain_http(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "http" and not is_loopback(parts.hostname or "")


def webhook_username(config: EffectiveConfig) -> str | None:
    """The username Postmark must send (the first accepted credential), never the password."""
    return config.webhook_credentials[0].username if config.webhook_credentials else None


@dataclass(frozen=True)
class EventCount:
    """One line of the recent-events panel: an event type, its label and how many arrived."""

    event_type: str
    label: str
    count: int


def event_type_label(event_type: str) -> str:
    """The translated name of an event type; an unknown one is shown as stored."""
    try:
        return str(EventType(event_type).label)
    except ValueError:
        return event_type


def recent_event_counts(now: datetime, hours: int = 24) -> list[EventCount]:
    """How many webhook events arrived in the last ``hours``, by event type (most frequent first)."""
    from django.db.models import Count

    from ..models import WebhookEvent

    rows = (
        WebhookEvent.objects.filter(received_at__gte=now - timedelta(hours=hours))
        .values_list("event_type")
        .annotate(count=Count("pk"))
        .order_by()
    )
    counts = [
        EventCount(event_type=event_type, label=event_type_label(event_type), count=count)
        for event_type, count in rows
    ]
    return sorted(counts, key=lambda item: (-item.count, item.event_type))
