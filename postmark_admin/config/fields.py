"""Where each configuration field may come from: its settings.py and environment names, how a raw
value is parsed, and its default. Pure data and parsing; :mod:`postmark_admin.config.effective` does the resolving.
"""

from __future__ import annotations

import enum
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import environ
from django.conf import settings
from django.utils.translation import gettext

from .crypto import Secret

DEFAULT_API_URL = "https://api.postmarkapp.com/"
DEFAULT_MESSAGE_STREAM = "outbound"
DEFAULT_TIMEOUT = 30.0


class Source(enum.StrEnum):
    """Where a field's effective value came from, in the order they are looked at."""

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


# -- values that travel in an HTTP header -----------------------------------------------------------


def header_value_problem(value: str, *, allow_space: bool = False) -> str | None:
    """Why ``value`` cannot travel in an HTTP header (a server token, a webhook credential), or None.

    Only printable ASCII can: a zero-width space pasted along with a token, ``€``, a CR or LF would
    make the request fail (or, for a webhook credential, never match what Postmark sends). The
    sentence names the first offending character and its position, never the value itself.
    """
    for position, char in enumerate(value, start=1):
        if "!" <= char <= "~" or (allow_space and char == " "):
            continue
        code = f"U+{ord(char):04X}"
        name = unicodedata.name(char, "")
        named = f"{code} {name}" if name else code
        category = unicodedata.category(char)
        # Translators: each of these follows a subject ("This value", "The Postmark server token from
        # settings.POSTMARK") and is a whole predicate, so that it can be translated as one.
        if char == " ":
            problem = gettext(
                "contains a space at position %(position)d, which cannot be sent in an HTTP header: "
                "only ASCII letters, digits and punctuation can. Type or paste the value again without it."
            )
        elif category in ("Cc", "Cs", "Co", "Cn"):
            problem = gettext(
                "contains a control character (%(character)s) at position %(position)d, which cannot be "
                "sent in an HTTP header: only ASCII letters, digits and punctuation can. Type or paste "
                "the value again without it."
            )
        elif category in ("Cf", "Zs", "Zl", "Zp", "Mn") or char.isspace():
            problem = gettext(
                "contains an invisible character (%(character)s) at position %(position)d, which cannot "
                "be sent in an HTTP header: only ASCII letters, digits and punctuation can. Type or "
                "paste the value again without it."
            )
        else:
            problem = gettext(
                "contains the character '%(char)s' (%(character)s) at position %(position)d, which "
                "cannot be sent in an HTTP header: only ASCII letters, digits and punctuation can. "
                "Type or paste the value again without it."
            )
        return problem % {"char": char, "character": named, "position": position}
    return None


def secret_problem(name: str, value: Any) -> str | None:
    """:func:`header_value_problem` for a configuration secret (``server_token``, a webhook username or password)."""
    text = value.reveal() if isinstance(value, Secret) else _str(value)
    return header_value_problem(text, allow_space=name != "server_token")


# -- where each field may come from -------------------------------------------------------------

# A settings.py place is a top-level name, or (dict name, key) for ANYMAIL = {...}.
SettingsPlace = str | tuple[str, str]


@dataclass(frozen=True)
class FieldSpec:
    """One configuration field: its settings.py places and environment names (looked at in this
    order), how a raw value is parsed, how the environment is read, and its default."""

    name: str
    settings_places: tuple[SettingsPlace, ...]
    env_names: tuple[str, ...]
    parse: Callable[[Any], Any]
    parse_env: Callable[[environ.Env, str], str | list[str] | None]
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

    Items that already are :class:`WebhookCredential` are kept as they are.
    :mod:`postmark_admin.checks` reports the malformed ones (``postmark_admin.E005``).
    """
    if value is None or value == "":
        return ()
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    credentials = []
    for item in items:
        if isinstance(item, WebhookCredential):
            credentials.append(item)
            continue
        username, sep, password = _str(item).partition(":")
        if sep and password:
            credentials.append(WebhookCredential(username, Secret(password)))
    return tuple(credentials)


def credential_pair(username: Any, password: Any) -> tuple[WebhookCredential, ...]:
    """The credential made of a separate username and password (the settings row's two fields,
    django-postmark's two settings); none without a password."""
    secret = _secret(password)
    return (WebhookCredential(_str(username), secret),) if secret else ()


def malformed_authorizations(value: Any) -> int:
    """How many items of an authorization setting are not ``user:password``."""
    if value is None or value == "":
        return 0
    items = value.split(",") if isinstance(value, str) else value
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        return 1
    return sum(1 for item in items if not (":" in _str(item) and _str(item).partition(":")[2]))


def _env_str(env: environ.Env, name: str) -> str | None:
    value: str | None = env.str(name, default=None)
    return value


def _env_list(env: environ.Env, name: str) -> list[str] | None:
    value: list[str] | None = env.list(name, default=None)
    return value


def _constant(value: object) -> Callable[[], Resolved]:
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
            # django-postmark's POSTMARK_TEST_MODE, postmarker's POSTMARK = {"TEST_MODE": True}.
            "test_mode",
            ("POSTMARK_TEST_MODE", ("POSTMARK", "TEST_MODE")),
            ("POSTMARK_TEST_MODE",),
            _bool,
            _env_str,
            _constant(False),
        ),
        FieldSpec(
            "timeout",
            # Django's own EMAIL_TIMEOUT after ours, as the SMTP backend reads it (Django 5.2, and 6.1
            # without MAILERS; beside MAILERS Django refuses it and OPTIONS "timeout" takes its place).
            ("POSTMARK_TIMEOUT", "EMAIL_TIMEOUT"),
            ("POSTMARK_TIMEOUT",),
            _float,
            _env_str,
            _constant(DEFAULT_TIMEOUT),
        ),
    )
}

#: The settings row keeps the webhook credential in two fields, not one.
ROW_WEBHOOK_PAIR = ("webhook_username", "webhook_password")
#: django-postmark's credentials are a pair of settings, not one value.
DJANGO_POSTMARK_WEBHOOK_PAIR = ("POSTMARK_API_USER", "POSTMARK_API_PASSWORD")


def is_set(value: Any) -> bool:
    """Whether a parsed value counts as given: None, ``""``, ``()`` and an empty Secret do not."""
    if isinstance(value, Secret):
        return bool(value)
    return value is not None and value != "" and value != ()


def settings_place_name(place: SettingsPlace) -> str:
    """How messages name a settings.py place: ``settings.NAME`` or ``settings.DICT['KEY']``."""
    return f"settings.{place[0]}[{place[1]!r}]" if isinstance(place, tuple) else f"settings.{place}"


#: Django's own settings among the places: read only when settings.py sets them. Django 6.1 warns on
#: every first read of these deprecated names (and hides them when MAILERS is set), and their global
#: defaults mean "not set" anyway.
DJANGO_EMAIL_SETTINGS = frozenset({"EMAIL_TIMEOUT"})


def read_settings_place(place: SettingsPlace) -> Any:
    """The raw value settings.py holds at ``place``, read now; None where it holds none."""
    if isinstance(place, tuple):
        container = getattr(settings, place[0], None)
        return container.get(place[1]) if isinstance(container, Mapping) else None
    # django-stubs lacks is_overridden(), which both Settings and UserSettingsHolder (override_settings) have.
    if place in DJANGO_EMAIL_SETTINGS and not settings.is_overridden(place):  # type: ignore[misc]
        return None
    return getattr(settings, place, None)
