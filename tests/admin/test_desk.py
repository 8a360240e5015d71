"""The deliverability desk in the Django admin: the sent messages, the message page, the recipient page
with "Reactivate", the dashboard and the index summary, against the sandbox and a real database."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmark_admin.backends import PostmarkBackend
from postmark_admin.models import PostmarkSettings, SentMessage, SentRecipient, WebhookEvent
from postmark_admin.screens import dashboard, message_page
from postmark_admin.sending import deliverability
from tests.conftest import free_port, messages_of

VIEW = "postmark_admin.view_sentmessage"
REACTIVATE = "postmark_admin.reactivate_suppression"
CHANGELIST = "/admin/postmark_admin/sentmessage/"
RECIPIENT = CHANGELIST + "recipient/"
REACTIVATE_URL = RECIPIENT + "reactivate/"
DASHBOARD = CHANGELIST + "dashboard/"


def sent(
    address="anna@example.com",
    *,
    subject="Password reset",
    stream="outbound",
    status="sent",
    minutes=30,
    **fields,
):
    """A logged message to ``address`` (one recipient), submitted ``minutes`` ago."""
    message = SentMessage.objects.create(
        message_id=fields.pop("message_id", str(uuid.uuid4())),
        stream=stream,
        from_email="Site <site@example.com>",
        subject=subject,
        submitted_at=timezone.now() - dt.timedelta(minutes=minutes),
        sent_via="single",
        postmark_message="OK",
        **fields,
    )
    SentRecipient.objects.create(
        message=message, address=address, address_key=address.casefold(), status=status
    )
    return message


def event(message, event_type, recipient="anna@example.com", key=None, **fields):
    return WebhookEvent.objects.create(
        dedupe_key=key or str(uuid.uuid4()),
        event_type=event_type,
        recipient=recipient,
        message_id=message.message_id,
        message_stream=message.stream,
        payload=fields.pop("payload", {"Recipient": recipient}),
        **fields,
    )


@pytest.fixture
def viewer(login):
    return login("viewer", VIEW)


@pytest.fixture
def support(login):
    return login("support", VIEW, REACTIVATE)


# -- the list ---------------------------------------------------------------------------------------


def test_list_is_read_only_and_searches_by_address_message_id_and_subject(viewer, db):
    anna = sent("Anna@Example.com", subject="Password reset")
    bob = sent("bob@example.com", subject="Invoice 42")
    page = viewer.get(CHANGELIST).content.decode()
    assert "Password reset" in page and "Invoice 42" in page
    assert "addlink" not in page and 'name="action"' not in page
    for term, found, missing in (
        ("anna@EXAMPLE.com", anna, bob),
        (bob.message_id, bob, anna),
        ("invoice", bob, anna),
    ):
        html = viewer.get(CHANGELIST, {"q": term}).content.decode()
        assert found.subject in html and missing.subject not in html, term
    assert viewer.post(CHANGELIST + "add/").status_code == 403
    assert viewer.post(f"{CHANGELIST}{anna.pk}/delete/").status_code == 403


def test_list_filters_by_stream_and_recipient_status(viewer, db):
    sent(subject="Newsletter", stream="broadcast", status="delivered")
    sent(subject="Reset", status="bounced")
    html = viewer.get(CHANGELIST, {"stream": "broadcast"}).content.decode()
    assert "Newsletter" in html and "Reset" not in html
    html = viewer.get(CHANGELIST, {"status": "bounced"}).content.decode()
    assert "Reset" in html and "Newsletter" not in html
    # A status that is no status, and a lookup the page does not offer: answered, never a 500.
    assert viewer.get(CHANGELIST, {"status": "nope"}).status_code in (200, 302)
    assert viewer.get(CHANGELIST, {"subject__regex": "x"}).status_code in (200, 302, 400)


def test_no_view_permission_no_desk(login, db):
    client = login("nobody")
    message = sent()
    for url in (CHANGELIST, f"{CHANGELIST}{message.pk}/change/", RECIPIENT, DASHBOARD):
        assert client.get(url).status_code == 403, url


# -- the message page -------------------------------------------------------------------------------


def test_message_page_shows_each_recipients_timeline_linked_to_the_raw_events(login, db):
    client = login("viewer", VIEW, "postmark_admin.view_webhookevent")
    message = sent("anna@example.com", status="clicked")
    SentRecipient.objects.create(
        message=message, address="bob@example.com", address_key="bob@example.com", status="bounced", kind="cc"
    )
    delivered = event(message, "delivered", "Anna@Example.com")
    event(message, "opened", "anna@example.com")
    event(message, "opened", "anna@example.com")
    event(message, "clicked", "anna@example.com", click_url="https://example.com/reset?token=1")
    event(
        message,
        "bounced",
        "bob@example.com",
        record_type="Bounce",
        description="The mailbox does not exist.",
        payload={"Type": "HardBounce", "Email": "bob@example.com"},
    )
    suppression = {"SuppressSending": True, "SuppressionReason": "HardBounce"}
    event(message, "bounced", "bob@example.com", record_type="SubscriptionChange", payload=suppression)
    html = client.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert "Password reset" in html and message.message_id in html
    assert "opened 2 times" in html
    assert "https://example.com/reset?token=1" in html
    assert "HardBounce — The mailbox does not exist." in html
    bob = html.split('data-address="bob@example.com"')[1].split("</ol>")[0]
    assert bob.count("postmark-event-bounced") == 3  # the status, the bounce, the suppression
    assert ">suppressed<" in bob
    assert f"/admin/postmark_admin/webhookevent/{delivered.pk}/change/" in html
    assert "Fetch Postmark" in html


def test_message_page_costs_the_same_queries_whatever_the_message_holds(viewer, db):
    def queries(recipients: int) -> int:
        message = sent(f"r0-{recipients}@example.com")
        for number in range(1, recipients):
            address = f"r{number}-{recipients}@example.com"
            SentRecipient.objects.create(message=message, address=address, address_key=address, status="sent")
            event(message, "delivered", address)
            event(message, "opened", address)
        viewer.get(f"{CHANGELIST}{message.pk}/change/")  # warm the session and the settings cache
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(f"{CHANGELIST}{message.pk}/change/").status_code == 200
        return len(captured)

    assert queries(10) == queries(100)


def test_message_page_shows_the_newest_events_and_links_to_the_rest(viewer, db, monkeypatch):
    message = sent(minutes=60 * 24)
    base = timezone.now() - dt.timedelta(hours=5)
    for minute, event_type in enumerate(["delivered", "opened", "opened", "clicked", "opened"]):
        event(message, event_type, received_at=base + dt.timedelta(minutes=minute))
    monkeypatch.setattr(message_page, "TIMELINE_LIMIT", 3)
    page = message_page.message_page(message, limit=3, all_events_url="/every/")
    assert page.truncated and not page.has_gaps  # the delivery is beyond the cut: no gap claimed
    assert [entry.kind for entry in page.recipients[0].entries] == ["sent", "opened", "clicked", "opened"]
    assert not message_page.message_page(message, limit=5).truncated
    html = viewer.get(f"{CHANGELIST}{message.pk}/change/").content.decode()
    assert 'id="postmark-timeline-truncated"' in html
    assert f"/admin/postmark_admin/webhookevent/?message_id={message.message_id}" in html


def test_fetch_postmarks_record_shows_its_events(viewer, sandbox):
    from django.core.mail import EmailMessage

    backend = PostmarkBackend()  # not get_connection(): Django 6.1 refuses it beside MAILERS
    mail = EmailMessage("Hello", "Body", "sender@example.com", ["anna@example.com"], connection=backend)
    mail.send()
    message_id = sandbox.messages[0]["MessageID"]
    message = SentMessage.objects.filter(message_id=message_id).first() or sent(message_id=message_id)
    html = viewer.get(f"{CHANGELIST}{message.pk}/change/", {"postmark": "1"}).content.decode()
    assert "postmark-record-events" in html
    assert "delivered" in html.split('id="postmark-record-events"')[1]


def test_fetch_postmarks_record_of_an_unknown_message_is_a_sentence(viewer, sandbox):
    message = sent()  # never sent to the sandbox: Postmark answers 422, ErrorCode 701
    response = viewer.get(f"{CHANGELIST}{message.pk}/change/", {"postmark": "1"})
    assert response.status_code == 200
    assert "Postmark&#x27;s record could not be fetched" in response.content.decode()
    assert "701" in response.content.decode()


# -- the recipient page -----------------------------------------------------------------------------


def test_recipient_page_lists_the_addresses_messages_in_any_case(viewer, sandbox):
    sent("Anna@Example.com", subject="Reset 1", status="bounced")
    sent("someone@example.com", subject="Other")
    html = viewer.get(RECIPIENT, {"address": "ANNA@example.COM"}).content.decode()
    assert "Reset 1" in html and "Other" not in html
    assert "postmark-event-bounced" in html


def test_recipient_page_shows_the_suppression_and_reactivates_it_with_a_log_entry(support, sandbox):
    deliverability.suppress("gone2@example.com", "outbound")
    sent("gone2@example.com", subject="Reset")
    html = support.get(RECIPIENT, {"address": "gone2@example.com"}).content.decode()
    assert "ManualSuppression" in html and 'value="Reactivate"' in html
    response = support.post(
        REACTIVATE_URL, {"address": "gone2@example.com", "stream": "outbound"}, follow=True
    )
    assert ("success", messages_of(response)[0][1]) == messages_of(response)[0]
    assert "gone2@example.com" not in sandbox.suppressed("outbound")
    entry = LogEntry.objects.get()
    assert "gone2@example.com" in entry.get_change_message()
    assert entry.content_type.model == "sentmessage"


def test_reactivating_a_spam_complaint_is_refused_with_postmarks_reason(support, sandbox):
    from django.core.mail import EmailMessage

    backend = PostmarkBackend()  # not get_connection(): Django 6.1 refuses it beside MAILERS
    EmailMessage(
        "Hi", "Body", "sender@example.com", ["spamcomplaint1@example.com"], connection=backend
    ).send()
    assert "spamcomplaint1@example.com" in sandbox.suppressed("outbound")
    html = support.get(RECIPIENT, {"address": "spamcomplaint1@example.com"}).content.decode()
    assert "SpamComplaint" in html and "Only Postmark" in html
    response = support.post(
        REACTIVATE_URL, {"address": "spamcomplaint1@example.com", "stream": "outbound"}, follow=True
    )
    [(level, text)] = messages_of(response)
    assert level == "error"
    assert "You do not have the required authority to change this suppression." in text
    assert not LogEntry.objects.exists()


def test_reactivate_needs_the_permission_and_a_post(login, sandbox):
    data = {"address": "gone@example.com", "stream": "outbound"}
    viewer = login("viewer", VIEW)
    assert viewer.post(REACTIVATE_URL, data).status_code == 403
    html = viewer.get(RECIPIENT, {"address": "gone@example.com"}).content.decode()
    assert "ManualSuppression" in html and 'value="Reactivate"' not in html
    assert "gone@example.com" in sandbox.inactive
    support = login("support", VIEW, REACTIVATE)
    assert support.get(REACTIVATE_URL).status_code == 405


def test_reactivate_refuses_a_forged_form(support, sandbox):
    response = support.post(REACTIVATE_URL, {"address": "not an address", "stream": "../x"}, follow=True)
    [(level, _text)] = messages_of(response)
    assert level == "error"


def test_postmark_unreachable_is_a_sentence_never_a_500(support, db, clean_postmark_env):
    PostmarkSettings.objects.create(server_token="t", api_url=f"http://127.0.0.1:{free_port()}", timeout=1)
    sent("anna@example.com")
    response = support.get(RECIPIENT, {"address": "anna@example.com"})
    assert response.status_code == 200
    assert "postmark-error" in response.content.decode()
    response = support.post(
        REACTIVATE_URL, {"address": "anna@example.com", "stream": "outbound"}, follow=True
    )
    assert response.status_code == 200
    assert messages_of(response)[0][0] == "error"
    assert support.get(DASHBOARD).status_code == 200


def test_recipient_page_costs_the_same_queries_whatever_the_address_received(viewer, sandbox):
    def queries(count: int) -> int:
        address = f"many{count}@example.com"
        for _ in range(count):
            sent(address)
        viewer.get(RECIPIENT, {"address": address})
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(RECIPIENT, {"address": address}).status_code == 200
        return len(captured)

    assert queries(10) == queries(100)


# -- the dashboard and the summary ------------------------------------------------------------------


def test_dashboard_counts_per_stream_beside_postmark_and_flags_rates(viewer, sandbox):
    for number in range(10):
        message = sent(f"user{number}@example.com", minutes=60 * 24 * 3)
        event(message, "delivered", f"user{number}@example.com")
    bounced = sent("bad@example.com")
    event(bounced, "bounced", "bad@example.com", record_type="Bounce")
    event(bounced, "complained", "bad@example.com", record_type="SpamComplaint")
    # The suppressions that follow are normalized to the same types: not counted twice.
    event(bounced, "bounced", "bad@example.com", record_type="SubscriptionChange")
    event(bounced, "complained", "bad@example.com", record_type="SubscriptionChange")
    local = dashboard.local_counts(timezone.now())[("outbound", "day")]
    assert (local.sent, local.bounced, local.complained) == (1, 1, 1)
    html = viewer.get(DASHBOARD).content.decode()
    day = html.split('id="postmark-window-day"')[1].split("</section>")[0]
    assert "postmark-flagged" in day  # 1 of 1 bounced in the last 24 hours
    week = html.split('id="postmark-window-week"')[1].split("</section>")[0]
    assert "<td>11</td>" in week and "(9.09%)" in week
    assert "postmark-remote" in html  # Postmark's row beside the local one
    assert "<svg" in html and "postmark-chart-sent" in html


def test_dashboard_postmark_failure_is_a_notice(viewer, sandbox):
    sandbox.fail_next(500, 0, "Boom", count=10)
    from django.core.cache import cache

    cache.clear()
    response = viewer.get(DASHBOARD)
    assert response.status_code == 200
    assert 'id="postmark-stats-error"' in response.content.decode()


def test_postmarks_stats_are_cached_briefly(viewer, sandbox):
    from django.core.cache import cache

    cache.clear()
    viewer.get(DASHBOARD)
    asked = len([r for r in sandbox.requests if r.path.startswith("/stats/")])
    viewer.get(DASHBOARD)
    assert asked > 0 and len([r for r in sandbox.requests if r.path.startswith("/stats/")]) == asked


def test_dashboard_costs_the_same_queries_whatever_the_rows(viewer, sandbox):
    def queries(count: int) -> int:
        for number in range(count):
            message = sent(f"d{count}-{number}@example.com", minutes=number * 60)
            event(message, "delivered", f"d{count}-{number}@example.com")
        viewer.get(DASHBOARD)
        with CaptureQueriesContext(connection) as captured:
            assert viewer.get(DASHBOARD).status_code == 200
        return len(captured)

    assert queries(10) == queries(100)


def test_index_shows_the_summary_and_the_configuration_problems(viewer, db, clean_postmark_env):
    message = sent()
    event(message, "delivered")
    html = viewer.get("/admin/").content.decode()
    assert 'id="postmark-desk-summary"' in html
    assert "No Postmark server token is configured" in html
    assert "No webhook credentials are configured" in html
    assert DASHBOARD in html


def test_index_without_the_permission_has_no_summary(login, db):
    html = login("other", "postmark_admin.view_webhookevent").get("/admin/").content.decode()
    assert "postmark-desk-summary" not in html


def test_rates_are_flagged_at_the_thresholds():
    assert dashboard.Counts(sent=10, bounced=1).bounce_flagged
    assert not dashboard.Counts(sent=11, bounced=1).bounce_flagged
    assert dashboard.Counts(sent=1000, complained=1).spam_flagged
    assert not dashboard.Counts(sent=1001, complained=1).spam_flagged
    assert not dashboard.Counts().bounce_flagged
