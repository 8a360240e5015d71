"""The effective configuration: each value, and where it came from.

Each field is resolved in this order, the first place that has a value wins:

1. arguments given by code (``get_connection(server_token=...)``, ``MAILERS`` OPTIONS);
2. :func:`~postmark_admin.testing.override_postmark_settings`, in tests;
3. the :class:`~postmark_admin.models.PostmarkSettings` row (edited in the admin);
4. settings.py, under our names, then django-anymail's, then django-postmark's;
5. the environment (read with django-environ), under the same names;
6. the default.

Everything is read at call time, so ``override_settings`` and a save in the
admin are seen at once. The row is cached (see :mod:`postmark_admin.settings_cache`).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import environ
from django.conf import settings
from django.utils.functional import empty

from . import settings_cache
from .crypto import Secret
from .exceptions import PostmarkConfigurationError

DEFAULT_API_URL = "https://api.postmarkapp.com/"
DEFAULT_MESSAGE_STREAM = "outbound"
DEFAULT_TIMEOUT = 30.0
DEFAULT_WEBHOOK_MAX_BODY_SIZE = 64 * 1024 * 1024


class Source(enum.StrEnum):
    ARGUMENT = "argument"
    OVERRIDE = "override"
    DATABASE = "database"
    SETTINGS = "settings"
    ENVIRONMENT = "environment"
    DEFAULT = "default"


@dataclass(frozen=True)
class Resolved:
    """One field's effective value, its :class:`Source` and the exact place it was read from."""

    value: Any
    source: Source
    origin: str

    def __repr__(self) -> str:
        shown = "<secret>" if isinstance(self.value, Secret) or _has_secret(self.value) else repr(self.value)
        return f"Resolved({shown}, source={self.source.value!r}, origin={self.origin!r})"


@dataclass(frozen=True)
class WebhookCredential:
    """One accepted username/password pair for the webhook URLs."""

    username: str
    password: Secret

    def __repr__(self) -> str:
        return f"WebhookCredential(username={self.username!r}, password={self.password!r})"


def _has_secret(value: Any) -> bool:
    return isinstance(value, tuple) and any(isinstance(v, WebhookCredential) for v in value)


# -- where each field may come from -------------------------------------------------------------

# A settings.py place is a top-level name, or (dict name, key) for ANYMAIL = {...}.
SettingsPlace = str | tuple[str, str]


@dataclass(frozen=True)
class FieldSpec:
    name: str
    settings_places: tuple[SettingsPlace, ...]
    env_names: tuple[str, ...]
    parse: Callable[[Any], Any]
    parse_env: Callable[[environ.Env, str], Any]
    default: Callable[[], Resolved]


def _str(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _url(value: Any) -> str:
    url = _str(value)
    return url if not url or url.endswith("/") else url + "/"


def _bool(value: Any) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value.strip().lower() in environ.Env.BOOLEAN_TRUE_STRINGS
    return bool(value)


def _float(value: Any) -> float | None:
    if value is None or value == "":
        return None
    return float(value)


def _secret(value: Any) -> Secret:
    if isinstance(value, Secret):
        return value
    return Secret(_str(value))


def parse_authorization(value: Any) -> tuple[WebhookCredential, ...]:
    """``"user:password"``, or a list (or comma-separated string) of them; malformed items are skipped.

    :mod:`postmark_admin.checks` reports the malformed ones (``postmark_admin.E005``).
    """
    if value is None or value == "":
        return ()
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    credentials = []
    for item in items:
        text = _str(item)
        username, sep, password = text.partition(":")
        if sep and password:
            credentials.append(WebhookCredential(username, Secret(password)))
    return tuple(credentials)


def malformed_authorizations(value: Any) -> int:
    """How many items of an authorization setting are not ``user:password``."""
    if value is None or value == "":
        return 0
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        return 1
    return sum(1 for item in items if not (":" in _str(item) and _str(item).partition(":")[2]))


def _env_str(env: environ.Env, name: str) -> Any:
    return env.str(name, default=None)


def _env_list(env: environ.Env, name: str) -> Any:
    return env.list(name, default=None)


def _constant(value: Any) -> Callable[[], Resolved]:
    return lambda: Resolved(value, Source.DEFAULT, "default")


def _default_from_email() -> Resolved:
    return Resolved(settings.DEFAULT_FROM_EMAIL, Source.DEFAULT, "settings.DEFAULT_FROM_EMAIL")


FIELDS: dict[str, FieldSpec] = {
    spec.name: spec
    for spec in (
        FieldSpec(
            "server_token",
            (
                "POSTMARK_SERVER_TOKEN",
                ("ANYMAIL", "POSTMARK_SERVER_TOKEN"),
                "ANYMAIL_POSTMARK_SERVER_TOKEN",
                "POSTMARK_API_KEY",
            ),
            ("POSTMARK_SERVER_TOKEN", "ANYMAIL_POSTMARK_SERVER_TOKEN", "POSTMARK_API_KEY"),
            _secret,
            _env_str,
            _constant(Secret("")),
        ),
        FieldSpec(
            "api_url",
            ("POSTMARK_API_URL", ("ANYMAIL", "POSTMARK_API_URL"), "ANYMAIL_POSTMARK_API_URL"),
            ("POSTMARK_API_URL", "ANYMAIL_POSTMARK_API_URL"),
            _url,
            _env_str,
            _constant(DEFAULT_API_URL),
        ),
        FieldSpec(
            "message_stream",
            ("POSTMARK_MESSAGE_STREAM",),
            ("POSTMARK_MESSAGE_STREAM",),
            _str,
            _env_str,
            _constant(DEFAULT_MESSAGE_STREAM),
        ),
        FieldSpec(
            "webhook_credentials",
            (
                "POSTMARK_WEBHOOK_AUTHORIZATION",
                ("ANYMAIL", "WEBHOOK_SECRET"),
                ("ANYMAIL", "WEBHOOK_AUTHORIZATION"),
                "ANYMAIL_WEBHOOK_SECRET",
                "ANYMAIL_WEBHOOK_AUTHORIZATION",
            ),
            ("POSTMARK_WEBHOOK_AUTHORIZATION", "ANYMAIL_WEBHOOK_SECRET", "ANYMAIL_WEBHOOK_AUTHORIZATION"),
            parse_authorization,
            _env_list,
            _constant(()),
        ),
        FieldSpec(
            "ignore_unsupported_features",
            (
                "POSTMARK_IGNORE_UNSUPPORTED_FEATURES",
                ("ANYMAIL", "IGNORE_UNSUPPORTED_FEATURES"),
                "ANYMAIL_IGNORE_UNSUPPORTED_FEATURES",
            ),
            ("POSTMARK_IGNORE_UNSUPPORTED_FEATURES", "ANYMAIL_IGNORE_UNSUPPORTED_FEATURES"),
            _bool,
            _env_str,
            _constant(False),
        ),
        FieldSpec(
            "default_from_email",
            ("POSTMARK_DEFAULT_FROM_EMAIL",),
            ("POSTMARK_DEFAULT_FROM_EMAIL",),
            _str,
            _env_str,
            _default_from_email,
        ),
        FieldSpec(
            "timeout",
            ("POSTMARK_TIMEOUT",),
            ("POSTMARK_TIMEOUT",),
            _float,
            _env_str,
            _constant(DEFAULT_TIMEOUT),
        ),
    )
}

#: django-postmark's credentials are a pair of settings, not one value.
DJANGO_POSTMARK_WEBHOOK_PAIR = ("POSTMARK_API_USER", "POSTMARK_API_PASSWORD")

_MISSING = object()


def _is_set(value: Any) -> bool:
    return value is not None and value != "" and value != () and not (isinstance(value, Secret) and not value)


def settings_place_name(place: SettingsPlace) -> str:
    return f"settings.{place[0]}[{place[1]!r}]" if isinstance(place, tuple) else f"settings.{place}"


def _read_settings_place(place: SettingsPlace) -> Any:
    if isinstance(place, tuple):
        container = getattr(settings, place[0], None)
        return container.get(place[1], _MISSING) if isinstance(container, Mapping) else _MISSING
    return getattr(settings, place, _MISSING)


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
    row = None if _overrides else settings_cache.current_row()
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


def _resolve_all(arguments: Mapping[str, Any], row: settings_cache.RowSnapshot | None) -> EffectiveConfig:
    if row is None:
        # override_postmark_settings() stands in for the row: tests stay independent of the
        # database's contents and work in SimpleTestCase, which forbids queries.
        merged: dict[str, Any] = {}
        for values in _overrides:
            merged.update(values)
        row = settings_cache.RowSnapshot(values=merged, exists=True)
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


app_settings = AppSettings()
