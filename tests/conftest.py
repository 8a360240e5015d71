from __future__ import annotations

import pytest

from postmark_admin.config import row_cache as settings_cache


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


# -- admin tests ------------------------------------------------------------------------------------

#: Secrets the admin tests store; no rendered page and no database column may contain them.
ADMIN_TEST_TOKEN = "server-token-4b1d0c9e-77aa-4e2f-9c3b-5d6e7f80a1b2"
ADMIN_TEST_WEBHOOK_PASSWORD = "hook-password-Zq8Xv2Lm9Np4Rt6"


def settings_form_data(**changes):
    """POST data for the settings form (Django admin and Wagtail): every field of the settings row
    blank (a blank secret keeps the stored one), then ``changes``."""
    from django.forms.models import fields_for_model

    from postmark_admin.models import PostmarkSettings

    return {**dict.fromkeys(fields_for_model(PostmarkSettings), ""), **changes}


@pytest.fixture
def staff_factory(db, django_user_model):
    """``staff_factory("username", "app.codename", ...)``: a staff user holding exactly those permissions."""
    from django.contrib.auth.models import Permission

    def make(username: str, *perms: str, superuser: bool = False):
        user = django_user_model.objects.create_user(
            username, email=f"{username}@example.com", password="pw", is_staff=True, is_superuser=superuser
        )
        for perm in perms:
            app_label, codename = perm.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


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
    not __import__("pathlib").Path(CHROMIUM).exists(),
    reason=f"Debian Chromium is not installed at {CHROMIUM}",
)


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


SCREENSHOTS = __import__("pathlib").Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


def save_screenshot(page, name: str) -> None:
    """A full-page PNG in artifacts/screenshots/ (gitignored; the docs copy the good ones)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def assert_page_hides(page, *secrets: str) -> None:
    """None of ``secrets`` is anywhere in the page's HTML."""
    html = page.content()
    for secret in secrets:
        assert secret not in html
