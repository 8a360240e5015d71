"""Whichever arrives first (desk/link.py): the send's link pass runs after its rows are committed, and
the webhook's UPDATE after its event is; with READ COMMITTED one side always sees the other.

The interleaving that used to lose a status (an event committed while the send's rows were not yet)
is played with two real connections on PostgreSQL; the ordinary orders run on every database.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from postmark_admin.desk.link import advance_for_event, advance_from_events
from postmark_admin.desk.record import Answer, record_answers
from postmark_admin.models import SentRecipient, WebhookEvent
from postmark_admin.webhooks.events import normalize
from postmark_admin.webhooks.storage import insert_event

FROM = "Shop <shop@example.com>"


@pytest.fixture(autouse=True)
def log_on(settings):
    settings.POSTMARK_LOG_MESSAGES = True


def answer(message_id: str = "m-race", address: str = "anna@example.com") -> Answer:
    return Answer(
        {"From": FROM, "Subject": "Hi"},
        (address,),
        (),
        0,
        {"ErrorCode": 0, "Message": "OK", "MessageID": message_id, "SubmittedAt": "2026-01-02T03:04:05Z"},
        {address: "sent"},
    )


def delivery(message_id: str = "m-race", address: str = "anna@example.com") -> dict:
    return {
        "RecordType": "Delivery",
        "MessageID": message_id,
        "Recipient": address,
        "DeliveredAt": "2026-01-02T03:04:06Z",
    }


def webhook(payload: dict) -> int:
    """What the tracking view does with a new event: INSERT (autocommit), then the recipient's UPDATE."""
    normalized = normalize(payload)
    inserted = insert_event(normalized)
    return advance_for_event(normalized, stored=inserted.pk is not None)


def status(address: str = "anna@example.com") -> tuple[str, str]:
    recipient = SentRecipient.objects.get(address=address)
    return recipient.status, recipient.last_event_type


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two concurrent connections: PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_an_event_committed_while_the_send_is_uncommitted_still_moves_the_recipient():
    moved_by_webhook: list[int] = []

    def other_connection() -> None:
        try:
            moved_by_webhook.append(webhook(delivery()))
        finally:
            connections.close_all()  # this thread's own connection

    with transaction.atomic():  # as in a view under ATOMIC_REQUESTS: the send's rows are not committed yet
        record_answers([answer()], "single")
        thread = threading.Thread(target=other_connection)
        thread.start()
        thread.join(10)
        assert not thread.is_alive()
        # The webhook committed its event, and its UPDATE found no committed recipient to move.
        assert moved_by_webhook == [0]
        assert status() == ("sent", "")
    # The send's commit ran its link pass, which sees the committed event.
    assert status() == ("delivered", "delivered")
    assert WebhookEvent.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_link_pass_waits_for_the_outer_commit():
    webhook(delivery())  # the event first: no recipient yet
    with transaction.atomic():
        with CaptureQueriesContext(connection) as inside:
            record_answers([answer()], "single")
        assert "SELECT" not in [query["sql"].split(None, 1)[0] for query in inside.captured_queries]
        assert status() == ("sent", "")
    assert status() == ("delivered", "delivered")


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_send_runs_no_link_pass():
    webhook(delivery())
    with CaptureQueriesContext(connection) as queries, pytest.raises(ZeroDivisionError), transaction.atomic():
        record_answers([answer()], "single")
        raise ZeroDivisionError
    assert not SentRecipient.objects.exists()
    assert not [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]


@pytest.mark.django_db(transaction=True)
def test_the_send_first_then_its_event():
    record_answers([answer()], "single")
    assert webhook(delivery()) == 1
    assert status() == ("delivered", "delivered")


@pytest.mark.django_db(transaction=True)
def test_the_same_event_applied_by_both_sides_is_harmless():
    record_answers([answer()], "single")
    webhook(delivery())
    webhook({**delivery(), "RecordType": "Open", "ReceivedAt": "2026-01-02T03:05:00Z", "FirstOpen": True})
    before = SentRecipient.objects.get()
    assert before.status == "opened"
    # The send's link pass finding the same events (as when both sides see each other) moves nothing.
    with CaptureQueriesContext(connection) as queries:
        assert advance_from_events(["m-race"], connection.alias) == 0
    assert [q["sql"].split(None, 1)[0] for q in queries.captured_queries] == ["SELECT", "UPDATE"]
    after = SentRecipient.objects.get()
    assert (after.status, after.status_at, after.last_event_type) == (
        before.status,
        before.status_at,
        before.last_event_type,
    )


@pytest.mark.django_db(transaction=True)
def test_the_link_pass_moves_each_recipient_to_the_highest_status_of_its_events():
    for payload in (
        delivery(address="anna@example.com"),
        {
            **delivery(address="bob@example.com"),
            "RecordType": "Bounce",
            "Type": "HardBounce",
            "ID": 7,
            "BouncedAt": "2026-01-02T03:04:07Z",
            "Email": "bob@example.com",
        },
        {**delivery(address="Bob@Example.com"), "DeliveredAt": "2026-01-02T03:04:08Z"},
    ):
        webhook(payload)
    both = Answer(
        {"From": FROM, "Subject": "Hi"},
        ("anna@example.com", "bob@example.com", "carl@example.com"),
        (),
        0,
        {"ErrorCode": 0, "Message": "OK", "MessageID": "m-race", "SubmittedAt": "2026-01-02T03:04:05Z"},
        dict.fromkeys(("anna@example.com", "bob@example.com", "carl@example.com"), "sent"),
    )
    with CaptureQueriesContext(connection) as queries:
        record_answers([both], "batch")
    selects = [q for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    updates = [q for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert (len(selects), len(updates)) == (1, 2)  # carl has no event: no UPDATE for him
    assert status("anna@example.com") == ("delivered", "delivered")
    assert status("bob@example.com") == ("bounced", "bounced")  # a delivery after a bounce does not undo it
    assert status("carl@example.com") == ("sent", "")


@pytest.mark.django_db(transaction=True)
def test_no_update_when_no_event_was_stored():
    with CaptureQueriesContext(connection) as queries:
        record_answers([answer()], "single")
    words = [q["sql"].split(None, 1)[0] for q in queries.captured_queries]
    assert words.count("SELECT") == 1 and "UPDATE" not in words
