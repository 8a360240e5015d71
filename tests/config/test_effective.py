"""The effective configuration: precedence field by field, sources, and the missing-token error."""

from __future__ import annotations

import pytest
from django.test import override_settings

from postmark_admin.config.crypto import Secret
from postmark_admin.config.effective import DEFAULT_API_URL, Source, effective_config
from postmark_admin.exceptions import PostmarkConfigurationError
from postmark_admin.models import PostmarkSettings
from postmark_admin.testing import override_postmark_settings

pytestmark = pytest.mark.django_db

# field -> (database value, settings.py name and value, environment name and value, default)
PRECEDENCE = [
    (
        "server_token",
        "db-token",
        ("POSTMARK_SERVER_TOKEN", "settings-token"),
        ("POSTMARK_SERVER_TOKEN", "env-token"),
        "",
    ),
    (
        "api_url",
        "http://db.example/",
        ("POSTMARK_API_URL", "http://settings.example/"),
        ("POSTMARK_API_URL", "http://env.example/"),
        DEFAULT_API_URL,
    ),
    (
        "message_stream",
        "db-stream",
        ("POSTMARK_MESSAGE_STREAM", "settings-stream"),
        ("POSTMARK_MESSAGE_STREAM", "env-stream"),
        "outbound",
    ),
    (
        "ignore_unsupported_features",
        True,
        ("POSTMARK_IGNORE_UNSUPPORTED_FEATURES", False),
        ("POSTMARK_IGNORE_UNSUPPORTED_FEATURES", "yes"),
        False,
    ),
    (
        "default_from_email",
        "db@example.com",
        ("POSTMARK_DEFAULT_FROM_EMAIL", "settings@example.com"),
        ("POSTMARK_DEFAULT_FROM_EMAIL", "env@example.com"),
        "Tests <tests@example.com>",
    ),
    ("test_mode", True, ("POSTMARK_TEST_MODE", False), ("POSTMARK_TEST_MODE", "true"), False),
    ("timeout", 5.0, ("POSTMARK_TIMEOUT", 7.5), ("POSTMARK_TIMEOUT", "9"), 30.0),
]


def _plain(value):
    return value.reveal() if isinstance(value, Secret) else value


@pytest.mark.parametrize(
    ("field", "db_value", "setting", "env", "default"), PRECEDENCE, ids=[row[0] for row in PRECEDENCE]
)
def test_precedence(field, db_value, setting, env, default, clean_postmark_env, settings):
    monkeypatch = clean_postmark_env
    # Nothing anywhere: the default.
    resolved = effective_config().sources[field]
    assert (_plain(resolved.value), resolved.source) == (default, Source.DEFAULT)

    monkeypatch.setenv(env[0], env[1])
    resolved = effective_config().sources[field]
    assert resolved.source == Source.ENVIRONMENT
    assert resolved.origin == f"environment {env[0]}"
    env_value = _plain(resolved.value)

    setattr(settings, setting[0], setting[1])
    resolved = effective_config().sources[field]
    assert (_plain(resolved.value), resolved.source) == (setting[1], Source.SETTINGS)
    assert resolved.origin == f"settings.{setting[0]}"

    PostmarkSettings.objects.create(**{field: db_value})
    resolved = effective_config().sources[field]
    assert (_plain(resolved.value), resolved.source) == (db_value, Source.DATABASE)

    with override_postmark_settings(**{field: env_value}):
        resolved = effective_config().sources[field]
        assert (_plain(resolved.value), resolved.source) == (env_value, Source.OVERRIDE)

        # Arguments from code beat everything.
        resolved = effective_config(**{field: setting[1]}).sources[field]
        assert (_plain(resolved.value), resolved.source) == (setting[1], Source.ARGUMENT)


def test_environment_values_are_parsed(clean_postmark_env):
    clean_postmark_env.setenv("POSTMARK_IGNORE_UNSUPPORTED_FEATURES", "on")
    clean_postmark_env.setenv("POSTMARK_TIMEOUT", "2.5")
    clean_postmark_env.setenv("POSTMARK_API_URL", "http://127.0.0.1:9/no-slash")
    config = effective_config()
    assert config.ignore_unsupported_features is True
    assert config.timeout == 2.5
    assert config.api_url == "http://127.0.0.1:9/no-slash/"


def test_database_false_beats_settings_true(clean_postmark_env, settings):
    settings.POSTMARK_IGNORE_UNSUPPORTED_FEATURES = True
    PostmarkSettings.objects.create(ignore_unsupported_features=False)
    assert effective_config().ignore_unsupported_features is False
    PostmarkSettings.objects.update(ignore_unsupported_features=None)
    # update() bypasses signals: the cache is cleared by hand, as the docs say to do after raw edits.
    from postmark_admin.config import row_cache as settings_cache

    settings_cache.clear()
    assert effective_config().ignore_unsupported_features is True


def test_empty_database_fields_fall_back(clean_postmark_env, settings):
    settings.POSTMARK_SERVER_TOKEN = "from-settings"
    PostmarkSettings.objects.create(server_token="", api_url="", message_stream="")
    config = effective_config()
    assert config.server_token.reveal() == "from-settings"
    assert config.sources["api_url"].source == Source.DEFAULT


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ANYMAIL", {"POSTMARK_SERVER_TOKEN": "anymail-dict"}),
        ("ANYMAIL_POSTMARK_SERVER_TOKEN", "anymail-prefixed"),
        ("POSTMARK_API_KEY", "django-postmark"),
    ],
)
def test_server_token_migration_names(setting, value, settings, clean_postmark_env):
    setattr(settings, setting, value)
    expected = value["POSTMARK_SERVER_TOKEN"] if isinstance(value, dict) else value
    config = effective_config()
    assert config.require_server_token() == expected
    assert config.sources["server_token"].source == Source.SETTINGS


def test_our_name_wins_over_anymail_and_django_postmark(settings, clean_postmark_env):
    settings.POSTMARK_API_KEY = "django-postmark"
    settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": "anymail"}
    settings.POSTMARK_SERVER_TOKEN = "ours"
    assert effective_config().require_server_token() == "ours"
    del settings.POSTMARK_SERVER_TOKEN
    assert effective_config().require_server_token() == "anymail"


@pytest.mark.parametrize(
    ("setting", "value", "expected"),
    [
        ("POSTMARK_WEBHOOK_AUTHORIZATION", "user:pass", [("user", "pass")]),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", ["old:one", "new:two"], [("old", "one"), ("new", "two")]),
        ("ANYMAIL", {"WEBHOOK_SECRET": "a:b"}, [("a", "b")]),
        ("ANYMAIL", {"WEBHOOK_AUTHORIZATION": "c:d"}, [("c", "d")]),
        ("ANYMAIL_WEBHOOK_SECRET", ["e:f"], [("e", "f")]),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", ["ok:fine", "broken", ":"], [("ok", "fine")]),
    ],
)
def test_webhook_credentials_from_settings(setting, value, expected, settings, clean_postmark_env):
    setattr(settings, setting, value)
    creds = effective_config().webhook_credentials
    assert [(c.username, c.password.reveal()) for c in creds] == expected


def test_webhook_credentials_django_postmark_pair(settings, clean_postmark_env):
    settings.POSTMARK_API_USER = "dp-user"
    settings.POSTMARK_API_PASSWORD = "dp-pass"
    resolved = effective_config().sources["webhook_credentials"]
    assert [(c.username, c.password.reveal()) for c in resolved.value] == [("dp-user", "dp-pass")]
    assert resolved.origin == "settings.POSTMARK_API_USER/POSTMARK_API_PASSWORD"


def test_webhook_credentials_environment_list(clean_postmark_env):
    clean_postmark_env.setenv("POSTMARK_WEBHOOK_AUTHORIZATION", "one:1,two:2")
    creds = effective_config().webhook_credentials
    assert [(c.username, c.password.reveal()) for c in creds] == [("one", "1"), ("two", "2")]


def test_webhook_credentials_database_beats_settings(settings, clean_postmark_env):
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "settings:pw"
    PostmarkSettings.objects.create(webhook_username="db", webhook_password="db-pw")
    resolved = effective_config().sources["webhook_credentials"]
    assert resolved.source == Source.DATABASE
    assert [(c.username, c.password.reveal()) for c in resolved.value] == [("db", "db-pw")]


def test_missing_token_error_names_every_place(clean_postmark_env):
    with pytest.raises(PostmarkConfigurationError) as excinfo:
        effective_config().require_server_token()
    message = str(excinfo.value)
    for place in (
        "server_token argument",
        "PostmarkSettings.server_token",
        "settings.POSTMARK_SERVER_TOKEN",
        "settings.ANYMAIL['POSTMARK_SERVER_TOKEN']",
        "settings.ANYMAIL_POSTMARK_SERVER_TOKEN",
        "settings.POSTMARK_API_KEY",
        "environment variable POSTMARK_SERVER_TOKEN",
        "environment variable ANYMAIL_POSTMARK_SERVER_TOKEN",
        "environment variable POSTMARK_API_KEY",
    ):
        assert place in message


def test_unknown_argument_is_refused():
    with pytest.raises(TypeError, match="bogus"):
        effective_config(bogus=1)


def test_repr_hides_secrets(settings, clean_postmark_env):
    settings.POSTMARK_SERVER_TOKEN = "super-secret-token-value"
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "hook:super-secret-password"
    config = effective_config()
    text = repr(config) + repr(config.sources) + str(config.sources) + repr(config.webhook_credentials)
    assert "super-secret" not in text


@override_settings(POSTMARK_SERVER_TOKEN="from-override-settings")
def test_override_settings_is_seen_live(clean_postmark_env):
    assert effective_config().require_server_token() == "from-override-settings"


def test_repeated_reads_reuse_the_result_until_an_input_changes(clean_postmark_env, settings):
    """The memo: the same object while nothing changed, a new one as soon as anything did."""
    first = effective_config()
    assert effective_config() is first
    clean_postmark_env.setenv("POSTMARK_MESSAGE_STREAM", "from-env")
    assert effective_config().message_stream == "from-env"
    settings.POSTMARK_MESSAGE_STREAM = "from-settings"
    assert effective_config().message_stream == "from-settings"
    with override_postmark_settings(message_stream="from-override"):
        assert effective_config().message_stream == "from-override"
    assert effective_config().message_stream == "from-settings"
    assert effective_config(message_stream="argument").message_stream == "argument"
    assert effective_config().message_stream == "from-settings"
    PostmarkSettings.objects.create(message_stream="from-db")
    assert effective_config().message_stream == "from-db"
