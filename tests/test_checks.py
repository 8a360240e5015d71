"""System checks, pinned by id."""

from __future__ import annotations

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from postmark_admin.models import PostmarkSettings
from postmark_admin.testing import override_postmark_settings
from tests.database_down import default_database_down, settings_database_down


def ids(deploy: bool = False) -> set[str]:
    return {m.id for m in run_checks(include_deployment_checks=deploy) if m.id.startswith("postmark_admin.")}


@pytest.mark.django_db
def test_e001_no_token_anywhere_is_a_deploy_check(clean_postmark_env, settings):
    assert "postmark_admin.E001" not in ids()  # never blocks migrate/runserver on a fresh install
    assert "postmark_admin.E001" in ids(deploy=True)
    settings.POSTMARK_SERVER_TOKEN = "x"
    assert "postmark_admin.E001" not in ids(deploy=True)


@pytest.mark.django_db
def test_e001_satisfied_by_database_and_environment(clean_postmark_env):
    clean_postmark_env.setenv("POSTMARK_SERVER_TOKEN", "env")
    assert "postmark_admin.E001" not in ids(deploy=True)
    clean_postmark_env.delenv("POSTMARK_SERVER_TOKEN")
    PostmarkSettings.objects.create(server_token="db")
    assert "postmark_admin.E001" not in ids(deploy=True)


@pytest.mark.django_db
def test_e002_webhooks_routed_without_credentials(clean_postmark_env, settings, monkeypatch):
    from postmark_admin import checks

    monkeypatch.setattr(checks, "_webhooks_routed", lambda: True)
    assert "postmark_admin.E002" in ids(deploy=True)
    settings.POSTMARK_WEBHOOK_ALLOW_UNAUTHENTICATED = True
    assert "postmark_admin.E002" not in ids(deploy=True)
    settings.POSTMARK_WEBHOOK_ALLOW_UNAUTHENTICATED = False
    with override_postmark_settings(webhook_username="u", webhook_password="p"):
        assert "postmark_admin.E002" not in ids(deploy=True)
    monkeypatch.setattr(checks, "_webhooks_routed", lambda: False)
    assert "postmark_admin.E002" not in ids(deploy=True)


@pytest.mark.django_db
def test_e003_undecryptable_secret(clean_postmark_env, settings):
    PostmarkSettings.objects.create(server_token="secret-token-value", webhook_password="hook-pw-value")
    assert "postmark_admin.E003" not in ids(deploy=True)
    settings.SECRET_KEY = "another-key-entirely-0123456789abcdefghijklmnopqrstu"
    messages = [m for m in run_checks(include_deployment_checks=True) if m.id == "postmark_admin.E003"]
    assert len(messages) == 2
    assert all("secret-token-value" not in m.msg and "hook-pw-value" not in m.msg for m in messages)


@pytest.mark.parametrize("value", ["ftp://x/", "api.postmarkapp.com", "https://"])
def test_e004_api_url_not_http(value, settings, clean_postmark_env):
    settings.POSTMARK_API_URL = value
    assert "postmark_admin.E004" in ids()


def test_e004_from_environment(clean_postmark_env):
    clean_postmark_env.setenv("ANYMAIL_POSTMARK_API_URL", "mailto:x")
    assert "postmark_admin.E004" in ids()


def test_e004_accepts_http_and_https(settings, clean_postmark_env):
    settings.POSTMARK_API_URL = "http://127.0.0.1:8025/"
    assert "postmark_admin.E004" not in ids()


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("POSTMARK_WEBHOOK_AUTHORIZATION", "no-colon"),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", ["ok:fine", "user:"]),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", 42),
        ("ANYMAIL", {"WEBHOOK_SECRET": "nocolon"}),
    ],
)
def test_e005_bad_authorization(setting, value, settings, clean_postmark_env):
    setattr(settings, setting, value)
    assert "postmark_admin.E005" in ids()


def test_e005_good_authorization(settings, clean_postmark_env):
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = ["a:b", "c:d:e"]
    assert "postmark_admin.E005" not in ids()


@pytest.mark.parametrize("value", ["fast", -1, 0])
def test_e006_bad_timeout(value, settings, clean_postmark_env):
    settings.POSTMARK_TIMEOUT = value
    assert "postmark_admin.E006" in ids()


def test_e007_unknown_cache_alias(settings):
    settings.POSTMARK_CACHE = "nope"
    assert "postmark_admin.E007" in ids()


def test_w001_local_cache(settings):
    settings.SILENCED_SYSTEM_CHECKS = []
    assert "postmark_admin.W001" in ids()
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    assert "postmark_admin.W001" not in ids()


@pytest.mark.parametrize("where", ["default", "routed"])
@pytest.mark.django_db(transaction=True)
def test_e008_settings_row_unreadable_is_a_check_message(where, tmp_path, clean_postmark_env, settings):
    # Issue 11, item 3: check --deploy reports it as a message, never a traceback, and nothing falls back.
    settings.POSTMARK_SERVER_TOKEN = "token-from-settings-py"
    down = default_database_down if where == "default" else settings_database_down
    with down(tmp_path), pytest.raises(SystemCheckError) as raised:
        call_command("check", deploy=True)
    report = str(raised.value)
    assert "postmark_admin.E008" in report
    assert "could not be read from the database" in report
    assert "token-from-settings-py" not in report


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("POSTMARK_SERVER_TOKEN", "0f8e7d6c-5b4a-4392\u200b"),
        ("POSTMARK_API_KEY", "tok€en"),
        ("ANYMAIL", {"POSTMARK_SERVER_TOKEN": "tok\r\nen"}),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", "user:pass\u200bword"),
        ("POSTMARK_WEBHOOK_AUTHORIZATION", ["ok:fine", "us€r:pw"]),
        ("POSTMARK_API_PASSWORD", "pass\x00word"),
    ],
)
def test_e009_unsendable_secret_in_settings(setting, value, settings, clean_postmark_env):
    setattr(settings, setting, value)
    settings.POSTMARK_API_USER = "user"
    [found] = [m for m in run_checks() if m.id == "postmark_admin.E009"]
    assert "cannot be sent in an HTTP header" in found.msg and "U+" in found.msg
    for secret in ("0f8e7d6c", "tok€en", "pass", "€r:pw"):
        assert secret not in found.msg


def test_e009_unsendable_secret_in_the_environment(clean_postmark_env):
    clean_postmark_env.setenv("POSTMARK_SERVER_TOKEN", "token\u200bvalue")
    clean_postmark_env.setenv("POSTMARK_WEBHOOK_AUTHORIZATION", "a:b,c:d\u00a0e")
    found = [m for m in run_checks() if m.id == "postmark_admin.E009"]
    assert len(found) == 2
    assert "environment POSTMARK_SERVER_TOKEN" in found[0].msg and "U+200B" in found[0].msg
    assert "environment POSTMARK_WEBHOOK_AUTHORIZATION" in found[1].msg and "U+00A0" in found[1].msg


def test_e009_printable_secrets_pass(settings, clean_postmark_env):
    settings.POSTMARK_SERVER_TOKEN = "0f8e7d6c-5b4a-4392-8170-aabbccddeeff"
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "user:a long pass phrase!"
    assert "postmark_admin.E009" not in ids()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"POSTMARK_SEND_DEFAULTS": ["tags"]}, "settings.POSTMARK_SEND_DEFAULTS is not a dict."),
        (
            {"POSTMARK_SEND_DEFAULTS": {"tag": "x", "tags": ["a"]}},
            "settings.POSTMARK_SEND_DEFAULTS has keys that send defaults cannot set: tag.",
        ),
        (
            {"ANYMAIL": {"SEND_DEFAULTS": {"from_email": "a@example.com"}}},
            "settings.ANYMAIL['SEND_DEFAULTS'] has keys that send defaults cannot set: from_email.",
        ),
    ],
)
def test_e012_send_defaults(values, message, settings):
    for name, value in values.items():
        setattr(settings, name, value)
    [found] = [m for m in run_checks() if m.id == "postmark_admin.E012"]
    assert found.msg == message


def test_e012_quiet_for_valid_send_defaults(settings):
    settings.POSTMARK_SEND_DEFAULTS = {"tags": ["a"], "metadata": {"b": "c"}, "track_opens": True}
    assert "postmark_admin.E012" not in ids()
