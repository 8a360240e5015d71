"""System checks, with stable ids.

Checks of values that may live in the database (the token, the webhook
credentials, stored secrets) are deploy checks (``manage.py check --deploy``):
a fresh install has no token until an admin enters one, and an error in the
ordinary checks would stop ``migrate`` and ``runserver`` before the admin can.

=====================  ============================================================
``postmark_admin.E001``  no server token in the database, settings.py or the environment (deploy)
``postmark_admin.E002``  webhook URLs are routed but no credentials are configured (deploy)
``postmark_admin.E003``  a secret stored in the database cannot be decrypted (deploy)
``postmark_admin.E004``  the API URL in settings.py or the environment is not an http(s) URL
``postmark_admin.E005``  a webhook authorization setting is not ``"user:password"`` (or a list of them)
``postmark_admin.E006``  the timeout in settings.py or the environment is not a positive number
``postmark_admin.E007``  ``POSTMARK_CACHE`` names a cache that is not in ``CACHES``
``postmark_admin.E008``  the settings row cannot be read from the database (deploy)
``postmark_admin.E009``  a server token or webhook credential in settings.py or the environment holds a
                         character that cannot go in an HTTP header (a zero-width space, ``€``, CR, LF...)
``postmark_admin.E012``  a send-defaults setting (``POSTMARK_SEND_DEFAULTS``, anymail's ``SEND_DEFAULTS``) is
                         not a dict, or has a key that is not a message attribute send defaults may set
``postmark_admin.W001``  the settings cache is local to each process (changes reach others within ~1 s)
=====================  ============================================================
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.apps import AppConfig
from django.conf import settings
from django.core.cache import caches
from django.core.checks import CheckMessage, Error, Tags, Warning, register
from django.urls import NoReverseMatch, reverse

from .config import row_cache
from .config.app_settings import SEND_DEFAULT_NAMES, app_settings, send_defaults_sources
from .config.effective import effective_config, missing_server_token_message
from .config.fields import (
    DJANGO_POSTMARK_WEBHOOK_PAIR,
    FIELDS,
    malformed_authorizations,
    parse_authorization,
    read_settings_place,
    secret_problem,
    settings_place_name,
)
from .exceptions import PostmarkSettingsUnavailable

WEBHOOK_URL_NAMES = ("postmark_admin:tracking", "postmark_admin:inbound")


def _configured_places(name: str) -> list[tuple[str, Any]]:
    """(place, raw value) for every settings.py and environment place that sets ``name``."""
    spec = FIELDS[name]
    found = []
    for place in spec.settings_places:
        value = read_settings_place(place)
        if value not in (None, ""):
            found.append((settings_place_name(place), value))
    for env_name in spec.env_names:
        if os.environ.get(env_name):
            found.append((f"environment {env_name}", os.environ[env_name]))
    return found


@register("postmark_admin")
def check_settings_values(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Malformed values in settings.py and the environment (the admin form validates the row)."""
    errors: list[CheckMessage] = []
    for place, value in _configured_places("api_url"):
        parts = urlsplit(str(value))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            errors.append(
                Error(
                    f"{place} must be an http:// or https:// URL.",
                    hint="Use https://api.postmarkapp.com/ (the default) or the sandbox's URL.",
                    id="postmark_admin.E004",
                )
            )
    for place, value in _configured_places("webhook_credentials"):
        if malformed_authorizations(value):
            errors.append(
                Error(
                    f"{place} must be 'username:password', or a list of them (comma-separated in the environment).",
                    hint="Neither part may be empty, and the username cannot contain ':'.",
                    id="postmark_admin.E005",
                )
            )
    errors += _unsendable_secrets()
    for place, value in _configured_places("timeout"):
        try:
            ok = float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            errors.append(Error(f"{place} must be a positive number of seconds.", id="postmark_admin.E006"))
    errors += _send_defaults_problems()
    return errors


def _send_defaults_problems() -> list[CheckMessage]:
    """E012: send defaults that are not a dict of the attributes they may set."""
    errors: list[CheckMessage] = []
    allowed = ", ".join(SEND_DEFAULT_NAMES)
    for place, value in send_defaults_sources():
        if not isinstance(value, Mapping):
            errors.append(
                Error(f"{place} must be a dict.", hint=f"Keys: {allowed}.", id="postmark_admin.E012")
            )
            continue
        unknown = sorted(str(key) for key in value if key not in SEND_DEFAULT_NAMES)
        if unknown:
            errors.append(
                Error(
                    f"{place} has keys that send defaults cannot set: {', '.join(unknown)}.",
                    hint=f"Keys: {allowed}.",
                    id="postmark_admin.E012",
                )
            )
    return errors


def _unsendable_secrets() -> list[CheckMessage]:
    """E009: secrets in settings.py or the environment that cannot go in an HTTP header."""
    found: list[tuple[str, str | None]] = [
        (f"{place} (the server token)", secret_problem("server_token", value))
        for place, value in _configured_places("server_token")
    ]
    for place, value in _configured_places("webhook_credentials"):
        if not isinstance(value, str | list | tuple):
            continue  # E005 reports it
        for credential in parse_authorization(value):
            found.append((place, secret_problem("webhook_username", credential.username)))
            found.append((place, secret_problem("webhook_password", credential.password)))
    for name in DJANGO_POSTMARK_WEBHOOK_PAIR:
        value = getattr(settings, name, None)
        if value:
            found.append((f"settings.{name}", secret_problem(name, value)))
    return [
        Error(
            f"{place} {problem}",
            hint="A zero-width space or a line break often comes along when a value is pasted.",
            id="postmark_admin.E009",
        )
        for place, problem in found
        if problem
    ]


@register("postmark_admin", Tags.caches)
def check_cache(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The settings row's cache: ``POSTMARK_CACHE`` names a configured cache, shared by the processes."""
    alias = app_settings.CACHE
    if alias not in settings.CACHES:
        return [
            Error(
                f"POSTMARK_CACHE names the cache {alias!r}, which is not in CACHES.",
                id="postmark_admin.E007",
            )
        ]
    if row_cache.is_shared(caches[alias]):
        return []
    return [
        Warning(
            f"The cache {alias!r} is local to each process, so a change saved in the admin reaches other "
            f"worker processes only after up to {row_cache.LOCAL_TTL:g} second(s), at the cost of a "
            "query per second per process.",
            hint="Point POSTMARK_CACHE (or the default cache) at Redis, Memcached or the database cache.",
            id="postmark_admin.W001",
        )
    ]


def _webhooks_routed() -> bool:
    for name in WEBHOOK_URL_NAMES:
        try:
            reverse(name)
            return True
        except NoReverseMatch:
            continue
    return False


@register("postmark_admin", deploy=True)
def check_deploy(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """Checks that read the settings row, for ``manage.py check --deploy``."""
    try:
        config = effective_config()
    except PostmarkSettingsUnavailable as error:
        return [
            Error(
                str(error),
                hint="Check that the database answers; the other Postmark checks need the settings row.",
                id="postmark_admin.E008",
            )
        ]
    errors: list[CheckMessage] = []
    if not config.server_token:
        errors.append(
            Error(
                missing_server_token_message(config),
                hint="Enter the token in the admin's Postmark settings, or set POSTMARK_SERVER_TOKEN.",
                id="postmark_admin.E001",
            )
        )
    allow_anonymous = app_settings.WEBHOOK_ALLOW_UNAUTHENTICATED
    if not config.webhook_credentials and not allow_anonymous and _webhooks_routed():
        errors.append(
            Error(
                "Postmark's webhook URLs are routed but no webhook credentials are configured, so every "
                "webhook is refused.",
                hint="Set a webhook username and password in the admin, or POSTMARK_WEBHOOK_AUTHORIZATION = "
                "'user:password'; or set POSTMARK_WEBHOOK_ALLOW_UNAUTHENTICATED = True (not recommended).",
                id="postmark_admin.E002",
            )
        )
    for name in config.undecryptable:
        errors.append(
            Error(
                f"The {name} stored in the Postmark settings cannot be decrypted with SECRET_KEY or "
                "SECRET_KEY_FALLBACKS; it is treated as unset.",
                hint="Add the previous key to SECRET_KEY_FALLBACKS, or enter the value again in the admin.",
                id="postmark_admin.E003",
            )
        )
    return errors
