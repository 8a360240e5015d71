"""What the tests of several folders share; a folder's own fixtures are in its conftest.py.

Constants and plain helpers here are imported as ``from tests.conftest import ...``.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from postmark_admin.config import row_cache as settings_cache

#: The repository's root: the working directory of the tests' subprocesses.
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_settings_cache():
    """Every test starts with no cached copy of the settings row."""
    settings_cache.clear()
    yield
    settings_cache.clear()


@pytest.fixture
def clean_postmark_env(monkeypatch):
    """Remove every POSTMARK_* / ANYMAIL_* variable so the machine's environment cannot leak in."""
    import os

    for name in list(os.environ):
        if name.startswith(("POSTMARK_", "ANYMAIL_")):
            monkeypatch.delenv(name)
    return monkeypatch


def free_port() -> int:
    """A loopback TCP port nothing listens on (just now)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- admin tests (the Django admin, the shared screens, Wagtail) -----------------------------------

#: Secrets the admin tests store; no rendered page and no database column may contain them.
ADMIN_TEST_TOKEN = "server-token-4b1d0c9e-77aa-4e2f-9c3b-5d6e7f80a1b2"
ADMIN_TEST_WEBHOOK_PASSWORD = "hook-password-Zq8Xv2Lm9Np4Rt6"


def permission(name: str):
    """The Permission ``name`` ("app_label.codename")."""
    from django.contrib.auth.models import Permission

    app_label, codename = name.split(".")
    return Permission.objects.get(content_type__app_label=app_label, codename=codename)


def settings_form_data(**changes):
    """POST data for the settings form (Django admin and Wagtail): every field of the settings row
    blank (a blank secret keeps the stored one), then ``changes``."""
    from django.forms.models import fields_for_model

    from postmark_admin.models import PostmarkSettings

    return {**dict.fromkeys(fields_for_model(PostmarkSettings), ""), **changes}


@pytest.fixture
def staff_factory(db, django_user_model):
    """``staff_factory("username", "app.codename", ...)``: a staff user holding exactly those permissions."""

    def make(username: str, *perms: str, superuser: bool = False):
        user = django_user_model.objects.create_user(
            username, email=f"{username}@example.com", password="pw", is_staff=True, is_superuser=superuser
        )
        for perm in perms:
            user.user_permissions.add(permission(perm))
        return user

    return make


@pytest.fixture
def login(client, staff_factory):
    """``login("username", "app.codename", ...)``: the test client, logged in as a new staff user holding
    exactly those permissions (``superuser=True``: every permission)."""

    def log_in(username: str, *perms: str, superuser: bool = False):
        client.force_login(staff_factory(username, *perms, superuser=superuser))
        return client

    return log_in


def messages_of(response) -> list[tuple[str, str]]:
    """The (level tag, text) of the messages the request behind ``response`` left."""
    from django.contrib.messages import get_messages

    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def follow_action(
    client, url: str, page_url: str, data: dict | None = None
) -> tuple[list[tuple[str, str]], str]:
    """POST a settings-page action and follow its redirect back to ``page_url``: (messages, page HTML)."""
    response = client.post(url, data or {}, follow=True)
    assert response.redirect_chain == [(page_url, 302)]
    return messages_of(response), response.content.decode()


def create_event(key: str | int, event_type: str = "delivered", **fields):
    """A stored webhook event: an ``event_type`` event of message-<key> to user<key>@example.com on the
    outbound stream, unless ``fields`` say otherwise. The payload names only the recipient, so that a
    page showing the record type shows the field, not the payload."""
    from postmark_admin.models import WebhookEvent

    recipient = fields.setdefault("recipient", f"user{key}@example.com")
    fields.setdefault(
        "record_type", {"delivered": "Delivery", "bounced": "Bounce", "opened": "Open"}.get(event_type, "")
    )
    defaults = {
        "dedupe_key": f"key-{key}",
        "message_id": f"message-{key}",
        "message_stream": "outbound",
        "payload": {"Recipient": recipient},
    }
    return WebhookEvent.objects.create(event_type=event_type, **{**defaults, **fields})


@pytest.fixture
def sandbox(db):
    """A running sandbox, and the settings row pointing at it with the admin test secrets."""
    from postmark_admin.models import PostmarkSettings
    from postmark_admin.sandbox import Sandbox

    with Sandbox(token=ADMIN_TEST_TOKEN, inactive=["gone@example.com"]) as running:
        PostmarkSettings.objects.create(
            server_token=ADMIN_TEST_TOKEN,
            api_url=running.url,
            default_from_email="Admin Tests <sender@example.com>",
            webhook_username="hookuser",
            webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD,
            timeout=5,
        )
        yield running


@pytest.fixture
def assert_no_secrets():
    """A checker: the admin test secrets appear neither in ``html`` nor in the settings table's columns."""
    from django.db import connection

    def check(html: str | bytes = "") -> None:
        text = html.decode() if isinstance(html, bytes) else html
        for secret in (ADMIN_TEST_TOKEN, ADMIN_TEST_WEBHOOK_PASSWORD):
            assert secret not in text
        with connection.cursor() as cursor:
            cursor.execute("SELECT server_token, webhook_password FROM postmark_admin_postmarksettings")
            for row in cursor.fetchall():
                for column in row:
                    for secret in (ADMIN_TEST_TOKEN, ADMIN_TEST_WEBHOOK_PASSWORD):
                        assert secret not in (column or "")

    return check


# -- browser tests ----------------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
#: Debian's Chromium, headless, kept off the network: this machine allows none but loopback.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Debian Chromium is not installed at {CHROMIUM}",
)
VIEWPORT = {"width": 1280, "height": 900}


@pytest.fixture
def browser():
    """A headless Debian Chromium driven by Playwright (never a downloaded browser build)."""
    import os

    from playwright.sync_api import sync_playwright

    # The live server's thread runs Django code from the test's event loop; allow it.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A new page in a browser context of its own (``page.context``), 1280x900."""
    context = browser.new_context(viewport=VIEWPORT)
    yield context.new_page()
    context.close()


#: Secrets the browser tests store or type; no page may show them.
BROWSER_TOKEN = "browser-token-6a0f1e2d-3c4b-5a69-8778-9f0e1d2c3b4a"
BROWSER_OLD_TOKEN = "old-token-b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
BROWSER_HOOK_PASSWORD = "browser-hook-password-K7p2Qw9x"


@pytest.fixture
def live_sandbox(live_server, transactional_db, clean_postmark_env):
    """A sandbox posting its webhooks to the live server's tracking URL, and the settings row pointing at
    it with the old token and the webhook credentials."""
    from django.urls import reverse

    from postmark_admin.models import PostmarkSettings
    from postmark_admin.sandbox import Sandbox

    tracking_url = live_server.url + reverse("postmark_admin:tracking")
    hook_auth = ("hookuser", BROWSER_HOOK_PASSWORD)
    with Sandbox(token=BROWSER_TOKEN, webhook_url=tracking_url, webhook_auth=hook_auth) as running:
        PostmarkSettings.objects.create(
            server_token=BROWSER_OLD_TOKEN,
            api_url=running.url,
            default_from_email="Browser Test <sender@example.com>",
            webhook_username="hookuser",
            webhook_password=BROWSER_HOOK_PASSWORD,
        )
        yield running


def _django_series() -> str:
    import django

    return f"{django.VERSION[0]}.{django.VERSION[1]}"


#: One folder per Django series, so that a run on 5.2 and one on 6.1 keep both sets side by side.
SCREENSHOTS = ROOT / "artifacts" / "screenshots" / f"django-{_django_series()}"


def log_in_with_the_form(page, url: str, username: str, password: str, submit: str = "input[type=submit]"):
    """Open the login page ``url``, log in with its form, and wait for the page it leads to."""
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    with page.expect_navigation():
        page.click(submit)


def save_screenshot(page, name: str) -> None:
    """A full-page PNG in artifacts/screenshots/django-<series>/ (gitignored; the docs copy the good ones)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def german_page(browser, **options):
    """A page in a new browser context that asks for German (Accept-Language: de-DE), and the context."""
    context = browser.new_context(viewport=VIEWPORT, locale="de-DE", **options)
    return context, context.new_page()


def assert_no_horizontal_overflow(page) -> None:
    """Nothing (a long translated word, say) makes the page wider than the window."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the page is {widths[0]}px wide in a {widths[1]}px window"


def assert_page_hides_secrets(page) -> None:
    """None of the browser tests' secrets is anywhere in the page's HTML."""
    html = page.content()
    for secret in (BROWSER_TOKEN, BROWSER_OLD_TOKEN, BROWSER_HOOK_PASSWORD):
        assert secret not in html
