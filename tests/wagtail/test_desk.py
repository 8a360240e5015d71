"""The deliverability desk in Wagtail: the pages under Reports, the reactivation in Wagtail's log, the
home page's summary panel, and the same query counts as the Django admin's."""

from __future__ import annotations

import pytest

pytest.importorskip("wagtail", reason="Wagtail is not installed (the [wagtail] extra)")

from django.db import connection
from django.test.utils import CaptureQueriesContext
from wagtail.models import ModelLogEntry

from postmark_admin.models import SentRecipient
from postmark_admin.sending import deliverability
from tests.admin.test_desk import event, sent
from tests.conftest import messages_of

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

ACCESS = "wagtailadmin.access_admin"
VIEW = "postmark_admin.view_sentmessage"
REACTIVATE = "postmark_admin.reactivate_suppression"
DESK = "/cms/postmark/desk/"


@pytest.fixture
def viewer(login):
    return login("viewer", ACCESS, VIEW, "postmark_admin.view_webhookevent")


def test_reports_menu_and_home_panel_for_desk_viewers(viewer, sandbox):
    message = sent()
    event(message, "delivered")
    home = viewer.get("/cms/").content.decode()
    assert 'id="postmark-desk-summary"' in home
    assert "Postmark dashboard" in home and "Postmark recipient lookup" in home


def test_no_view_permission_no_desk_and_no_panel(login, sandbox):
    client = login("editor", ACCESS)
    message = sent()
    for url in (DESK, f"{DESK}messages/", f"{DESK}messages/{message.pk}/", f"{DESK}recipient/"):
        assert client.get(url).status_code == 403, url
    home = client.get("/cms/").content.decode()
    assert "postmark-desk-summary" not in home and "Postmark dashboard" not in home


def test_messages_list_and_message_page(viewer, sandbox):
    message = sent("Anna@Example.com", subject="Password reset")
    sent("bob@example.com", subject="Invoice")
    delivered = event(message, "delivered", "anna@example.com")
    html = viewer.get(f"{DESK}messages/", {"q": "anna@example.com"}).content.decode()
    assert "Password reset" in html and "Invoice" not in html
    html = viewer.get(f"{DESK}messages/{message.pk}/").content.decode()
    assert "What happened to each recipient" in html
    assert f"/cms/postmark/events/inspect/{delivered.pk}/" in html
    html = viewer.get(f"{DESK}messages/{message.pk}/", {"postmark": "1"}).content.decode()
    assert "could not be fetched" in html  # the sandbox never saw this message: ErrorCode 701
    assert viewer.get(f"{DESK}messages/999999/").status_code == 404


def test_reactivate_is_logged_in_wagtails_log(login, sandbox):
    deliverability.suppress("gone3@example.com", "outbound")
    sent("gone3@example.com")
    client = login("support", ACCESS, VIEW, REACTIVATE)
    html = client.get(f"{DESK}recipient/", {"address": "gone3@example.com"}).content.decode()
    assert "ManualSuppression" in html and 'value="Reactivate"' in html
    response = client.post(
        f"{DESK}recipient/reactivate/", {"address": "gone3@example.com", "stream": "outbound"}, follow=True
    )
    assert messages_of(response)[0][0] == "success"
    entry = ModelLogEntry.objects.get(action="postmark_admin.reactivate")
    assert entry.data == {"address": "gone3@example.com", "stream": "outbound"}


def test_reactivate_needs_the_permission(viewer, sandbox):
    response = viewer.post(
        f"{DESK}recipient/reactivate/", {"address": "gone@example.com", "stream": "outbound"}
    )
    assert response.status_code == 403
    assert "gone@example.com" in sandbox.inactive


def test_dashboard_and_its_query_count(viewer, sandbox):
    def queries(count: int) -> int:
        for number in range(count):
            message = sent(f"w{count}-{number}@example.com")
            event(message, "delivered", f"w{count}-{number}@example.com")
        viewer.get(DESK)
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(DESK).status_code == 200
        return len(captured)

    assert queries(10) == queries(100)
    html = viewer.get(DESK).content.decode()
    assert 'id="postmark-window-day"' in html and "<svg" in html


def test_message_page_query_count(viewer, sandbox):
    def queries(count: int) -> int:
        message = sent(f"m0-{count}@example.com")
        for number in range(1, count):
            address = f"m{number}-{count}@example.com"
            SentRecipient.objects.create(message=message, address=address, address_key=address, status="sent")
            event(message, "delivered", address)
        viewer.get(f"{DESK}messages/{message.pk}/")
        with CaptureQueriesContext(connection) as captured:
            viewer.get(f"{DESK}messages/{message.pk}/")
        return len(captured)

    assert queries(10) == queries(100)
