"""The dashboard's rollup (desk/rollup.py) gives the numbers a live count over the raw rows gives.

The reference below counts in Python, row by row, from the definition (a recipient counts as sent at
its message's ``submitted_at``, an event at its ``received_at``); each case views the figures at one or
more moments, with rows added between views (late rows, hours closing), and compares.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmark_admin.desk import rollup
from postmark_admin.models import DeskRollup, DeskRollupPeriod, SentMessage, SentRecipient, WebhookEvent
from postmark_admin.screens import dashboard

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 6, 15, 12, 34, 56, 789000, tzinfo=dt.UTC)
WINDOWS = [(window.key, window.length) for window in dashboard.WINDOWS]
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)
_numbers = itertools.count()


def message(at: dt.datetime, *statuses: str, stream: str = "outbound") -> SentMessage:
    number = next(_numbers)
    row = SentMessage.objects.create(
        message_id=f"m-{number}", stream=stream, sent_via="single", submitted_at=at
    )
    for index, status in enumerate(statuses or ("sent",)):
        address = f"u{number}-{index}@example.com"
        SentRecipient.objects.create(message=row, address=address, address_key=address, status=status)
    return row


def event(
    at: dt.datetime, event_type: str = "delivered", stream: str = "outbound", record_type: str = "Delivery"
) -> WebhookEvent:
    return WebhookEvent.objects.create(
        dedupe_key=f"e-{next(_numbers)}",
        event_type=event_type,
        record_type=record_type,
        message_stream=stream,
        message_id="m-x",
        recipient="x@example.com",
        occurred_at=at - dt.timedelta(days=40),  # Postmark's time: never what is counted
        received_at=at,
    )


def chart_start(now: dt.datetime) -> dt.datetime:
    first = timezone.localdate(now) - dt.timedelta(days=dashboard.CHART_DAYS - 1)
    return timezone.make_aware(dt.datetime.combine(first, dt.time()))


def reference(now: dt.datetime) -> rollup.Figures:
    """The figures by definition, from every row."""
    found = rollup.Figures()
    start = chart_start(now)
    rows: list[tuple[str, dt.datetime, str]] = [
        (recipient.message.stream, recipient.message.submitted_at, "sent")
        for recipient in SentRecipient.objects.select_related("message")
        if recipient.status != "refused"
    ]
    rows += [
        (row.message_stream, row.received_at, rollup.EVENT_COLUMNS[row.event_type])
        for row in WebhookEvent.objects.all()
        if row.event_type in rollup.EVENT_COLUMNS and row.record_type != "SubscriptionChange"
    ]
    for stream, at, column in rows:
        for key, length in WINDOWS:
            if at >= now - length:
                found.window(stream, key)[column] += 1
        if at >= start and column in ("sent", "bounced"):
            found.day(at, start, {"sent": int(column == "sent"), "bounced": int(column == "bounced")})
    return found


def viewed(now: dt.datetime) -> rollup.Figures:
    return rollup.figures(now, WINDOWS, chart_start(now))


def same(left: rollup.Figures, right: rollup.Figures) -> None:
    def windows(figures: rollup.Figures) -> dict:
        return {key: tally for key, tally in figures.windows.items() if any(tally.values())}

    def days(figures: rollup.Figures) -> dict:
        return {day: counts for day, counts in figures.days.items() if any(counts)}

    assert windows(left) == windows(right)
    assert days(left) == days(right)


def _boundaries(now: dt.datetime) -> None:
    """Rows on and next to every edge: the windows' starts, hour starts, the grace, the future."""
    tick = dt.timedelta(microseconds=1)
    for length in (DAY, 7 * DAY, 30 * DAY):
        for offset in (-tick, dt.timedelta(0), tick):
            message(now - length + offset)
            event(now - length + offset, "opened")
    hour = rollup.floor_period(now)
    for back in (0, 1, 2, 25, 24 * 7, 24 * 30):
        for offset in (-tick, dt.timedelta(0), tick):
            message(hour - back * HOUR + offset, stream="broadcast")
            event(hour - back * HOUR + offset, "bounced", stream="broadcast", record_type="Bounce")
    message(now - rollup.GRACE + tick)
    event(now - rollup.GRACE - tick, "clicked", record_type="Click")
    message(now + HOUR)  # in the future: counted (as a live count does)
    event(now + HOUR, "complained", record_type="SpamComplaint")


def _kinds(now: dt.datetime) -> None:
    """Every kind of row, a few days back: what counts and what does not."""
    at = now - 3 * DAY
    message(at, "delivered", "refused", "bounced")  # the refused recipient is not sent
    event(at, "bounced", record_type="Bounce")
    event(at, "bounced", record_type="SubscriptionChange")  # the suppression after it: not twice
    event(at, "deferred", record_type="Bounce")  # not a dashboard column
    event(at, "opened", stream="", record_type="Open")  # an event without a stream
    event(at - 40 * DAY, "delivered")  # beyond every window


def _late(now: dt.datetime) -> None:
    """Rows stored with a time in hours the first view counted."""
    message(now - 3 * DAY - 10 * dt.timedelta(minutes=1), "delivered")
    event(now - 6 * DAY, "bounced", record_type="Bounce")
    event(now - 29 * DAY, "opened")


def _fresh(now: dt.datetime) -> None:
    """Rows stored now (an event received now for a message Postmark handled long ago)."""
    message(now)
    event(now, "clicked", record_type="Click")


CASES: list[tuple[str, list[tuple[Callable[[dt.datetime], None] | None, dt.datetime]]]] = [
    ("boundaries", [(_boundaries, NOW)]),
    ("boundaries, an hour later", [(_boundaries, NOW), (None, NOW + HOUR)]),
    ("boundaries, within the grace", [(_boundaries, NOW.replace(minute=3))]),
    ("boundaries, on an hour", [(_boundaries, NOW.replace(minute=0, second=0, microsecond=0))]),
    ("kinds", [(_kinds, NOW)]),
    ("late rows after a view", [(_kinds, NOW), (_late, NOW)]),
    ("late rows, then hours close", [(_kinds, NOW), (_late, NOW + 2 * HOUR), (_fresh, NOW + 3 * HOUR)]),
    ("fresh rows, days of views", [(_fresh, NOW - 2 * DAY), (_fresh, NOW - DAY), (_boundaries, NOW)]),
    ("empty", [(None, NOW)]),
]


@pytest.mark.parametrize(("steps"), [steps for _name, steps in CASES], ids=[name for name, _ in CASES])
def test_rollup_equals_a_live_count(steps):
    for add_rows, now in steps:
        if add_rows is not None:
            add_rows(now)
        same(viewed(now), reference(now))
        same(viewed(now), reference(now))  # a second view (nothing left to count) too


@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Pacific/Auckland"])
def test_chart_days_are_local_days(zone):
    with timezone.override(zone):
        _boundaries(NOW)
        _kinds(NOW)
        same(viewed(NOW), reference(NOW))


def test_all_live_fallback_equals_a_live_count():
    _boundaries(NOW)
    _kinds(NOW)
    starts = {key: NOW - length for key, length in WINDOWS}
    same(rollup._all_live(starts, chart_start(NOW), "default"), reference(NOW))


def test_rebuild_and_the_prune_command_recount_after_deletions():
    _boundaries(NOW)
    viewed(NOW)
    WebhookEvent.objects.filter(event_type="bounced").delete()  # deleted rows are not noticed...
    assert rollup.rebuild(NOW) == 31 * 24 - 1  # ...until a rebuild (31 days of closed hours)
    same(viewed(NOW), reference(NOW))


def test_prune_command_refreshes_the_rollup():
    old = message(timezone.now() - 200 * DAY)
    WebhookEvent.objects.create(
        dedupe_key="late", event_type="opened", message_id=old.message_id, received_at=timezone.now() - DAY
    )
    now = timezone.now()
    viewed(now)
    call_command("postmark_prune_log", "--older-than", "100d", verbosity=0)
    assert not WebhookEvent.objects.exists()
    same(viewed(now), reference(now))


def test_the_command_counts_every_closed_hour(capsys):
    event(timezone.now() - 2 * DAY)
    call_command("postmark_desk_rollup")
    held = DeskRollupPeriod.objects.count()
    assert 30 * 24 - 2 <= held <= 30 * 24  # 30 days of hours, less the open ones
    assert f"Counted {held} closed hours" in capsys.readouterr().out
    assert DeskRollup.objects.filter(delivered=1).count() == 1
    call_command("postmark_desk_rollup", "--rebuild")
    assert DeskRollup.objects.filter(delivered=1).count() == 1


def _queries(now: dt.datetime) -> int:
    with CaptureQueriesContext(connection) as captured:
        dashboard.local_figures(now)
    return len(captured)


def test_queries_per_view_do_not_grow_with_rows():
    message(NOW - DAY / 2)
    viewed(NOW)
    few = _queries(NOW)
    for hours in range(0, 24 * 31, 7):
        message(NOW - hours * HOUR, "delivered", "opened")
        event(NOW - hours * HOUR - dt.timedelta(minutes=1))
    viewed(NOW)  # late rows: counted again once
    assert _queries(NOW) == few
    # The held hours, the late-row look-up (2), the held rows' sums (2: per stream, per hour for the
    # chart), the live part (2 per range: the open hours and three windows' cut hours), the savepoint (2).
    assert few <= 15


def test_held_hours_are_counted_once_and_old_ones_dropped():
    _fresh(NOW - 40 * DAY)
    viewed(NOW - 40 * DAY)
    assert DeskRollupPeriod.objects.filter(period__lt=NOW - 35 * DAY).exists()
    viewed(NOW)
    assert not DeskRollupPeriod.objects.filter(period__lt=NOW - 35 * DAY).exists()
    held = DeskRollupPeriod.objects.count()
    assert (
        rollup.refresh(rollup.ceil_period(NOW - 30 * DAY), rollup.floor_period(NOW - rollup.GRACE), "default")
        == 0
    )
    assert DeskRollupPeriod.objects.count() == held
