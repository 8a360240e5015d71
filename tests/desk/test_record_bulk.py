"""The sent-message log on the Bulk API path: the job is recorded, its recipients queued."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkAPIError
from postmark_admin.message import PostmarkMessage
from postmark_admin.models import SentMessage

FROM = "news@example.com"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def log_on(settings):
    settings.POSTMARK_LOG_MESSAGES = True


def test_a_bulk_job_is_one_message_with_its_recipients_queued(postmark_sandbox):
    message = PostmarkMessage(
        "Hello {{name}}",
        "Hi",
        FROM,
        ["a@example.com", "b@example.com"],
        bcc=["audit@example.com"],
        message_stream="broadcast",
    )
    message.tags = ["newsletter"]
    assert PostmarkBackend(bulk=True).send_messages([message]) == 1
    job = message.postmark_status.bulk_job
    sent = SentMessage.objects.get()
    assert (sent.message_id, sent.sent_via, sent.stream, sent.tag) == (
        f"bulk:{job.id}",
        "bulk",
        "broadcast",
        "newsletter",
    )
    assert sorted(sent.recipients.values_list("address", "kind", "status")) == [
        ("a@example.com", "to", "queued"),
        ("audit@example.com", "bcc", "queued"),
        ("b@example.com", "to", "queued"),
    ]


def test_a_refused_bulk_request_records_the_refusal(postmark_sandbox):
    message = PostmarkMessage("Hello", "Hi", FROM, ["a@example.com"], message_stream="outbound")
    with pytest.raises(PostmarkAPIError):
        PostmarkBackend(bulk=True).send_messages([message])
    sent = SentMessage.objects.get()
    assert sent.error_code == 1236 and sent.message_id.startswith("refused:")
    assert list(sent.recipients.values_list("status", flat=True)) == ["refused"]


def test_bulk_and_batch_in_one_call(postmark_sandbox):
    news = PostmarkMessage("Hello", "Hi", FROM, ["a@example.com"], message_stream="broadcast")
    news.bulk = True
    plain = EmailMessage("Hi", "Body", FROM, ["t@example.com"])
    PostmarkBackend().send_messages([plain, news])
    assert sorted(SentMessage.objects.values_list("sent_via", flat=True)) == ["bulk", "single"]
