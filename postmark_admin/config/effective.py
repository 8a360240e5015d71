"""The effective configuration: each value, and where it came from.

Each field is resolved in this order, the first place that has a value wins:

1. arguments given by code (``get_connection(server_token=...)``, ``MAILERS`` OPTIONS);
2. :func:`~postmark_admin.testing.override_postmark_settings`, in tests;
3. the :class:`~postmark_admin.models.PostmarkSettings` row (edited in the admin);
4. settings.py, under our names, then django-anymail's, then django-postmark's;
5. the environment (read with django-environ), under the same names;
6. the default.

Everything is read at call time, so ``override_settings`` and a save in the
admin are seen at once. The row is cached (see ``postmark_admin.config.row_cache``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import environ
from django.conf import settings
from django.utils.translation import gettext

from ..exceptions import PostmarkConfigurationError
from . import row_cache
from .app_settings import DEFAULT_WEBHOOK_MAX_BODY_SIZE, AppSettings, app_settings
from .crypto import Secret
from .fields import (
    DEFAULT_API_URL,
    DEFAULT_MESSAGE_STREAM,
    DEFAULT_TIMEOUT,
    DJANGO_POSTMARK_WEBHOOK_PAIR,
    FIELDS,
    ROW_WEBHOOK_PAIR,
    FieldSpec,
    Resolved,
    SettingsPlace,
    Source,
    WebhookCredential,
    credential_pair,
    is_set,
    malformed_authorizations,
    parse_authorization,
    read_settings_place,
    secret_problem,
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
    "pop_override",
    "push_override",
    "settings_place_name",
]


# -- override_postmark_settings() layers ------------------------------------------------------

_overrides: list[Mapping[str, Any]] = []


def push_override(values: Mapping[str, Any]) -> None:
    """Add a layer of :class:`~postmark_admin.testing.override_postmark_settings` values.

    While any layer is active the settings row is not read: the layers stand in for it, the
    later ones winning field by field.
    """
    _overrides.append(values)


def pop_override(values: Mapping[str, Any]) -> None:
    """Remove the layer ``values`` (the very object given to :func:`push_override`).

    Nested overrides may be closed out of order: each removes its own layer.
    """
    for index in range(len(_overrides) - 1, -1, -1):
        if _overrides[index] is values:
            del _overrides[index]
            return


class _RowLayer(NamedTuple):
    """The configuration fields that the settings row, or the overrides standing in for it, set."""

    source: Source
    #: Where a field's value was read, with ``{name}`` for the row's field name(s).
    origin: str
    values: Mapping[str, Any]


def _row_values(row: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration fields that the row's (or an override's) values set; unset ones are left out."""
    values: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if name in row:
            value = spec.parse(row[name])
            if is_set(value):
                values[name] = value
    credentials = credential_pair(*(row.get(name) for name in ROW_WEBHOOK_PAIR))
    if credentials:
        values["webhook_credentials"] = credentials
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
    #: Send with Postmark's ``POSTMARK_API_TEST`` token: validated, never delivered.
    test_mode: bool
    timeout: float
    sources: Mapping[str, Resolved] = field(repr=False)
    #: Names of database fields whose stored secret could not be decrypted (treated as unset).
    undecryptable: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return (
            f"EffectiveConfig(server_token={self.server_token!r}, api_url={self.api_url!r}, "
            f"message_stream={self.message_stream!r}, webhook_credentials={len(self.webhook_credentials)}, "
            f"ignore_unsupported_features={self.ignore_unsupported_features!r}, "
            f"default_from_email={self.default_from_email!r}, test_mode={self.test_mode!r}, "
            f"timeout={self.timeout!r})"
        )

    def require_server_token(self) -> str:
        """The clear-text token, or :class:`~postmark_admin.exceptions.PostmarkConfigurationError` naming every place looked at
        (or, for a token that cannot go in an HTTP header, where it came from and what is wrong)."""
        if not self.server_token:
            raise PostmarkConfigurationError(missing_server_token_message(self))
        problem = secret_problem("server_token", self.server_token)
        if problem:
            resolved = self.sources.get("server_token")
            origin = resolved.origin if resolved is not None else "the configuration"
            raise PostmarkConfigurationError(
                gettext("The Postmark server token from %(origin)s %(problem)s")
                % {"origin": origin, "problem": problem}
            )
        return self.server_token.reveal()


def missing_server_token_message(config: EffectiveConfig | None = None) -> str:
    """The error for a missing server token: every place looked at, and whether a stored one is unreadable."""
    spec = FIELDS["server_token"]
    places = [
        "the server_token argument (get_connection(server_token=...) or MAILERS OPTIONS)",
        "the Postmark settings row in the admin (PostmarkSettings.server_token)",
        *(settings_place_name(place) for place in spec.settings_places),
        *(f"the environment variable {name}" for name in spec.env_names),
    ]
    message = gettext(
        "No Postmark server token is configured. Looked in: %(places)s. Enter one under “Server API "
        "token” on the admin's Postmark settings page, or set POSTMARK_SERVER_TOKEN in settings.py or "
        "the environment."
    ) % {"places": "; ".join(places)}
    if config is not None and "server_token" in config.undecryptable:
        message += " " + gettext(
            "A server token is stored in the database but cannot be decrypted with SECRET_KEY or "
            "SECRET_KEY_FALLBACKS: enter it again on the admin's Postmark settings page, or add the "
            "previous SECRET_KEY to SECRET_KEY_FALLBACKS."
        )
    return message


def _resolve(
    spec: FieldSpec,
    arguments: Mapping[str, Any],
    row: _RowLayer,
    env: environ.Env,
) -> Resolved:
    """One field, from the first place that sets it (the order is in this module's docstring)."""
    if is_set(arguments.get(spec.name)):
        return Resolved(spec.parse(arguments[spec.name]), Source.ARGUMENT, f"argument {spec.name}")
    if spec.name in row.values:
        name = "/".join(ROW_WEBHOOK_PAIR) if spec.name == "webhook_credentials" else spec.name
        return Resolved(row.values[spec.name], row.source, row.origin.format(name=name))
    for place in spec.settings_places:
        value = spec.parse(read_settings_place(place))
        if is_set(value):
            return Resolved(value, Source.SETTINGS, settings_place_name(place))
    if spec.name == "webhook_credentials":
        username, password = (getattr(settings, name, None) for name in DJANGO_POSTMARK_WEBHOOK_PAIR)
        if username and password:
            return Resolved(
                credential_pair(username, password),
                Source.SETTINGS,
                "settings." + "/".join(DJANGO_POSTMARK_WEBHOOK_PAIR),
            )
    for name in spec.env_names:
        if name in os.environ:
            value = spec.parse(spec.parse_env(env, name))
            if is_set(value):
                return Resolved(value, Source.ENVIRONMENT, f"environment {name}")
    return spec.default()


# -- memo ----------------------------------------------------------------------------------------
# Resolving every field reads ~20 settings.py places and ~10 environment variables, and an absent
# setting costs Django a failed lookup each time. bench/config.py --cache locmem (warm read, CPU per
# call): 220 µs resolving every time, 41 µs with this memo (mostly reading the environment). The
# webhook views call this on every request: bench/webhooks.py's tracking view on PostgreSQL spent
# 1,650 µs CPU per event without the memo and 1,360 µs with it (best rounds; its in-process cost,
# INSERT skipped: 590 against 450 µs).
# The last result is reused while its inputs compare equal: the row's values or the overrides' (the
# very same dict while the row cache's copy is current), the settings object, the environment and
# the arguments.

_ENV_NAMES = tuple(dict.fromkeys(name for spec in FIELDS.values() for name in spec.env_names))
_memo: tuple[tuple[object, ...], EffectiveConfig] | None = None


def _settings_object() -> object:
    """The object behind ``django.conf.settings``.

    override_settings, and pytest-django's ``settings`` fixture even when it deletes a setting (which
    sends no setting_changed signal), put a new one in place; Django offers no public way to tell.
    """
    # django-stubs types settings as the Settings it stands for; it is the LazySettings proxy.
    return settings._wrapped  # type: ignore[misc]


def effective_config(**arguments: Any) -> EffectiveConfig:
    """Resolve every field now. Arguments set to None count as not given.

    Costs no SQL query while the settings row is cached (see ``postmark_admin.config.row_cache``),
    and no resolving while nothing changed since the previous call.
    """
    global _memo
    unknown = set(arguments) - set(FIELDS)
    if unknown:
        raise TypeError(f"effective_config() got unknown fields: {', '.join(sorted(unknown))}")
    if _overrides:
        # override_postmark_settings() stands in for the row: tests stay independent of the
        # database's contents and work in SimpleTestCase, which forbids queries.
        merged: dict[str, Any] = {}
        for layer in _overrides:
            merged.update(layer)
        stored: Mapping[str, Any] = merged
        source, origin = Source.OVERRIDE, "override_postmark_settings({name})"
    else:
        stored = row_cache.current_row()
        source, origin = Source.DATABASE, "database PostmarkSettings.{name}"
    environment = tuple(os.environ.get(name) for name in _ENV_NAMES)
    inputs = (source, stored, _settings_object(), environment, arguments)
    if _memo is not None and _memo[0] == inputs:
        return _memo[1]
    row = _RowLayer(source, origin, _row_values(stored))
    env = environ.Env()
    sources = {name: _resolve(spec, arguments, row, env) for name, spec in FIELDS.items()}
    config = EffectiveConfig(
        **{name: resolved.value for name, resolved in sources.items()},
        sources=sources,
        undecryptable=tuple(
            name for name, value in stored.items() if isinstance(value, Secret) and value.is_undecryptable
        ),
    )
    _memo = (inputs, config)
    return config
