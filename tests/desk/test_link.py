"""Events linked to the log's recipients (desk/link.py): the one UPDATE per stored event, and end to end
through the sandbox posting its webhooks to a live server."""

from __future__ import annotations

import base64
import json
import time
import urllib.request

import pytest
from django.core.mail import EmailMultiAlternatives
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from postmark_admin.backends import PostmarkBackend
from postmark_admin.desk.link import advance_recipient
from postmark_admin.models import PostmarkSettings, SentMessage, SentRecipient, WebhookEvent
from postmark_admin.sandbox import Sandbox
from tests.webhooks.conftest import basic

FROM = "Shop <shop@example.com>"
HOOK = ("hookuser", "desk-hook-password-Zq81")


@pytest.fixture(autouse=True)
def log_on(settings):
    settings.POSTMARK_LOG_MESSAGES = True


def logged(address: str = "anna@example.com", status: str = "sent", message_id: str = "m-1") -> SentRecipient:
    SentMessage.objects.get_or_create(message_id=message_id, defaults={"sent_via": "single"})
    return SentRecipient.objects.create(
        message_id=message_id, address=address, address_key=address.casefold(), status=status
    )


@pytest.mark.django_db
def test_an_event_moves_its_recipient_forward_in_one_update():
    recipient = logged("Anna@Example.com")
    logged("bob@example.com")
    with CaptureQueriesContext(connection) as queries:
        assert advance_recipient("m-1", "anna@EXAMPLE.com", "delivered") == 1
    assert [query["sql"].split(None, 1)[0] for query in queries.captured_queries] == ["UPDATE"]
    recipient.refresh_from_db()
    assert (recipient.status, recipient.last_event_type) == ("delivered", "delivered")
    assert SentRecipient.objects.get(address="bob@example.com").status == "sent"


@pytest.mark.django_db
def test_an_event_never_moves_a_recipient_back():
    recipient = logged(status="bounced")
    assert advance_recipient("m-1", "anna@example.com", "opened") == 0
    assert advance_recipient("m-1", "anna@example.com", "delivered") == 0
    recipient.refresh_from_db()
    assert recipient.status == "bounced"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("message_id", "recipient", "event_type"),
    [("m-1", "anna@example.com", "deferred"), ("", "anna@example.com", "delivered"), ("m-1", "", "opened")],
)
def test_no_sql_for_an_event_that_moves_nothing(message_id, recipient, event_type):
    logged()
    with CaptureQueriesContext(connection) as queries:
        assert advance_recipient(message_id, recipient, event_type) == 0
    assert queries.captured_queries == []


@pytest.mark.django_db
def test_no_sql_with_the_log_off(settings):
    settings.POSTMARK_LOG_MESSAGES = False
    with CaptureQueriesContext(connection) as queries:
        assert advance_recipient("m-1", "anna@example.com", "delivered") == 0
    assert queries.captured_queries == []


@pytest.mark.django_db
def test_the_view_advances_once_per_stored_event_not_for_a_duplicate(client, clean_postmark_env, settings):
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "postmark:s3cret"
    logged()
    payload = {
        "RecordType": "Delivery",
        "MessageID": "m-1",
        "Recipient": "anna@example.com",
        "DeliveredAt": "2026-01-01T00:00:00Z",
    }
    auth = {"HTTP_AUTHORIZATION": basic("postmark", "s3cret")}
    url = reverse("postmark_admin:tracking")
    with CaptureQueriesContext(connection) as first:
        assert (
            client.post(url, json.dumps(payload), content_type="application/json", **auth).status_code == 200
        )
    with CaptureQueriesContext(connection) as again:
        assert (
            client.post(url, json.dumps(payload), content_type="application/json", **auth).status_code == 200
        )
    updates = lambda queries: [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]  # noqa: E731
    if connection.vendor == "postgresql":
        # The INSERT and the UPDATE in one statement (tests/webhooks/test_views_statements.py).
        assert [q["sql"].split(None, 1)[0] for q in first.captured_queries][-1:] == ["WITH"]
        assert updates(first) == []
    else:
        assert len(updates(first)) == 1
    assert updates(again) == []
    assert SentRecipient.objects.get().status == "delivered"


def _post_webhook(url: str, payload: dict) -> int:
    request = urllib.request.Request(url, json.dumps(payload).encode(), {"Content-Type": "application/json"})
    request.add_header("Authorization", "Basic " + base64.b64encode(":".join(HOOK).encode()).decode())
    with urllib.request.urlopen(request, timeout=5) as answer:
        return answer.status


def _wait_for(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_end_to_end_statuses_move_with_the_sandbox_webhooks(
    live_server, transactional_db, clean_postmark_env
):
    tracking_url = live_server.url + reverse("postmark_admin:tracking")
    with Sandbox(
        webhook_url=tracking_url, webhook_auth=HOOK, webhook_events=("Delivery", "Open", "Bounce")
    ) as sandbox:
        PostmarkSettings.objects.create(
            server_token=sandbox.token,
            api_url=sandbox.url,
            webhook_username=HOOK[0],
            webhook_password=HOOK[1],
        )
        messages = []
        for address in ("anna@example.com", "hardbounce-bob@example.com"):
            message = EmailMultiAlternatives("Your order", "Thanks", FROM, [address])
            message.attach_alternative("<p>Thanks</p>", "text/html")
            message.track_opens = True
            messages.append(message)
        assert PostmarkBackend().send_messages(messages) == 2
        sandbox.wait_for_webhooks(3)  # anna: delivery, open; bob: the hard bounce
        _wait_for(lambda: WebhookEvent.objects.count() == 3)
    statuses = dict(SentRecipient.objects.values_list("address", "status"))
    assert statuses == {"anna@example.com": "opened", "hardbounce-bob@example.com": "bounced"}
    # A hard bounce then an open (a proxy fetching the image): the recipient stays bounced.
    bounced = SentRecipient.objects.get(address="hardbounce-bob@example.com")
    open_event = {
        "RecordType": "Open",
        "MessageID": bounced.message_id,
        "Recipient": bounced.address,
        "ReceivedAt": "2026-01-01T00:00:00Z",
        "FirstOpen": True,
    }
    assert _post_webhook(tracking_url, open_event) == 200
    assert WebhookEvent.objects.filter(message_id=bounced.message_id, event_type="opened").exists()
    bounced.refresh_from_db()
    assert bounced.status == "bounced" and bounced.last_event_type == "bounced"
