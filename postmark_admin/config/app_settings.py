"""Settings that only settings.py holds (no database row, no environment), read live."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

#: The message attributes that send defaults may set (docs/sending.rst, "Send defaults").
SEND_DEFAULT_NAMES = ("tags", "metadata", "track_opens", "track_clicks", "message_stream", "esp_extra")
#: Where each settings-only knob may be written, first found wins: ours, then django-anymail's.
IGNORE_RECIPIENT_STATUS_PLACES = (
    "POSTMARK_IGNORE_RECIPIENT_STATUS",
    ("ANYMAIL", "IGNORE_RECIPIENT_STATUS"),
    "ANYMAIL_IGNORE_RECIPIENT_STATUS",
)
#: Postmark-only send defaults (ours, then anymail's ``POSTMARK_SEND_DEFAULTS``) ...
POSTMARK_SEND_DEFAULTS_PLACES = (
    "POSTMARK_SEND_DEFAULTS",
    ("ANYMAIL", "POSTMARK_SEND_DEFAULTS"),
    "ANYMAIL_POSTMARK_SEND_DEFAULTS",
)
#: ... win key by key over anymail's defaults for every ESP.
GLOBAL_SEND_DEFAULTS_PLACES = (("ANYMAIL", "SEND_DEFAULTS"), "ANYMAIL_SEND_DEFAULTS")

DEFAULT_WEBHOOK_MAX_BODY_SIZE = 64 * 1024 * 1024
#: Postmark's API host, and loopback for the sandbox (see :mod:`postmark_admin.config.api_hosts`).
DEFAULT_ALLOWED_API_HOSTS = ("api.postmarkapp.com", "localhost", "127.0.0.1", "::1")


def _first_set(places: tuple[str | tuple[str, str], ...]) -> tuple[str, Any] | None:
    """``(place name, value)`` of the first place settings.py sets (not None), or None."""
    for place in places:
        if isinstance(place, tuple):
            container = getattr(settings, place[0], None)
            value = container.get(place[1]) if isinstance(container, Mapping) else None
            name = f"settings.{place[0]}[{place[1]!r}]"
        else:
            value, name = getattr(settings, place, None), f"settings.{place}"
        if value is not None:
            return name, value
    return None


def send_defaults_sources() -> list[tuple[str, Any]]:
    """The send-defaults settings that are set, as ``(place name, value)``, the winning one last."""
    return [
        found
        for found in map(_first_set, (GLOBAL_SEND_DEFAULTS_PLACES, POSTMARK_SEND_DEFAULTS_PLACES))
        if found
    ]


class AppSettings:
    """Settings that only settings.py holds, read live so ``override_settings`` works."""

    @property
    def CACHE(self) -> str:
        """Alias of the cache that holds the settings row (``POSTMARK_CACHE``)."""
        return getattr(settings, "POSTMARK_CACHE", "default")

    @property
    def WEBHOOK_ALLOW_UNAUTHENTICATED(self) -> bool:
        """Accept webhooks without credentials when none are configured anywhere (not recommended)."""
        return bool(getattr(settings, "POSTMARK_WEBHOOK_ALLOW_UNAUTHENTICATED", False))

    @property
    def WEBHOOK_MAX_BODY_SIZE(self) -> int:
        """Largest webhook body accepted, in bytes (``POSTMARK_WEBHOOK_MAX_BODY_SIZE``).

        The default leaves room for an inbound mail at Postmark's 35 MB limit, base64-encoded.
        """
        return int(getattr(settings, "POSTMARK_WEBHOOK_MAX_BODY_SIZE", DEFAULT_WEBHOOK_MAX_BODY_SIZE))

    @property
    def EVENT_RETENTION_DAYS(self) -> int | None:
        """Days of webhook events that ``postmark_prune_events`` keeps by default (None: keep all)."""
        value = getattr(settings, "POSTMARK_EVENT_RETENTION_DAYS", None)
        return None if value in (None, "") else int(value)

    @property
    def LOG_MESSAGES(self) -> bool:
        """Record every message sent in the sent-message log (``POSTMARK_LOG_MESSAGES``, on by default).

        ``False`` turns it off: the send path then runs no SQL at all. With it on, one INSERT per
        Postmark request after Postmark answered, and one SELECT once it is committed (docs/desk.rst
        gives the cost, measured with bench/send.py --log both).
        """
        return bool(getattr(settings, "POSTMARK_LOG_MESSAGES", True))

    @property
    def LOG_BODIES_DAYS(self) -> int:
        """Days the log keeps a message's text and HTML bodies (``POSTMARK_LOG_BODIES_DAYS``; 0: never store them)."""
        value = getattr(settings, "POSTMARK_LOG_BODIES_DAYS", 0)
        return max(0, int(value or 0))

    @property
    def LOG_RETENTION_DAYS(self) -> int | None:
        """Days of sent messages ``postmark_prune_log`` keeps by default (``POSTMARK_LOG_RETENTION_DAYS``; None: all)."""
        value = getattr(settings, "POSTMARK_LOG_RETENTION_DAYS", 90)
        return None if value in (None, "") else int(value)

    @property
    def ALLOWED_API_HOSTS(self) -> tuple[str, ...]:
        """Hosts the API URL may point at (``POSTMARK_ALLOWED_API_HOSTS``; ``"*"`` allows any)."""
        value = getattr(settings, "POSTMARK_ALLOWED_API_HOSTS", DEFAULT_ALLOWED_API_HOSTS)
        hosts = [value] if isinstance(value, str) else list(value)
        return tuple(str(host).strip().lower().strip("[]") for host in hosts if str(host).strip())

    @property
    def MAX_RETRIES(self) -> int:
        """Retries of a request that certainly sent nothing (429, 503, connect errors) (``POSTMARK_MAX_RETRIES``)."""
        return int(getattr(settings, "POSTMARK_MAX_RETRIES", 3))

    @property
    def RETRY_BACKOFF(self) -> float:
        """Base delay in seconds of the exponential, jittered backoff (``POSTMARK_RETRY_BACKOFF``)."""
        return float(getattr(settings, "POSTMARK_RETRY_BACKOFF", 0.5))

    @property
    def RETRY_MAX_DELAY(self) -> float:
        """Longest wait between two attempts, in seconds (``POSTMARK_RETRY_MAX_DELAY``)."""
        return float(getattr(settings, "POSTMARK_RETRY_MAX_DELAY", 10.0))

    @property
    def MAX_CONCURRENT_REQUESTS(self) -> int:
        """Batch calls one ``send_messages()`` may have in flight at once (``POSTMARK_MAX_CONCURRENT_REQUESTS``)."""
        return max(int(getattr(settings, "POSTMARK_MAX_CONCURRENT_REQUESTS", 4)), 1)

    @property
    def IGNORE_RECIPIENT_STATUS(self) -> bool:
        """Do not raise when Postmark refuses every recipient (``POSTMARK_IGNORE_RECIPIENT_STATUS``,
        or django-anymail's ``ANYMAIL["IGNORE_RECIPIENT_STATUS"]`` / ``ANYMAIL_IGNORE_RECIPIENT_STATUS``).

        The refusal stays on ``message.postmark_status``; other errors are still raised.
        """
        found = _first_set(IGNORE_RECIPIENT_STATUS_PLACES)
        return bool(found and found[1])

    @property
    def SEND_DEFAULTS(self) -> dict[str, Any]:
        """Attributes every message gets unless it sets its own (``POSTMARK_SEND_DEFAULTS``; also
        django-anymail's ``ANYMAIL["SEND_DEFAULTS"]`` under ``ANYMAIL["POSTMARK_SEND_DEFAULTS"]``).

        Keys outside :data:`SEND_DEFAULT_NAMES` are left out here and reported by check E012.
        """
        merged: dict[str, Any] = {}
        for _place, value in send_defaults_sources():
            if isinstance(value, Mapping):
                merged.update(value)
        return {name: merged[name] for name in SEND_DEFAULT_NAMES if merged.get(name) is not None}

    @property
    def TASK_BACKEND(self) -> str:
        """Alias in ``TASKS`` that QueuedPostmarkBackend enqueues on unless given one (``POSTMARK_TASK_BACKEND``)."""
        return str(getattr(settings, "POSTMARK_TASK_BACKEND", "default"))

    @property
    def TASK_QUEUE(self) -> str:
        """Queue name QueuedPostmarkBackend enqueues on unless given one (``POSTMARK_TASK_QUEUE``)."""
        return str(getattr(settings, "POSTMARK_TASK_QUEUE", "default"))

    @property
    def TASK_MAX_ATTEMPTS(self) -> int:
        """Attempts of one queued batch that certainly sent nothing, first included (``POSTMARK_TASK_MAX_ATTEMPTS``)."""
        return max(int(getattr(settings, "POSTMARK_TASK_MAX_ATTEMPTS", 5)), 1)


app_settings = AppSettings()
