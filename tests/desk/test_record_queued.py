"""The sent-message log on the queued path: the worker records what Postmark answered."""

from __future__ import annotations

import importlib.util

import pytest
from django.core.mail import EmailMessage

from postmark_admin.backends import QueuedPostmarkBackend
from postmark_admin.models import SentMessage, SentRecipient

if not any(importlib.util.find_spec(name) for name in ("django.tasks", "django_tasks")):
    pytest.skip("needs the Tasks framework (the [tasks] extra on Django 5.2)", allow_module_level=True)

FROM = "Shop <shop@example.com>"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def log_on(settings):
    settings.POSTMARK_LOG_MESSAGES = True


def test_the_worker_records_sent_and_refused_messages(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    messages = [
        EmailMessage("Order", "B", FROM, ["a@example.com"], cc=["c@example.com"], bcc=["audit@example.com"]),
        EmailMessage("Hi", "B", FROM, ["gone@example.com"]),
    ]
    messages[0].tags = ["orders"]
    QueuedPostmarkBackend().send_messages(messages)
    sent = SentMessage.objects.get(subject="Order")
    assert sent.message_id == postmark_sandbox.messages[0]["MessageID"]
    assert (sent.sent_via, sent.tag, sent.from_email, sent.error_code) == ("queued", "orders", FROM, 0)
    assert dict(sent.recipients.values_list("address", "kind")) == {
        "a@example.com": "to",
        "c@example.com": "cc",
        "audit@example.com": "bcc",
    }
    refused = SentMessage.objects.get(subject="Hi")
    assert refused.error_code == 406 and refused.message_id.startswith("refused:")
    assert SentRecipient.objects.get(message=refused).status == "refused"


def test_a_message_that_may_not_have_been_sent_is_not_recorded(postmark_sandbox):
    postmark_sandbox.fail_next(status=500, error_code=0, message="boom", after_processing=True)
    QueuedPostmarkBackend(fail_silently=True).send_messages(
        [EmailMessage("Hi", "B", FROM, ["a@example.com"])]
    )
    assert not SentMessage.objects.exists()


def test_the_log_off_records_nothing(postmark_sandbox, settings):
    settings.POSTMARK_LOG_MESSAGES = False
    QueuedPostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])])
    assert not SentMessage.objects.exists()
