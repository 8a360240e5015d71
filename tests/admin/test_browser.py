"""The admin in a real Chromium: change the token, send a test email, see its Delivery event arrive.

Runs a live server; the sandbox posts its webhooks back to the live server's tracking URL with
the credentials stored in the settings row. Screenshots go to artifacts/screenshots/django-<series>/.
"""

from __future__ import annotations

import re

import pytest

from postmark_admin.models import PostmarkSettings, WebhookEvent
from tests.conftest import (
    BROWSER_TOKEN,
    SCREENSHOTS,
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


def test_change_token_send_test_email_and_see_the_delivery_event(
    live_server, live_sandbox, browser, page, django_user_model
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")
    login_url = f"{live_server.url}/admin/login/?next=/admin/postmark_admin/postmarksettings/"
    log_in_with_the_form(page, login_url, "admin", "admin-password")
    page.wait_for_selector("#postmark-effective-config")
    assert_page_hides_secrets(page)
    # The panels below the form clear its float: a heading that stretched up behind the whole
    # form once painted blue bars between the fieldsets.
    assert page.locator("#postmark-webhook-urls h2").bounding_box()["height"] < 80
    assert_breadcrumbs_are_styled_above_the_sidebar(page)
    form_text = page.inner_text("#postmarksettings_form")
    assert "Server API token:" in form_text and "server API token:" not in form_text

    # Change the token: the old one stays hidden, the new one is never shown back.
    page.fill("input[name=server_token]", BROWSER_TOKEN)
    with page.expect_navigation():
        page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist li")
    assert "was changed successfully" in page.inner_text(".messagelist")
    assert PostmarkSettings.get_solo().server_token.reveal() == BROWSER_TOKEN
    row = page.locator(".postmark-config-server_token")
    assert row.inner_text().count(BROWSER_TOKEN[-4:]) == 1 and "database" in row.inner_text()
    assert_page_hides_secrets(page)
    save_screenshot(page, "settings-page")
    page.locator("#postmark-effective-config").screenshot(path=str(SCREENSHOTS / "effective-config.png"))

    # Send a test email to the sandbox.
    page.fill("#id_test_recipient", "someone@example.com")
    page.fill("#id_test_subject", "Browser test")
    with page.expect_navigation():
        page.click("input[name=_send_test_email]")
    page.wait_for_selector(".messagelist li")
    message = page.inner_text(".messagelist")
    assert "Test email sent to someone@example.com" in message, message
    assert page.locator(".messagelist li.success").count() == 1
    [sent] = live_sandbox.messages
    assert sent["MessageID"] in message
    assert_page_hides_secrets(page)
    page.locator("#postmark-actions").screenshot(path=str(SCREENSHOTS / "actions.png"))
    save_screenshot(page, "settings-after-test-email")

    # The sandbox posts the Delivery event back; it shows in the events list.
    posts = live_sandbox.wait_for_webhooks(1, timeout=15)
    assert posts[0].http_status == 200, posts
    assert WebhookEvent.objects.filter(message_id=sent["MessageID"], event_type="delivered").exists()
    page.goto(f"{live_server.url}/admin/postmark_admin/webhookevent/")
    label = page.locator("#result_list .postmark-event-delivered")
    assert label.count() == 1
    assert "someone@example.com" in page.inner_text("#result_list")
    assert_page_hides_secrets(page)
    save_screenshot(page, "events-list")

    page.click("#result_list tbody tr th a")
    page.wait_for_selector(".postmark-payload")
    assert re.search(r'"RecordType": "Delivery"', page.inner_text(".field-payload_pretty"))
    assert_page_hides_secrets(page)
    save_screenshot(page, "event-detail")

    # The same pages in the admin's dark theme.
    dark = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    dark_page = dark.new_page()
    dark_page.goto(f"{live_server.url}/admin/postmark_admin/postmarksettings/")
    assert_page_hides_secrets(dark_page)
    assert_breadcrumbs_are_styled_above_the_sidebar(dark_page)
    save_screenshot(dark_page, "settings-page-dark")
    dark_page.goto(f"{live_server.url}/admin/postmark_admin/webhookevent/")
    save_screenshot(dark_page, "events-list-dark")
    dark.close()


def assert_breadcrumbs_are_styled_above_the_sidebar(page) -> None:
    """The settings page's breadcrumbs are the admin's bar (coloured, padded), wholly above the sidebar.

    django-solo's change form wrote Django 5.2's markup, which Django 6.1 left unstyled: bare text that the
    navigation sidebar then overlapped."""
    bar = page.locator("nav .breadcrumbs")
    style = bar.evaluate(
        "element => { const s = getComputedStyle(element);"
        " return {background: s.backgroundColor, paddingLeft: parseFloat(s.paddingLeft)}; }"
    )
    assert style["background"] not in ("rgba(0, 0, 0, 0)", "transparent"), style
    assert style["paddingLeft"] >= 20, style
    box = bar.bounding_box()
    sidebar = page.locator("#nav-sidebar").bounding_box()
    assert box["y"] + box["height"] <= sidebar["y"], (box, sidebar)
    link = page.locator("nav .breadcrumbs a").first.bounding_box()
    assert link["x"] >= box["x"] + 20, (link, box)


def test_generate_a_webhook_password_and_hand_it_to_postmark(
    live_server, live_sandbox, page, django_user_model
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")
    # The fixture's row holds a token the sandbox refuses (the other test types the right one).
    row = PostmarkSettings.get_solo()
    row.server_token = live_sandbox.token
    row.save()
    login_url = f"{live_server.url}/admin/login/?next=/admin/postmark_admin/postmarksettings/"
    log_in_with_the_form(page, login_url, "admin", "admin-password")
    page.wait_for_selector("#postmark-generate-password")
    # The live server is on loopback: no warning about http://, and the stored password is long enough.
    assert page.locator(".postmark-webhook-warnings").count() == 0

    with page.expect_navigation():
        page.click("input[name=_generate_webhook_password]")
    shown = page.input_value("#postmark-new-password")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", shown)
    assert PostmarkSettings.get_solo().webhook_password.reveal() == shown
    assert_page_hides_secrets(page)
    save_screenshot(page, "new-webhook-password")

    with page.expect_navigation():
        page.click("#postmark-configure-webhook input[type=submit]")
    page.wait_for_selector(".messagelist li.success")
    assert live_sandbox.webhooks[0]["HttpAuth"]["Password"] == shown
    assert shown not in page.content()
    assert_page_hides_secrets(page)


def test_switching_test_mode_on_shows_the_banner_and_delivers_nothing(
    live_server, live_sandbox, page, django_user_model
):
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")
    login_url = f"{live_server.url}/admin/login/?next=/admin/postmark_admin/postmarksettings/"
    log_in_with_the_form(page, login_url, "admin", "admin-password")
    page.wait_for_selector("#postmark-effective-config")
    assert page.locator(".postmark-test-mode").count() == 0

    page.select_option("select[name=test_mode]", label="On: Postmark validates messages but delivers nothing")
    with page.expect_navigation():
        page.click("input[name=_continue]")
    banner = page.locator("#postmark-effective-config .postmark-test-mode li.warning")
    banner.wait_for()
    assert banner.is_visible()
    text = banner.inner_text()
    assert text.startswith("Test mode: Postmark validates messages but delivers nothing."), text
    assert "database PostmarkSettings.test_mode" in text
    # The banner sits at the top of the panel, above the table, styled as a warning (not plain text).
    assert banner.bounding_box()["y"] < page.locator("#postmark-effective-config table").bounding_box()["y"]
    # Django's warning message styling: a coloured background, not plain text.
    background = banner.evaluate("element => getComputedStyle(element).backgroundColor")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent"), background
    assert "yes" in page.inner_text(".postmark-config-test_mode")
    save_screenshot(page, "settings-test-mode")

    # A test email now goes with the test token: Postmark's answer, nothing stored, no webhook.
    page.fill("#id_test_recipient", "someone@example.com")
    with page.expect_navigation():
        page.click("input[name=_send_test_email]")
    page.wait_for_selector(".messagelist li.success")
    [request] = [r for r in live_sandbox.requests if r.path == "/email"]
    assert request.headers["X-Postmark-Server-Token"] == "POSTMARK_API_TEST"
    assert live_sandbox.messages == []

    page.select_option(
        "select[name=test_mode]", label="Inherit (settings.py, then the environment, then off)"
    )
    with page.expect_navigation():
        page.click("input[name=_continue]")
    page.wait_for_selector(".messagelist li")
    assert "was changed successfully" in page.inner_text(".messagelist"), page.inner_text("#content")[:3000]
    assert page.locator(".postmark-test-mode").count() == 0
