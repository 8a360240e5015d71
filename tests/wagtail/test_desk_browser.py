"""The deliverability desk's story in Wagtail, in a real Chromium, through Wagtail's own screens: the home
page's summary panel, the desk under Reports, a tracked HTML message delivered and opened, an address the
sandbox hard-bounces found on the recipient page (any case), reactivated by an editor holding the new
permission (and logged in Wagtail's log), and the next send to it delivered. Rows come from the real send
path (the fixture turns the log on).

Screenshots, light and dark, go to artifacts/screenshots/django-<series>/wagtail-desk-*.png.
"""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail", reason="Wagtail is not installed (the [wagtail] extra)")

from django.urls import reverse

from tests.admin.test_desk_browser import (  # noqa: F401 (desk_sandbox is a fixture)
    dark_twin,
    desk_sandbox,
    refused_while_suppressed,
    send,
    shoot_both,
    support_user,
    wait_for_status,
)
from tests.conftest import (
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    log_in_with_the_form,
    needs_chromium,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

DESK = "/cms/postmark/desk/"


def open_from_reports(page, label: str) -> None:
    """Open the desk page ``label`` from the sidebar's Reports menu."""
    page.locator("#wagtail-sidebar").get_by_role("button", name="Reports").click()
    with page.expect_navigation():
        page.locator("#wagtail-sidebar").get_by_role("link", name=label).click()


def test_the_desk_story_in_wagtail(live_server, desk_sandbox, browser, page, django_user_model):  # noqa: F811
    from wagtail.models import Locale, ModelLogEntry, Page

    if not Page.objects.exists():  # an earlier transactional test flushed the migration's root page
        Locale.objects.get_or_create(language_code="en")
        Page.add_root(instance=Page(title="Root", slug="root"))
    sandbox = desk_sandbox
    editor = support_user(django_user_model, "editor", "wagtailadmin.access_admin")
    anna = send(sandbox, "anna@example.com")
    welcome = send(sandbox, "hardbounce.lea@example.com", subject="Welcome")
    wait_for_status(anna.recipients.get(), "opened")
    wait_for_status(welcome.recipients.get(), "bounced")
    refused_while_suppressed("hardbounce.lea@example.com")

    login_url = f"{live_server.url}{reverse('wagtailadmin_login')}?next=/cms/"
    log_in_with_the_form(page, login_url, "editor", "support-password", submit="button[type=submit]")
    dark, dark_page = dark_twin(browser, page)
    # The home page's panel: the last 24 hours.
    panel = page.locator("#postmark-desk-summary")
    panel.wait_for()
    cells = panel.locator("tbody td")
    assert cells.nth(2).inner_text().split()[0] == "1"  # bounced: Lea
    assert cells.nth(4).inner_text().split()[0] == "1"  # opened: Anna
    shoot_both(page, dark_page, "wagtail-desk-home")

    # Reports > Postmark messages > the message: delivered AND opened, then Postmark's record.
    open_from_reports(page, "Postmark messages")
    with page.expect_navigation():
        page.click("#postmark-message-list >> text=Password reset")
    recipient = page.locator(".postmark-recipient[data-address='anna@example.com']")
    assert recipient.locator(".postmark-timeline-delivered").count() == 1
    assert recipient.locator(".postmark-timeline-opened").count() == 1
    with page.expect_navigation():
        page.click("#postmark-fetch-record")
    record = page.inner_text("#postmark-record-events").lower()
    assert "delivered" in record and "opened" in record
    assert anna.message_id in page.inner_text("#postmark-message-facts")
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    shoot_both(page, dark_page, "wagtail-desk-message")

    # Reports > Postmark recipient lookup, in another case: the hard bounce and its suppression.
    open_from_reports(page, "Postmark recipient lookup")
    page.fill("#id_address", "HardBounce.Lea@Example.COM")
    with page.expect_navigation():
        page.click("#postmark-recipient-lookup input[type=submit]")
    outbound = page.locator("#postmark-suppressions tr.postmark-stream-outbound")
    assert "suppressed" in outbound.inner_text() and "HardBounce" in outbound.inner_text()
    assert "Welcome" in page.inner_text("#postmark-recent-messages")
    shoot_both(page, dark_page, "wagtail-desk-recipient")

    with page.expect_navigation():
        outbound.locator(".postmark-reactivate input[type=submit]").click()
    assert "hardbounce.lea@example.com" not in sandbox.suppressed("outbound")
    assert "active" in page.locator("#postmark-suppressions tr.postmark-stream-outbound").inner_text()
    entry = ModelLogEntry.objects.get(user=editor, action="postmark_admin.reactivate")
    assert entry.data["stream"] == "outbound"
    assert entry.data["address"].lower() == "hardbounce.lea@example.com"

    # Send again: delivered this time.
    again = send(sandbox, "hardbounce.lea@example.com", subject="Welcome, again")
    assert again.postmark_message == "OK"
    wait_for_status(again.recipients.get(), "opened")
    page.goto(f"{live_server.url}{DESK}messages/{again.pk}/")
    lea = page.locator(".postmark-recipient[data-address='hardbounce.lea@example.com']")
    assert lea.locator(".postmark-timeline-delivered").count() == 1
    assert lea.locator(".postmark-timeline-bounced").count() == 0

    # Reports > Postmark dashboard: the chart.
    open_from_reports(page, "Postmark dashboard")
    assert page.locator("svg.postmark-chart").bounding_box()["width"] > 300
    assert page.locator("#postmark-window-day .postmark-flagged").count() >= 1
    assert_page_hides_secrets(page)
    shoot_both(page, dark_page, "wagtail-desk-dashboard")
    dark.close()
