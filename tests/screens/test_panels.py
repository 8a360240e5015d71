"""postmark_admin.screens.panels: what the settings page says about the webhook credentials."""

from __future__ import annotations

import pytest

from postmark_admin.config.api_hosts import is_loopback
from postmark_admin.config.effective import effective_config
from postmark_admin.screens import panels
from postmark_admin.screens.panels import WebhookURL, webhook_warnings
from postmark_admin.testing import override_postmark_settings

pytestmark = pytest.mark.usefixtures("clean_postmark_env")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("example.com", False),
        ("localhost.example.com", False),
        ("10.0.0.1", False),
        ("::ffff:8.8.8.8", False),
        ("", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


HTTPS = [WebhookURL("tracking", "https://example.com/postmark/tracking/")]


@pytest.mark.parametrize(
    ("password", "urls", "expected"),
    [
        ("a" * 16, HTTPS, []),
        ("a" * 15, HTTPS, ["short"]),
        ("", HTTPS, []),  # no credentials at all: postmark_admin.E002 says so
        ("a" * 40, [WebhookURL("tracking", "http://example.com/postmark/tracking/")], ["http"]),
        ("a" * 40, [WebhookURL("tracking", "http://localhost:8000/postmark/tracking/")], []),
        ("a" * 40, [WebhookURL("tracking", "http://127.0.0.1/postmark/tracking/")], []),
        ("Zq8-x", [WebhookURL("tracking", "http://example.com/postmark/tracking/")], ["short", "http"]),
    ],
)
def test_webhook_warnings(db, password, urls, expected):
    with override_postmark_settings(webhook_username="hook", webhook_password=password):
        warnings = webhook_warnings(effective_config(), urls)
    kinds = [("short" if "shorter than 16" in text else "http") for text in warnings]
    assert kinds == expected
    assert not any(password and password in text for text in warnings)


@pytest.mark.django_db
def test_the_test_mode_banner_says_so_and_where_it_was_switched_on(settings):
    assert panels.test_mode_warning(effective_config()) is None
    with override_postmark_settings(test_mode=False):
        assert panels.test_mode_warning(effective_config()) is None
    settings.POSTMARK_TEST_MODE = True
    warning = panels.test_mode_warning(effective_config())
    assert warning is not None
    assert warning.startswith("Test mode: Postmark validates messages but delivers nothing.")
    assert "settings.py (settings.POSTMARK_TEST_MODE)" in warning
