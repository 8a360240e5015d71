"""The deliverability desk's story in a real Chromium (Django admin), against the live server and the
sandbox posting its webhooks back: a tracked HTML message delivered and opened on its page; an address
the sandbox hard-bounces found on the recipient page (any case), its suppression reactivated by a
support user holding the new permission (and logged); the next send to it delivered. Then the dashboard
and the index summary. Every row comes from the real send path (``POSTMARK_LOG_MESSAGES = True``).

Screenshots, light and dark, go to artifacts/screenshots/django-<series>/desk-*.png.
"""

from __future__ import annotations

import time

import pytest

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkRecipientsRefused
from postmark_admin.message import PostmarkMessage
from postmark_admin.models import PostmarkSettings, SentMessage, SentRecipient
from tests.conftest import (
    BROWSER_HOOK_PASSWORD,
    BROWSER_TOKEN,
    VIEWPORT,
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    log_in_with_the_form,
    needs_chromium,
    permission,
    save_screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

DESK = "/admin/postmark_admin/sentmessage/"
#: Every tracking webhook the desk shows (the shared live_sandbox fixture posts deliveries only).
EVENTS = ("Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange")
#: What the support staff of the story hold: the desk, its raw events, and the new permission.
SUPPORT_PERMISSIONS = (
    "postmark_admin.view_sentmessage",
    "postmark_admin.view_webhookevent",
    "postmark_admin.reactivate_suppression",
)


@pytest.fixture
def desk_sandbox(live_server, transactional_db, clean_postmark_env, settings):
    """A sandbox posting every tracking webhook to the live server, the settings row pointing at it, and
    the sent-message log on (set here whatever its default is)."""
    from django.urls import reverse

    from postmark_admin.sandbox import Sandbox

    settings.POSTMARK_LOG_MESSAGES = True
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


def support_user(django_user_model, username: str, *extra: str):
    """A staff user holding exactly the support permissions (and ``extra``), not a superuser."""
    user = django_user_model.objects.create_user(
        username, email=f"{username}@example.com", password="support-password", is_staff=True
    )
    for name in (*SUPPORT_PERMISSIONS, *extra):
        user.user_permissions.add(permission(name))
    return user


def send(sandbox, *recipients: str, subject: str = "Password reset") -> SentMessage:
    """Send an HTML message with open tracking through the backend to the sandbox; its row in the
    sent-message log, which the send path itself wrote (a missing row fails here)."""
    backend = PostmarkBackend()  # not get_connection(): Django 6.1 refuses it beside MAILERS
    message = PostmarkMessage(
        subject, "Your link.", "sender@example.com", list(recipients), connection=backend, track_opens=True
    )
    message.attach_alternative("<p>Your <strong>link</strong>.</p>", "text/html")
    assert message.send() == 1
    message_id = sandbox.messages[-1]["MessageID"]
    assert sandbox.messages[-1]["TrackOpens"] is True and sandbox.messages[-1]["HtmlBody"]
    return SentMessage.objects.get(message_id=message_id)


def wait_for_status(recipient: SentRecipient, status: str, timeout: float = 15) -> None:
    """Until the webhooks the sandbox posted have moved ``recipient`` to ``status``."""
    deadline = time.monotonic() + timeout
    while True:
        recipient.refresh_from_db()
        if recipient.status == status:
            return
        assert time.monotonic() < deadline, f"{recipient.address} is {recipient.status}, not {status}"
        time.sleep(0.1)


def refused_while_suppressed(address: str) -> None:
    """A send to a suppressed address is refused, as Postmark refuses it (406), and logged as refused."""
    with pytest.raises(PostmarkRecipientsRefused):
        PostmarkMessage(
            "Your receipt", "x", "sender@example.com", [address], connection=PostmarkBackend()
        ).send()
    assert SentRecipient.objects.filter(address_key=address, status="refused").exists()


def dark_twin(browser, page):
    """A page in a dark-mode context sharing ``page``'s login."""
    dark = browser.new_context(viewport=VIEWPORT, color_scheme="dark")
    dark.add_cookies(page.context.cookies())
    return dark, dark.new_page()


def shoot_both(page, dark_page, name: str) -> None:
    """The page as it is now, light, and the same URL in dark mode."""
    save_screenshot(page, name)
    dark_page.goto(page.url)
    assert_page_hides_secrets(dark_page)
    save_screenshot(dark_page, f"{name}-dark")


def test_the_desk_story(live_server, desk_sandbox, browser, page, django_user_model):
    from django.contrib.admin.models import CHANGE, LogEntry

    sandbox = desk_sandbox
    support = support_user(django_user_model, "support")
    anna = send(sandbox, "anna@example.com")
    welcome = send(sandbox, "hardbounce.kim@example.com", subject="Welcome")
    wait_for_status(anna.recipients.get(), "opened")
    wait_for_status(welcome.recipients.get(), "bounced")
    assert "hardbounce.kim@example.com" in sandbox.suppressed("outbound")
    refused_while_suppressed("hardbounce.kim@example.com")

    log_in_with_the_form(page, f"{live_server.url}/admin/login/?next=/admin/", "support", "support-password")
    dark, dark_page = dark_twin(browser, page)
    # The index: the last 24 hours, above the applications.
    summary = page.locator("#postmark-desk-summary")
    summary.wait_for()
    assert summary.bounding_box()["y"] < page.locator("#content-main").bounding_box()["y"] + 400
    cells = summary.locator("tbody td")
    assert cells.nth(2).inner_text().split()[0] == "1"  # bounced: Kim
    assert cells.nth(4).inner_text().split()[0] == "1"  # opened: Anna
    shoot_both(page, dark_page, "desk-index-summary")

    # The message page: delivered AND opened on the timeline, from the webhook events; then Postmark's record.
    page.goto(f"{live_server.url}{DESK}")
    with page.expect_navigation():
        page.click("text=Password reset")
    recipient = page.locator(".postmark-recipient[data-address='anna@example.com']")
    assert recipient.locator(".postmark-timeline-delivered").count() == 1
    assert recipient.locator(".postmark-timeline-opened").count() == 1
    assert "opened" in recipient.locator("h3 .postmark-event").inner_text()
    assert page.locator(".postmark-raw-event").count() >= 2
    with page.expect_navigation():
        page.click("#postmark-fetch-record")
    record = page.inner_text("#postmark-record-events").lower()
    assert "delivered" in record and "opened" in record
    assert anna.message_id in page.inner_text("#postmark-message-facts")
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    shoot_both(page, dark_page, "desk-message")

    # The recipient page, searched in another case: the hard bounce and its suppression.
    page.goto(f"{live_server.url}{DESK}recipient/")
    page.fill("#id_address", "HardBounce.Kim@Example.COM")
    with page.expect_navigation():
        page.click("#postmark-recipient-lookup input[type=submit]")
    outbound = page.locator("#postmark-suppressions tr.postmark-stream-outbound")
    assert "suppressed" in outbound.inner_text() and "HardBounce" in outbound.inner_text()
    recent = page.inner_text("#postmark-recent-messages")
    assert "Welcome" in recent and "bounced" in recent
    assert_no_horizontal_overflow(page)
    shoot_both(page, dark_page, "desk-recipient")

    # Reactivate: Postmark's suppression is gone, and the admin log says who did it.
    with page.expect_navigation():
        page.click(
            "#postmark-suppressions tr.postmark-stream-outbound .postmark-reactivate input[type=submit]"
        )
    page.wait_for_selector(".messagelist li.success")
    assert "hardbounce.kim@example.com" not in sandbox.suppressed("outbound")
    assert "active" in page.locator("#postmark-suppressions tr.postmark-stream-outbound").inner_text()
    entry = LogEntry.objects.get(user=support, action_flag=CHANGE)
    assert "hardbounce.kim@example.com on the message stream outbound" in entry.get_change_message().lower()
    assert entry.content_type.model == "sentmessage"  # logged against the address's newest message
    save_screenshot(page, "desk-recipient-reactivated")

    # Send again: delivered this time, not suppressed, on the new message's page and the recipient page.
    again = send(sandbox, "hardbounce.kim@example.com", subject="Welcome, again")
    assert again.postmark_message == "OK"  # not "...inactive addresses..."
    wait_for_status(again.recipients.get(), "opened")
    page.goto(f"{live_server.url}{DESK}{again.pk}/change/")
    kim = page.locator(".postmark-recipient[data-address='hardbounce.kim@example.com']")
    assert kim.locator(".postmark-timeline-delivered").count() == 1
    assert kim.locator(".postmark-timeline-bounced").count() == 0
    page.goto(f"{live_server.url}{DESK}recipient/?address=hardbounce.kim@example.com")
    newest = page.locator("#postmark-recent-messages tbody tr").first.inner_text()
    assert "Welcome, again" in newest and "opened" in newest

    # The dashboard: local figures beside Postmark's, the chart, the bounce rate flagged.
    page.goto(f"{live_server.url}{DESK}dashboard/")
    page.wait_for_selector("#postmark-window-day")
    assert page.locator("#postmark-window-day .postmark-remote").count() >= 1
    chart = page.locator("svg.postmark-chart").bounding_box()
    assert chart["width"] > 300 and chart["height"] > 50
    assert page.locator("#postmark-window-day .postmark-flagged").count() >= 1  # 1 of 4 bounced
    assert_no_horizontal_overflow(page)
    shoot_both(page, dark_page, "desk-dashboard")
    dark.close()
