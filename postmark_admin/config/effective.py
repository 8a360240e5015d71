"""The effective configuration: each value, and where it came from.

Each field is resolved in this order, the first place that has a value wins:

1. arguments given by code (``get_connection(server_token=...)``, ``MAILERS`` OPTIONS);
2. :func:`~postmark_admin.testing.override_postmark_settings`, in tests;
3. the :class:`~postmark_admin.models.PostmarkSettings` row (edited in the admin);
4. settings.py, under our names, then django-anymail's, then django-postmark's;
5. the environment (read with django-environ), under the same names;
6. the default.

Everything is read at call time, so ``override_settings`` and a save in the
admin are seen at once. The row is cached (see :mod:`postmark_admin.config.row_cache`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import environ
from django.conf import settings
from django.utils.functional import empty

from ..exceptions import PostmarkConfigurationError
from . import row_cache
from .app_settings import DEFAULT_WEBHOOK_MAX_BODY_SIZE, AppSettings, app_settings
from .crypto import Secret
from .fields import (
    _MISSING,
    DEFAULT_API_URL,
    DEFAULT_MESSAGE_STREAM,
    DEFAULT_TIMEOUT,
    DJANGO_POSTMARK_WEBHOOK_PAIR,
    FIELDS,
    FieldSpec,
    Resolved,
    SettingsPlace,
    Source,
    WebhookCredential,
    _has_secret,
    _is_set,
    _read_settings_place,
    _secret,
    _str,
    malformed_authorizations,
    parse_authorization,
    settings_place_name,
)

__all__ = [
    "DEFAULT_API_URL",
    "DEFAULT_MESSAGE_STREAM",
    "DEFAULT_TIMEOUT",
    "DEFAULT_WEBHOOK_MAX_BODY_SIZE",
    "FIELDS",
    "AppSettings",
    "EffectiveConfig",
    "FieldSpec",
    "Resolved",
    "SettingsPlace",
    "Source",
    "WebhookCredential",
    "app_settings",
    "effective_config",
    "malformed_authorizations",
    "missing_server_token_message",
    "parse_authorization",
    "settings_place_name",
]


# -- the database row and overrides -----------------------------------------------------------

_overrides: list[dict[str, Any]] = []


def _row_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """Map the row's (or an override's) fields onto configuration fields; unset ones are left out."""
    values: dict[str, Any] = {}
    for name in (
        "server_token",
        "api_url",
        "message_stream",
        "ignore_unsupported_features",
        "default_from_email",
        "timeout",
    ):
        if name in row:
            value = FIELDS[name].parse(row[name])
            if _is_set(value):
                values[name] = value
    username = _str(row.get("webhook_username"))
    password = _secret(row.get("webhook_password"))
    if password:
        values["webhook_credentials"] = (WebhookCredential(username, password),)
    return values


# -- the effective configuration --------------------------------------------------------------


@dataclass(frozen=True)
class EffectiveConfig:
    """What the backend and the webhook views use, with where each value came from."""

    server_token: Secret
    api_url: str
    message_stream: str
    webhook_credentials: tuple[WebhookCredential, ...]
    ignore_unsupported_features: bool
    default_from_email: str
    timeout: float
    sources: Mapping[str, Resolved] = field(repr=False)
    #: Names of database fields whose stored secret could not be decrypted (treated as unset).
    undecryptable: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"EffectiveConfig(server_token={self.server_token!r}, api_url={self.api_url!r}, "
            f"message_stream={self.message_stream!r}, webhook_credentials={len(self.webhook_credentials)}, "
            f"ignore_unsupported_features={self.ignore_unsupported_features!r}, "
            f"default_from_email={self.default_from_email!r}, timeout={self.timeout!r})"
        )

    def require_server_token(self) -> str:
        """The clear-text token, or :class:`PostmarkConfigurationError` naming every place looked at."""
        if self.server_token:
            return self.server_token.reveal()
        raise PostmarkConfigurationError(missing_server_token_message(self))


def missing_server_token_message(config: EffectiveConfig | None = None) -> str:
    spec = FIELDS["server_token"]
    places = [
        "the server_token argument (get_connection(server_token=...) or MAILERS OPTIONS)",
        "the Postmark settings row in the admin (PostmarkSettings.server_token)",
        *(settings_place_name(place) for place in spec.settings_places),
        *(f"the environment variable {name}" for name in spec.env_names),
    ]
    message = "No Postmark server token is configured. Looked in: " + "; ".join(places) + "."
    if config is not None and "server_token" in config.undecryptable:
        message += (
            " A server token is stored in the database but cannot be decrypted with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS: enter it again in the admin."
        )
    return message


def _resolve(
    spec: FieldSpec,
    arguments: Mapping[str, Any],
    layers: list[tuple[Source, str, Mapping[str, Any]]],
    env: environ.Env,
) -> Resolved:
    if spec.name in arguments and _is_set(arguments[spec.name]):
        value = arguments[spec.name]
        if spec.name == "webhook_credentials":
            value = value if _has_secret(value) or value == () else parse_authorization(value)
        else:
            value = spec.parse(value)
        return Resolved(value, Source.ARGUMENT, f"argument {spec.name}")
    for source, origin, values in layers:
        if spec.name in values:
            name = "webhook_username/webhook_password" if spec.name == "webhook_credentials" else spec.name
            return Resolved(values[spec.name], source, origin.format(name=name))
    for place in spec.settings_places:
        raw = _read_settings_place(place)
        if raw is not _MISSING:
            value = spec.parse(raw)
            if _is_set(value):
                return Resolved(value, Source.SETTINGS, settings_place_name(place))
    if spec.name == "webhook_credentials":
        user, password = (getattr(settings, name, None) for name in DJANGO_POSTMARK_WEBHOOK_PAIR)
        if user and password:
            return Resolved(
                (WebhookCredential(_str(user), Secret(_str(password))),),
                Source.SETTINGS,
                "settings.POSTMARK_API_USER/POSTMARK_API_PASSWORD",
            )
    for name in spec.env_names:
        if name in os.environ:
            value = spec.parse(spec.parse_env(env, name))
            if _is_set(value):
                return Resolved(value, Source.ENVIRONMENT, f"environment {name}")
    return spec.default()


# -- memo ----------------------------------------------------------------------------------------
# Resolving every field costs ~100 µs; the webhook views and the backend ask on every request. The
# last result is reused while nothing it was made from has changed: the row snapshot (the very same
# object while the settings cache says it is current), the overrides (a generation counter, also
# bumped by Django's setting_changed signal), the relevant settings and environment variables, and
# the arguments.

_generation = 0
_memo: tuple[tuple[Any, ...], EffectiveConfig] | None = None
_ENV_NAMES = tuple(dict.fromkeys(name for spec in FIELDS.values() for name in spec.env_names))


def _bump_generation(**kwargs: Any) -> None:
    global _generation, _memo
    _generation += 1
    _memo = None


_ENV_KEYS = (
    tuple(os.environ.encodekey(name) for name in _ENV_NAMES) if hasattr(os.environ, "encodekey") else ()
)


def _env_fingerprint() -> tuple[Any, ...]:
    # os.environ.get() raises and catches a KeyError for every absent name (~2 µs each). Where
    # CPython keeps the encoded mapping, read it directly: same values, a dict lookup each.
    data = getattr(os.environ, "_data", None)
    if _ENV_KEYS and isinstance(data, dict):
        return tuple(map(data.get, _ENV_KEYS))
    environ_get = os.environ.get
    return tuple(environ_get(name) for name in _ENV_NAMES)


def _settings_holder() -> Any:
    """The object behind ``django.conf.settings``: override_settings (and pytest-django's ``settings``
    fixture, even when it deletes a setting, which sends no signal) put a new one in place."""
    settings._setup() if settings._wrapped is empty else None
    return settings._wrapped


def effective_config(**arguments: Any) -> EffectiveConfig:
    """Resolve every field now. Arguments set to None count as not given.

    Costs no SQL query while the settings row is cached, and a few microseconds when nothing
    changed since the previous call.
    """
    global _memo
    unknown = set(arguments) - set(FIELDS)
    if unknown:
        raise TypeError(f"effective_config() got unknown fields: {', '.join(sorted(unknown))}")
    row = None if _overrides else row_cache.current_row()
    holder = _settings_holder()
    key = (row, holder, _generation, _env_fingerprint(), sorted(arguments.items()))
    memo = _memo
    # The row and the settings holder are compared by identity (the memo keeps them alive, so an
    # id cannot be reused); the rest by value.
    if memo is not None and memo[0][0] is row and memo[0][1] is holder and memo[0][2:] == key[2:]:
        return memo[1]
    config = _resolve_all(arguments, row)
    _memo = (key, config)
    return config


def _resolve_all(arguments: Mapping[str, Any], row: row_cache.RowSnapshot | None) -> EffectiveConfig:
    if row is None:
        # override_postmark_settings() stands in for the row: tests stay independent of the
        # database's contents and work in SimpleTestCase, which forbids queries.
        merged: dict[str, Any] = {}
        for values in _overrides:
            merged.update(values)
        row = row_cache.RowSnapshot(values=merged, exists=True)
        layers = [(Source.OVERRIDE, "override_postmark_settings({name})", _row_values(merged))]
    else:
        layers = [(Source.DATABASE, "database PostmarkSettings.{name}", _row_values(row.values))]
    env = environ.Env()
    sources = {name: _resolve(spec, arguments, layers, env) for name, spec in FIELDS.items()}
    undecryptable = tuple(
        name
        for name in ("server_token", "webhook_password")
        if isinstance(row.get(name), Secret) and row.get(name).is_undecryptable
    )
    return EffectiveConfig(
        **{name: resolved.value for name, resolved in sources.items()},
        sources=sources,
        undecryptable=undecryptable,
    )
