"""What the desk's screens read (desk/reads.py): results and query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from postmark_admin.desk.reads import counts, per_day, recent_for_address, timeline
from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent

pytestmark = pytest.mark.django_db


def sent(
    message_id: str, *recipients: tuple[str, str], days_old: float = 0, stream: str = "outbound"
) -> SentMessage:
    message = SentMessage.objects.create(
        message_id=message_id,
        sent_via="batch",
        stream=stream,
        subject=f"About {message_id}",
        submitted_at=timezone.now() - timedelta(days=days_old),
    )
    for address, status in recipients:
        SentRecipient.objects.create(
            message=message, address=address, address_key=address.casefold(), status=status
        )
    return message


def test_recent_for_address_is_case_insensitive_newest_first(django_assert_num_queries):
    sent("m-1", ("Anna@Example.com", "delivered"))
    sent("m-2", ("anna@example.com", "bounced"), ("bob@example.com", "sent"))
    with django_assert_num_queries(1):
        rows = list(recent_for_address("  ANNA@example.COM "))
        assert [(row.message.message_id, row.status) for row in rows] == [
            ("m-2", "bounced"),
            ("m-1", "delivered"),
        ]
    assert len(recent_for_address("anna@example.com", limit=1)) == 1


def test_timeline_groups_a_messages_events_by_recipient(django_assert_num_queries):
    message = sent("m-1", ("Anna@Example.com", "opened"), ("carl@example.com", "sent"))
    for key, event_type, recipient in [
        ("1", "delivered", "anna@example.com"),
        ("2", "opened", "ANNA@example.com"),
        ("3", "opened", "other@example.com"),
    ]:
        WebhookEvent.objects.create(
            dedupe_key=key, event_type=event_type, message_id="m-1", recipient=recipient
        )
    WebhookEvent.objects.create(
        dedupe_key="4", event_type="delivered", message_id="m-2", recipient="anna@example.com"
    )
    with django_assert_num_queries(2):  # the recipients, the events
        grouped = timeline(message)
    assert {address: [event.event_type for event in events] for address, events in grouped.items()} == {
        "Anna@Example.com": ["delivered", "opened"],
        "carl@example.com": [],
        "other@example.com": ["opened"],
    }


def test_counts_per_status_stream_and_time():
    sent("m-1", ("a@example.com", "delivered"), ("b@example.com", "bounced"))
    sent("m-2", ("c@example.com", "delivered"), stream="broadcast")
    sent("m-3", ("d@example.com", "opened"), days_old=3)
    assert counts()["delivered"] == 2 and counts()["bounced"] == 1 and counts()["opened"] == 0
    assert counts(stream="broadcast") == {**dict.fromkeys(counts(), 0), "delivered": 1}
    assert counts(since=timezone.now() - timedelta(days=7))["opened"] == 1


def test_per_day_lists_every_day_with_zeros():
    sent("m-1", ("a@example.com", "bounced"), ("b@example.com", "bounced"))
    sent("m-2", ("c@example.com", "delivered"))
    sent("m-3", ("d@example.com", "delivered"), days_old=2)
    sent("old", ("e@example.com", "delivered"), days_old=30)
    days = per_day(None, 7)
    assert len(days) == 7 and days[-1] == (timezone.localdate(), 2, 1)
    assert days[-3][1:] == (1, 0) and days[0][1:] == (0, 0)
    assert per_day("broadcast", 3)[-1][1:] == (0, 0)
