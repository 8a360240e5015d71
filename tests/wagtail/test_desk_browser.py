"""The deliverability desk in Wagtail, in a real Chromium: the home page's panel, the Reports menu, the
message page, the recipient page with a hard bounce reactivated, and the dashboard, light and dark.

Screenshots go to artifacts/screenshots/django-<series>/wagtail-desk-*.png.
"""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail", reason="Wagtail is not installed (the [wagtail] extra)")

from django.urls import reverse

from tests.admin.test_desk_browser import desk_sandbox, send  # noqa: F401 (the fixture)
from tests.conftest import (
    VIEWPORT,
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    log_in_with_the_form,
    needs_chromium,
    save_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

DESK = "/cms/postmark/desk/"


def test_wagtail_desk_pages(live_server, desk_sandbox, browser, page, django_user_model):  # noqa: F811
    from wagtail.models import Locale, Page

    if not Page.objects.exists():  # an earlier transactional test flushed the migration's root page
        Locale.objects.get_or_create(language_code="en")
        Page.add_root(instance=Page(title="Root", slug="root"))
    django_user_model.objects.create_superuser("editor", "editor@example.com", "editor-password")
    message = send(desk_sandbox, "anna@example.com")
    send(desk_sandbox, "hardbounce.lea@example.com", subject="Welcome")
    desk_sandbox.wait_for_webhooks(3, timeout=15)

    login_url = f"{live_server.url}{reverse('wagtailadmin_login')}?next=/cms/"
    log_in_with_the_form(page, login_url, "editor", "editor-password", submit="button[type=submit]")
    page.wait_for_selector("#postmark-desk-summary")
    save_screenshot(page, "wagtail-desk-home")

    page.goto(f"{live_server.url}{DESK}messages/{message.pk}/")
    assert "delivered" in page.inner_text("#postmark-message-recipients")
    with page.expect_navigation():
        page.click("#postmark-fetch-record")
    assert "delivered" in page.inner_text("#postmark-record-events").lower()
    assert_no_horizontal_overflow(page)
    save_screenshot(page, "wagtail-desk-message")

    page.goto(f"{live_server.url}{DESK}recipient/?address=hardbounce.lea@example.com")
    assert "HardBounce" in page.inner_text("#postmark-suppressions")
    with page.expect_navigation():
        page.click(".postmark-reactivate input[type=submit]")
    assert "hardbounce.lea@example.com" not in desk_sandbox.suppressed("outbound")
    assert "active" in page.inner_text("#postmark-suppressions")
    save_screenshot(page, "wagtail-desk-recipient")

    page.goto(f"{live_server.url}{DESK}")
    assert page.locator("svg.postmark-chart").bounding_box()["width"] > 300
    assert_page_hides_secrets(page)
    save_screenshot(page, "wagtail-desk-dashboard")

    dark = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    dark_page = dark.new_page()
    for url, name in (
        (DESK, "wagtail-desk-dashboard-dark"),
        (f"{DESK}messages/{message.pk}/", "wagtail-desk-message-dark"),
    ):
        dark_page.goto(f"{live_server.url}{url}")
        save_screenshot(dark_page, name)
    dark.close()
