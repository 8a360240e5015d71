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
``postmark_admin.E010``  the settings cache's backend, or the client library it needs (``redis``...), cannot
                         be imported
``postmark_admin.E011``  the settings cache does not answer (deploy)
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

from .config import cache_health, row_cache
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
                    f"{place} is {str(value)!r}, which is not an http:// or https:// URL.",
                    hint="Change it to https://api.postmarkapp.com/ (or remove it: that is the default), or "
                    "to the sandbox's URL when testing.",
                    id="postmark_admin.E004",
                )
            )
    for place, value in _configured_places("webhook_credentials"):
        if malformed_authorizations(value):
            errors.append(
                Error(
                    f"{place} must be 'username:password', or a list of them (comma-separated in the environment).",
                    hint="Change it where it is set: neither part may be empty, and the username cannot "
                    "contain ':'.",
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
            errors.append(
                Error(
                    f"{place} is {str(value)!r}, which is not a positive number of seconds.",
                    hint="Change it to a number of seconds, such as 10, or remove it for the default of 30.",
                    id="postmark_admin.E006",
                )
            )
    errors += _send_defaults_problems()
    return errors


def _send_defaults_problems() -> list[CheckMessage]:
    """E012: send defaults that are not a dict of the attributes they may set."""
    errors: list[CheckMessage] = []
    allowed = ", ".join(SEND_DEFAULT_NAMES)
    for place, value in send_defaults_sources():
        if not isinstance(value, Mapping):
            errors.append(
                Error(
                    f"{place} is not a dict.",
                    hint=f"Make it a dict whose keys are among: {allowed}.",
                    id="postmark_admin.E012",
                )
            )
            continue
        unknown = sorted(str(key) for key in value if key not in SEND_DEFAULT_NAMES)
        if unknown:
            errors.append(
                Error(
                    f"{place} has keys that send defaults cannot set: {', '.join(unknown)}.",
                    hint=f"Remove them or correct their spelling where {place} is set; allowed keys: {allowed}.",
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
            hint="Type the value again where it is set. A zero-width space or a line break often comes "
            "along when a value is pasted.",
            id="postmark_admin.E009",
        )
        for place, problem in found
        if problem
    ]


@register("postmark_admin", Tags.caches)
def check_cache(app_configs: Sequence[AppConfig] | None = None, **kwargs: Any) -> list[CheckMessage]:
    """The cache that holds the settings row: configured, importable, shared between processes (no network)."""
    alias = app_settings.CACHE
    if alias not in settings.CACHES:
        return [
            Error(
                f"POSTMARK_CACHE names the cache {alias!r}, which is not in CACHES.",
                hint=f"Add a {alias!r} entry to CACHES in settings.py, or set POSTMARK_CACHE to one of: "
                f"{', '.join(repr(name) for name in settings.CACHES)}.",
                id="postmark_admin.E007",
            )
        ]
    problem = cache_health.cache_load_problem()
    if problem is not None:
        return [_cache_load_error(alias, problem)]
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


def _cache_load_error(alias: str, problem: cache_health.CacheProblem) -> CheckMessage:
    """E010: the cache's backend class, or the client library it imports, is missing."""
    if problem.kind == "library":
        extra = (
            ' pip install "django-postmark-admin[redis]" installs it.' if problem.library == "redis" else ""
        )
        return Error(
            f"The cache {alias!r} (CACHES[{alias!r}]) uses {problem.backend}, which needs the "
            f"{problem.library} package, and it cannot be imported ({problem.error}).",
            hint=f"Install the {problem.library} package in this environment (pip install {problem.library})."
            f"{extra} Until then the Postmark settings are read from the database.",
            id="postmark_admin.E010",
        )
    return Error(
        f"The cache {alias!r} (CACHES[{alias!r}]) cannot be loaded: {problem.error}",
        hint=f"Fix CACHES[{alias!r}]['BACKEND'] in settings.py, or install the package it names.",
        id="postmark_admin.E010",
    )


def _cache_answer_error(alias: str, problem: cache_health.CacheProblem) -> CheckMessage:
    """E011: the cache does not answer (a server down, a wrong LOCATION, the cache table not created)."""
    if problem.backend == "django.core.cache.backends.db.DatabaseCache":
        where = "Run manage.py createcachetable, and check that the database answers."
    else:
        where = f"Start the cache server, or fix CACHES[{alias!r}]['LOCATION'] in settings.py."
    return Error(
        f"The cache {alias!r} (CACHES[{alias!r}], used by POSTMARK_CACHE) does not answer: {problem.error}",
        hint=f"{where} Until it answers, each process reads the Postmark settings from the database "
        f"instead, at most every {row_cache.LOCAL_TTL:g} second(s).",
        id="postmark_admin.E011",
    )


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
    errors: list[CheckMessage] = []
    alias = app_settings.CACHE
    if alias in settings.CACHES and cache_health.cache_load_problem() is None:  # else E007 or E010
        problem = cache_health.cache_answer_problem()
        if problem is not None:
            errors.append(_cache_answer_error(alias, problem))
    try:
        config = effective_config()
    except PostmarkSettingsUnavailable as error:
        return [
            *errors,
            Error(
                str(error),
                hint=f"Check that the database server runs and that DATABASES[{error.database!r}] in "
                "settings.py points at it; the other Postmark deploy checks need the settings row.",
                id="postmark_admin.E008",
            ),
        ]
    if not config.server_token:
        errors.append(
            Error(
                missing_server_token_message(config),
                hint="Enter it under Server API token on the admin's Postmark settings page, or set "
                "POSTMARK_SERVER_TOKEN in settings.py or the environment.",
                id="postmark_admin.E001",
            )
        )
    allow_anonymous = app_settings.WEBHOOK_ALLOW_UNAUTHENTICATED
    if not config.webhook_credentials and not allow_anonymous and _webhooks_routed():
        errors.append(
            Error(
                "Postmark's webhook URLs are routed but no webhook credentials are configured, so every "
                "webhook is refused.",
                hint="Enter them under Webhook username and Webhook password on the admin's Postmark settings "
                "page, or set POSTMARK_WEBHOOK_AUTHORIZATION = 'user:password' in settings.py; or set "
                "POSTMARK_WEBHOOK_ALLOW_UNAUTHENTICATED = True (not recommended).",
                id="postmark_admin.E002",
            )
        )
    for name in config.undecryptable:
        errors.append(
            Error(
                f"The {_row_field_label(name)} stored in the Postmark settings cannot be decrypted with "
                "SECRET_KEY or SECRET_KEY_FALLBACKS; it is treated as unset.",
                hint="Add the previous SECRET_KEY to SECRET_KEY_FALLBACKS in settings.py, or enter the value "
                "again on the admin's Postmark settings page.",
                id="postmark_admin.E003",
            )
        )
    return errors


def _row_field_label(name: str) -> str:
    """A settings row field as the admin's form labels it ("server API token")."""
    from .models import PostmarkSettings

    field = PostmarkSettings._meta.get_field(name)
    return str(getattr(field, "verbose_name", name))
