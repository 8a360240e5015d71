"""Wagtail's admin in a real Chromium: log in, change the token, send a test email, see its event.

The sandbox posts its Delivery webhook back to the live server's tracking URL with the credentials
stored in the settings row. Screenshots go to artifacts/screenshots/django-<series>/wagtail-*.png.
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "wagtail", reason="Wagtail is not installed (pip install 'django-postmark-admin[wagtail]')"
)

from django.urls import reverse

from postmark_admin.models import PostmarkSettings, WebhookEvent
from tests.conftest import (
    BROWSER_TOKEN,
    VIEWPORT,
    assert_page_hides_secrets,
    log_in_with_the_form,
    needs_chromium,
    save_screenshot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


def test_wagtail_change_token_send_test_email_and_see_the_event(
    live_server, live_sandbox, browser, page, django_user_model
):
    django_user_model.objects.create_superuser("editor", "editor@example.com", "editor-password")
    settings_path = reverse("postmark_admin_settings:edit")
    login_url = f"{live_server.url}{reverse('wagtailadmin_login')}?next={settings_path}"
    log_in_with_the_form(page, login_url, "editor", "editor-password", submit="button[type=submit]")
    page.wait_for_selector("#postmark-effective-config")
    assert_page_hides_secrets(page)

    # The entry sits in Wagtail's Settings menu.
    page.click("button:has-text('Settings')")
    assert page.locator(f"a[href='{settings_path}']").first.is_visible()
    page.keyboard.press("Escape")

    # Change the token; it is never shown back.
    page.fill("input[name=server_token]", BROWSER_TOKEN)
    with page.expect_navigation():
        page.click("#w-editor-form button[type=submit]")
    page.wait_for_selector(".messages .success")
    assert PostmarkSettings.get_solo().server_token.reveal() == BROWSER_TOKEN
    row = page.locator(".postmark-config-server_token")
    assert "database" in row.inner_text()
    assert_page_hides_secrets(page)
    save_screenshot(page, "wagtail-settings")

    # Send a test email to the sandbox.
    page.fill("#id_test_recipient", "someone@example.com")
    page.fill("#id_test_subject", "Wagtail browser test")
    with page.expect_navigation():
        page.click("button[name=_send_test_email]")
    page.wait_for_selector(".messages .success")
    message = page.inner_text(".messages")
    [sent] = live_sandbox.messages
    assert "Test email sent to someone@example.com" in message and sent["MessageID"] in message, message
    assert_page_hides_secrets(page)

    # The sandbox posts the Delivery event back; it shows in the events viewer.
    posts = live_sandbox.wait_for_webhooks(1, timeout=15)
    assert posts[0].http_status == 200, posts
    assert WebhookEvent.objects.filter(message_id=sent["MessageID"], event_type="delivered").exists()
    page.goto(live_server.url + reverse("postmark_admin_events:index"))
    assert "someone@example.com" in page.inner_text("main")
    assert_page_hides_secrets(page)
    save_screenshot(page, "wagtail-events")

    page.click("table.listing tbody tr td a")
    page.wait_for_selector(".postmark-payload")
    assert '"RecordType": "Delivery"' in page.inner_text(".postmark-payload >> nth=-1")
    assert_page_hides_secrets(page)
    save_screenshot(page, "wagtail-event-inspect")

    # The settings page in Wagtail's dark theme (its default theme follows the system's).
    dark = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    dark_page = dark.new_page()
    dark_page.goto(live_server.url + settings_path)
    dark_page.wait_for_selector("#postmark-effective-config")
    assert_page_hides_secrets(dark_page)
    save_screenshot(dark_page, "wagtail-settings-dark")
    dark.close()
