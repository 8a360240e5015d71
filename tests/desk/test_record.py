"""The sent-message log's writes (desk/record.py), through PostmarkBackend into the sandbox."""

from __future__ import annotations

import logging
import re
from datetime import timedelta

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmark_admin.backends import PostmarkBackend
from postmark_admin.desk.insert import max_rows
from postmark_admin.desk.record import Answer, build_rows, record_answers
from postmark_admin.exceptions import PostmarkRecipientsRefused
from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent
from tests.database_down import default_database_down

FROM = "Shop <shop@example.com>"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def log_on(settings):
    settings.POSTMARK_LOG_MESSAGES = True  # the default, whatever the settings module says


def statements(queries: CaptureQueriesContext) -> list[str]:
    words = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    return [word for word in words if word not in ("SAVEPOINT", "RELEASE", "BEGIN", "COMMIT")]


def per_request() -> list[str]:
    """A logged request's statements: its INSERT, then (once committed) the link SELECT.

    On PostgreSQL one statement, ``WITH logged AS (INSERT ... messages) INSERT ... recipients``; on SQLite
    (no data-modifying CTE) two INSERTs in one transaction.
    """
    inserts = ["WITH"] if connection.vendor == "postgresql" else ["INSERT", "INSERT"]
    return [*inserts, "SELECT"]


@pytest.mark.django_db(transaction=True)  # autocommit, as a send outside a transaction runs
def test_a_1200_message_send_is_three_requests_of_one_insert_then_one_select(postmark_sandbox):
    messages = [
        EmailMessage(
            f"Order {i}", "Thanks", FROM, [f"Customer {i} <c{i}@Example.com>"], cc=["cc@example.com"]
        )
        for i in range(1200)
    ]
    with CaptureQueriesContext(connection) as queries:
        assert PostmarkBackend().send_messages(messages) == 1200
    assert len(postmark_sandbox.requests) == 3  # 500 + 500 + 200
    assert statements(queries) == per_request() * 3
    inserts = [
        re.findall(r"INSERT (?:OR IGNORE )?INTO (\S+)", query["sql"]) for query in queries.captured_queries
    ]
    tables = [table for found in inserts for table in found]
    messages_table, recipients_table = (
        connection.ops.quote_name(m._meta.db_table) for m in (SentMessage, SentRecipient)
    )
    assert tables == [messages_table, recipients_table] * 3  # each request's messages, then their recipients
    assert SentMessage.objects.count() == 1200
    assert SentRecipient.objects.count() == 2400
    sent = SentMessage.objects.get(subject="Order 7")
    assert sent.message_id == messages[7].postmark_status.message_id
    assert (sent.stream, sent.sent_via, sent.error_code, sent.from_email) == ("outbound", "batch", 0, FROM)
    assert sent.text_body == sent.html_body == "" and sent.bodies_expire_at is None  # privacy by default
    cc, to = sent.recipients.order_by("kind").values_list("address", "address_key", "kind", "status")
    assert cc == ("cc@example.com", "cc@example.com", "cc", "sent")
    assert to == ("c7@Example.com", "c7@example.com", "to", "sent")


def test_a_single_message_with_tag_metadata_and_bcc(postmark_sandbox):
    message = EmailMessage("Reset", "Your link", FROM, ["anna@example.com"], bcc=["audit@example.com"])
    message.tags = ["password-reset"]
    message.metadata = {"user": "42"}
    PostmarkBackend().send_messages([message])
    sent = SentMessage.objects.get()
    assert (sent.sent_via, sent.tag, sent.metadata) == ("single", "password-reset", {"user": "42"})
    assert sent.submitted_at is not None and abs(sent.submitted_at - timezone.now()) < timedelta(minutes=1)
    assert dict(sent.recipients.values_list("address", "kind")) == {
        "anna@example.com": "to",
        "audit@example.com": "bcc",
    }


def test_bodies_are_kept_only_when_a_setting_says_for_how_long(postmark_sandbox, settings):
    settings.POSTMARK_LOG_BODIES_DAYS = 7
    message = EmailMultiAlternatives("Hi", "text body", FROM, ["a@example.com"])
    message.attach_alternative("<p>html body</p>", "text/html")
    PostmarkBackend().send_messages([message])
    sent = SentMessage.objects.get()
    assert (sent.text_body, sent.html_body) == ("text body", "<p>html body</p>")
    assert timedelta(days=6, hours=23) < sent.bodies_expire_at - timezone.now() <= timedelta(days=7)


@pytest.mark.postmark_sandbox(inactive=["gone@example.com"])
def test_a_refused_message_records_the_refusal_only(postmark_sandbox, settings):
    settings.POSTMARK_LOG_BODIES_DAYS = 7
    with pytest.raises(PostmarkRecipientsRefused):
        PostmarkBackend().send_messages([EmailMessage("Hi", "secret body", FROM, ["gone@example.com"])])
    sent = SentMessage.objects.get()
    assert sent.message_id.startswith("refused:") and sent.error_code == 406 and sent.refused
    assert "inactive" in sent.postmark_message.lower()
    assert sent.text_body == "" and sent.bodies_expire_at is None
    assert list(sent.recipients.values_list("status", flat=True)) == ["refused"]


@pytest.mark.postmark_sandbox(inactive=["gone@example.com"])
def test_an_inactive_recipient_of_an_accepted_message_is_refused_alone(postmark_sandbox):
    PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["ok@example.com", "gone@example.com"])])
    sent = SentMessage.objects.get()
    assert sent.error_code == 0
    assert dict(sent.recipients.values_list("address", "status")) == {
        "ok@example.com": "sent",
        "gone@example.com": "refused",
    }


def test_a_whole_batch_refused_is_recorded_per_message(postmark_sandbox):
    postmark_sandbox.fail_next(
        status=422, error_code=10, message="The Server Token you provided was invalid."
    )
    sent = PostmarkBackend(fail_silently=True).send_messages(
        [EmailMessage("Hi", "B", FROM, [f"x{i}@example.com"]) for i in range(3)]
    )
    assert sent == 0
    assert sorted(SentMessage.objects.values_list("error_code", flat=True)) == [10, 10, 10]
    assert set(SentRecipient.objects.values_list("status", flat=True)) == {"refused"}


def test_no_answer_no_record(postmark_sandbox):
    postmark_sandbox.fail_next(drop=True, count=10)
    PostmarkBackend(fail_silently=True).send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])])
    assert not SentMessage.objects.exists()


def test_with_the_log_off_nothing_is_recorded(postmark_sandbox, settings):
    settings.POSTMARK_LOG_MESSAGES = False
    with CaptureQueriesContext(connection) as queries:
        PostmarkBackend().send_messages(
            [EmailMessage("Hi", "B", FROM, [f"a{i}@example.com"]) for i in range(3)]
        )
    assert queries.captured_queries == []
    assert not SentMessage.objects.exists()


def test_events_that_arrived_first_move_the_recorded_status(django_capture_on_commit_callbacks):
    """Whichever arrives first: events stored before the send's rows move them once those are committed."""
    for event_type, recipient in [
        ("delivered", "Anna@Example.com"),
        ("opened", "anna@example.com"),
        ("bounced", "bob@example.com"),
    ]:
        WebhookEvent.objects.create(
            dedupe_key=f"{event_type}-{recipient}",
            event_type=event_type,
            message_id="m-1",
            recipient=recipient,
        )
    answer = Answer(
        {"From": FROM, "Subject": "Hi"},
        ("anna@example.com", "bob@example.com", "carl@example.com"),
        (),
        0,
        {
            "ErrorCode": 0,
            "Message": "OK",
            "MessageID": "m-1",
            "SubmittedAt": "2026-01-02T03:04:05.1234567-05:00",
        },
        dict.fromkeys(("anna@example.com", "bob@example.com", "carl@example.com"), "sent"),
    )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        record_answers([answer], "single")
    # Inserted as the send saw them; the link pass waits for the commit.
    assert set(SentRecipient.objects.values_list("status", flat=True)) == {"sent"}
    with CaptureQueriesContext(connection) as queries:
        for callback in callbacks:
            callback()
    assert statements(queries) == ["SELECT", "UPDATE", "UPDATE"]  # one SELECT; an UPDATE per moved recipient
    sent = SentMessage.objects.get(message_id="m-1")
    assert sent.submitted_at.isoformat() == "2026-01-02T08:04:05.123456+00:00"
    assert dict(sent.recipients.values_list("address", "status")) == {
        "anna@example.com": "opened",
        "bob@example.com": "bounced",
        "carl@example.com": "sent",
    }
    assert sent.recipients.get(address="anna@example.com").last_event_type == "opened"


def test_build_rows_leaves_out_an_answer_that_is_no_result_object():
    answer = Answer({}, ("a@example.com",), (), 0, ["not", "a", "result"], {})  # type: ignore[arg-type]
    assert build_rows([answer], "batch", timezone.now(), 0) == ([], [])


def test_one_insert_holds_a_whole_request_on_this_database():
    # Postmark's 500 messages a request, each with up to 10 recipients, fit one statement each.
    assert max_rows(connection.alias, SentMessage) >= 500
    assert max_rows(connection.alias, SentRecipient) >= 4000


@pytest.mark.django_db(transaction=True)
def test_a_database_down_loses_neither_the_send_nor_its_result(postmark_sandbox, tmp_path, caplog):
    message = EmailMessage("Hi", "B", FROM, ["a@example.com"])
    with default_database_down(tmp_path), caplog.at_level(logging.ERROR, logger="postmark_admin.desk"):
        assert PostmarkBackend().send_messages([message]) == 1
    assert message.postmark_status.status == {"sent"}
    assert len(postmark_sandbox.messages) == 1
    assert "not recorded in the sent-message log" in caplog.text
    assert not SentMessage.objects.exists()
