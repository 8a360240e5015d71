"""The admin in German, as a browser that asks for German gets it (Accept-Language and LocaleMiddleware).

The settings page and the webhook-events list, with a test email sent through the sandbox so that its
Delivery event is listed: our strings and Django's own come out German, nothing English is left in the
panels, and no German word (they run longer) pushes the page wider than the window. Screenshots, light
and dark, go to artifacts/screenshots/django-<series>/*-de.png.
"""

from __future__ import annotations

import pytest

from postmark_admin.models import PostmarkSettings
from tests.conftest import (
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    german_page,
    log_in_with_the_form,
    needs_chromium,
    save_screenshot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]

SETTINGS_PATH = "/admin/postmark_admin/postmarksettings/"
EVENTS_PATH = "/admin/postmark_admin/webhookevent/"


def test_settings_page_and_events_list_in_german(live_server, live_sandbox, browser, django_user_model):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")
    row = PostmarkSettings.get_solo()
    row.server_token = live_sandbox.token
    row.save()
    context, page = german_page(browser)
    log_in_with_the_form(
        page, f"{live_server.url}/admin/login/?next={SETTINGS_PATH}", "admin", "admin-password"
    )
    page.wait_for_selector("#postmark-effective-config")
    assert page.evaluate("document.documentElement.lang") == "de"

    # Our panels, form and buttons, and Django's own words around them.
    assert page.inner_text("#postmark-effective-config h2") == "Wirksame Konfiguration"
    assert page.inner_text("#postmark-actions h2") == "Mit Postmark sprechen"
    assert page.inner_text("#postmark-webhook-urls h2") == "Die Webhook-URLs dieser Website"
    assert page.input_value("input[name=_send_test_email]") == "Test-E-Mail senden"
    assert page.input_value("input[name=_verify_token]") == "Server-Token prüfen"
    assert "Versand" in page.inner_text("#postmarksettings_form fieldset h2 >> nth=0")
    assert "Server-API-Token" in page.inner_text("#postmarksettings_form")
    assert page.input_value("input[name=_save]") == "Sichern"
    assert page.inner_text("nav .breadcrumbs a >> nth=0") == "Start"
    panels = page.inner_text(".postmark-panels") + page.inner_text("#postmark-effective-config")
    for english in ("Effective configuration", "Send test email", "webhook URLs", "Source", "Read from"):
        assert english not in panels, english
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    save_screenshot(page, "settings-page-de")

    # A test email: its message, and then its Delivery event in the list.
    page.fill("#id_test_recipient", "someone@example.com")
    page.fill("#id_test_subject", "Browsertest")
    with page.expect_navigation():
        page.click("input[name=_send_test_email]")
    message = page.inner_text(".messagelist")
    assert "Test-E-Mail an someone@example.com von" in message and "gesendet" in message, message
    posts = live_sandbox.wait_for_webhooks(1, timeout=15)
    assert posts[0].http_status == 200, posts
    save_screenshot(page, "settings-after-test-email-de")

    page.goto(live_server.url + EVENTS_PATH)
    assert page.inner_text("#content h1") == "Webhook-Ereignis zum Ansehen auswählen"
    assert page.inner_text("#result_list .postmark-event-delivered") == "zugestellt"
    headers = page.inner_text("#result_list thead")
    assert "EREIGNIS" in headers and "EMPFÄNGER" in headers, headers  # upper-cased by the CSS
    filters = page.inner_text("#changelist-filter")
    assert "Nach Ereignistyp" in filters and "Alle Daten" in filters, filters
    assert "1 Webhook-Ereignis" in page.inner_text(".paginator")
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    save_screenshot(page, "events-list-de")

    # The same two pages in the admin's dark theme.
    dark, dark_page = german_page(browser, color_scheme="dark")
    dark.add_cookies(context.cookies())
    dark_page.goto(live_server.url + SETTINGS_PATH)
    assert dark_page.inner_text("#postmark-effective-config h2") == "Wirksame Konfiguration"
    save_screenshot(dark_page, "settings-page-de-dark")
    dark_page.goto(live_server.url + EVENTS_PATH)
    assert dark_page.inner_text("#result_list .postmark-event-delivered") == "zugestellt"
    save_screenshot(dark_page, "events-list-de-dark")
    dark.close()
    context.close()
