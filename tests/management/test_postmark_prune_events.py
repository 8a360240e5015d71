"""manage.py postmark_prune_events."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmark_admin.management.commands.postmark_prune_events import parse_age
from postmark_admin.models import WebhookEvent

pytestmark = pytest.mark.django_db


def make_events(ages_in_days: list[float]) -> None:
    now = timezone.now()
    WebhookEvent.objects.bulk_create(
        WebhookEvent(
            dedupe_key=f"test:{index}",
            event_type="delivered",
            record_type="Delivery",
            received_at=now - timedelta(days=age),
            payload={"n": index},
        )
        for index, age in enumerate(ages_in_days)
    )


def ages_left() -> list[int]:
    now = timezone.now()
    return sorted(
        round((now - at).total_seconds() / 86400)
        for at in WebhookEvent.objects.values_list("received_at", flat=True)
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", timedelta(days=30)),
        ("30", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("2W", timedelta(weeks=2)),
        ("90m", timedelta(minutes=90)),
        (" 45s ", timedelta(seconds=45)),
    ],
)
def test_parse_age(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "d", "-3d", "3y", "1.5d", "30 days"])
def test_parse_age_refuses(text):
    with pytest.raises(ValueError):
        parse_age(text)


def test_deletes_only_older_events_in_batches():
    make_events([1, 5, 29, 31, 40, 60, 90, 120, 365, 400])
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("postmark_prune_events", "--older-than", "30d", "--batch-size", "3", stdout=out)
    assert ages_left() == [1, 5, 29]
    assert "Deleted 7 webhook events" in out.getvalue()
    deletes = [q["sql"] for q in queries if 'DELETE FROM "postmark_admin_webhookevent"' in q["sql"]]
    assert len(deletes) == 3  # 3 + 3 + 1: batches, never a SELECT of rows into Python
    assert not any(q["sql"].startswith("SELECT") for q in queries)
    if connection.vendor == "postgresql":
        # Each batch after the first starts where the previous one ended, past the dead index entries.
        assert [">=" in sql for sql in deletes] == [False, True, True]
    # Then the dashboard's rollup forgets the hours up to the cutoff (two DELETEs, desk/rollup.py).
    rollup = [q["sql"] for q in queries if q["sql"].startswith('DELETE FROM "postmark_admin_deskrollup')]
    assert len(rollup) == 2


def test_ties_at_a_batch_boundary_are_all_deleted():
    """Events with the same received_at on both sides of a batch boundary: none is skipped."""
    now = timezone.now()
    same = now - timedelta(days=50)
    WebhookEvent.objects.bulk_create(
        WebhookEvent(dedupe_key=f"tie:{index}", event_type="delivered", received_at=same, payload={})
        for index in range(7)
    )
    make_events([40, 45, 1])
    out = StringIO()
    call_command("postmark_prune_events", "--older-than", "30d", "--batch-size", "2", stdout=out)
    assert "Deleted 9 webhook events" in out.getvalue()
    assert ages_left() == [1]


def test_exact_multiple_of_the_batch_size():
    make_events([50, 60, 70, 80])
    call_command("postmark_prune_events", "--older-than=30d", "--batch-size=2", stdout=StringIO())
    assert ages_left() == []


def test_retention_setting_is_the_default(settings):
    settings.POSTMARK_EVENT_RETENTION_DAYS = 7
    make_events([1, 6, 8, 100])
    call_command("postmark_prune_events", stdout=StringIO())
    assert ages_left() == [1, 6]


def test_argument_wins_over_setting(settings):
    settings.POSTMARK_EVENT_RETENTION_DAYS = 7
    make_events([1, 6, 8, 100])
    call_command("postmark_prune_events", "--older-than", "90d", stdout=StringIO())
    assert ages_left() == [1, 6, 8]


def test_dry_run_deletes_nothing():
    make_events([1, 100])
    out = StringIO()
    call_command("postmark_prune_events", "--older-than", "30d", "--dry-run", stdout=out)
    assert "1 webhook event received" in out.getvalue()
    assert WebhookEvent.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "POSTMARK_EVENT_RETENTION_DAYS"),
        (["--older-than", "soon"], "--older-than"),
        (["--older-than", "3d", "--batch-size", "0"], "--batch-size"),
    ],
)
def test_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("postmark_prune_events", *args, stdout=StringIO())
