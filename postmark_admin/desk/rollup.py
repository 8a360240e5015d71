"""The dashboard's counts in bounded time: closed hours kept in a small table, the rest counted live.

The dashboard counts, per stream, the recipients sent (by their message's ``submitted_at``) and the
delivery, bounce, complaint, open and click events (by ``received_at``, the time the event was
*stored*, not the time Postmark says it happened) over the last 24 hours, 7 and 30 days, and per day
for its chart. Counting that live reads every row of the last 30 days. Here:

* each **closed hour** (UTC; one that ended :data:`GRACE` ago or more) is counted once, per stream,
  into :class:`~postmark_admin.models.DeskRollup`, with a
  :class:`~postmark_admin.models.DeskRollupPeriod` row saying the hour is held. The first dashboard
  view counts every missing hour of the range (the cold view, as slow as a live count); later views
  count only the hours that closed since, in one aggregate query;
* the rest is counted **live**, from the indexed rows, by the same queries: the open hours (from the
  last closed one to now) and, at the start of each window, the part of an hour the window cuts.

Nothing on the send or webhook path writes here: the counts are built by whoever reads them.

**Late rows.** An event is counted in the hour it was stored in, so an event that arrives days after
it happened lands in the open hour and leaves closed hours alone. A row written with an old time all
the same (an import, a send whose ``submitted_at`` is Postmark's answer from a few seconds before the
INSERT, a clock a little behind) is found by id: each held hour keeps the newest event and recipient
ids that existed when it was counted, and each view looks at the rows added since (a primary-key range,
as short as the traffic since the last counted hour) for one whose time falls in a held hour; those
hours are counted again. :data:`GRACE` covers transactions still open when an hour closes.

**Deleted rows** are not noticed: the prune commands rebuild the rollup after deleting, and
``manage.py postmark_desk_rollup --rebuild`` does it on demand. The rollup is derived data: deleting it
only makes the next view cold.

Chart days are local days made of UTC hours: in a time zone whose offset is not a whole number of
hours (India, Nepal), a day's bar counts the hours that *start* on that day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from django.db.models import Case, CharField, Count, F, Func, Max, Min, Q, Sum, Value, When
from django.db.models.functions import Substr, TruncHour
from django.utils import timezone

from ..webhooks.events import EventType, RecordType

logger = logging.getLogger("postmark_admin.desk")

#: The rollup's period.
PERIOD = dt.timedelta(hours=1)
#: An hour is counted into the rollup only this long after it ended (transactions still open then).
GRACE = dt.timedelta(minutes=5)
#: Held hours older than the counted range by more than this are deleted when new hours are counted.
KEEP_BEYOND = dt.timedelta(days=2)
#: The figures, in the dashboard's order.
COLUMNS = ("sent", "delivered", "bounced", "complained", "opened", "clicked")
#: The event types counted, by the column they count in. A SubscriptionChange that follows a bounce
#: or a complaint is normalized to the same type; it is not counted a second time.
EVENT_COLUMNS: Mapping[str, str] = {
    EventType.DELIVERED: "delivered",
    EventType.BOUNCED: "bounced",
    EventType.COMPLAINED: "complained",
    EventType.OPENED: "opened",
    EventType.CLICKED: "clicked",
}

Tally = dict[str, int]
#: A half-open time range; ``None`` as its end: no end.
Range = tuple[dt.datetime, dt.datetime | None]


def zero() -> Tally:
    return dict.fromkeys(COLUMNS, 0)


def add(into: Tally, other: Mapping[str, int]) -> None:
    for column in COLUMNS:
        into[column] += other[column]


def floor_period(moment: dt.datetime) -> dt.datetime:
    """The start of the UTC hour holding ``moment``. Pure."""
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def ceil_period(moment: dt.datetime) -> dt.datetime:
    """The first hour start at or after ``moment``. Pure."""
    start = floor_period(moment)
    return start if start == moment else start + PERIOD


def periods(first: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """Every hour start from ``first`` (an hour start) up to ``end`` excluded. Pure."""
    found, current = [], first
    while current < end:
        found.append(current)
        current += PERIOD
    return found


def _in(field_name: str, span: Range) -> Q:
    start, end = span
    condition = Q(**{f"{field_name}__gte": start})
    return condition & Q(**{f"{field_name}__lt": end}) if end is not None else condition


def _hour(field_name: str, alias: str) -> Func:
    """The UTC hour of ``field_name``, per row, as the database computes it cheaply.

    On SQLite, Django's ``TruncHour`` is a Python function called once per row (most of a warm
    dashboard's time at a million messages); the stored text's first 13 characters
    (``YYYY-MM-DD HH``, the UTC hour when ``USE_TZ`` is on) are the same hour, in C.
    """
    if connections[alias].vendor == "sqlite" and settings.USE_TZ:
        return Substr(field_name, 1, 13, output_field=CharField())
    return TruncHour(field_name, tzinfo=dt.UTC)


def _nothing() -> Value:
    """A constant in place of the hour, for a range counted per stream only."""
    return Value(None, output_field=CharField())


def _as_hour(value: dt.datetime | str) -> dt.datetime:
    """An hour from :func:`_hour`: a datetime, or SQLite's ``YYYY-MM-DD HH`` text. Pure."""
    if isinstance(value, str):
        return dt.datetime(
            int(value[:4]), int(value[5:7]), int(value[8:10]), int(value[11:13]), tzinfo=dt.UTC
        )
    return floor_period(value)


def tally(
    ranges: Sequence[Range], alias: str, hourly: Sequence[bool] | None = None
) -> dict[tuple[int, str, dt.datetime | None], Tally]:
    """``(range index, stream, UTC hour) -> Tally`` for the rows in each of ``ranges``: two queries a
    range, each one index range scan (SQLite scans the whole table for an OR of ranges). A range whose
    ``hourly`` flag is false is not split by hour (its key's hour is None): one group per stream."""
    from ..models import SentRecipient, WebhookEvent

    found: dict[tuple[int, str, dt.datetime | None], Tally] = {}
    for span, (start, end) in enumerate(ranges):
        by_hour = hourly is None or hourly[span]
        sent = (
            SentRecipient.objects.using(alias)
            .filter(_in("message__submitted_at", (start, end)))
            .exclude(status="refused")
            .annotate(hour=_hour("message__submitted_at", alias) if by_hour else _nothing())
            .values_list("message__stream", "hour")
            .annotate(n=Count("id"))
            .order_by()
        )
        for stream, hour, n in sent:
            key = (span, stream, _as_hour(hour) if by_hour else None)
            found.setdefault(key, zero())["sent"] += n
        events = (
            WebhookEvent.objects.using(alias)
            .filter(_in("received_at", (start, end)), event_type__in=list(EVENT_COLUMNS))
            .exclude(record_type=RecordType.SUBSCRIPTION_CHANGE)
            .annotate(hour=_hour("received_at", alias) if by_hour else _nothing())
            .values_list("message_stream", "event_type", "hour")
            .annotate(n=Count("id"))
            .order_by()
        )
        for stream, event_type, hour, n in events:
            key = (span, stream, _as_hour(hour) if by_hour else None)
            found.setdefault(key, zero())[EVENT_COLUMNS[event_type]] += n
    return found


def _late_since(
    alias: str, first: dt.datetime, end: dt.datetime, event_mark: int, recipient_mark: int
) -> dt.datetime | None:
    """The earliest time, in ``[first, end)``, of a row added after the marks (None when none)."""
    from ..models import SentRecipient, WebhookEvent

    # The time condition inside the aggregate, not in the WHERE: SQLite would otherwise walk the
    # time index over the whole range instead of the primary key's few new rows.
    def earliest(field_name: str) -> Min:
        return Min(Case(When(_in(field_name, (first, end)), then=F(field_name)), default=None))

    events = (
        WebhookEvent.objects.using(alias)
        .filter(pk__gt=event_mark)
        .aggregate(at=earliest("received_at"))["at"]
    )
    sent = (
        SentRecipient.objects.using(alias)
        .filter(pk__gt=recipient_mark)
        .aggregate(at=earliest("message__submitted_at"))["at"]
    )
    found = [at for at in (events, sent) if at is not None]
    return min(found) if found else None


def refresh(first: dt.datetime, end: dt.datetime, alias: str) -> int:
    """Make the rollup hold every hour from ``first`` to ``end`` (hour starts), counted right: how many
    hours were counted. At most five queries when none was missing, plus the writes when some were."""
    from ..models import DeskRollup, DeskRollupPeriod, SentRecipient, WebhookEvent

    if end <= first:
        return 0
    held = {
        floor_period(period): (event_mark, recipient_mark)
        for period, event_mark, recipient_mark in DeskRollupPeriod.objects.using(alias)
        .filter(period__gte=first, period__lt=end)
        .values_list("period", "event_mark", "recipient_mark")
    }
    stale: dt.datetime | None = None
    if held:
        event_mark = max(marks[0] for marks in held.values())
        recipient_mark = max(marks[1] for marks in held.values())
        late = _late_since(alias, first, end, event_mark, recipient_mark)
        if late is not None:
            stale = floor_period(late)
            held = {period: marks for period, marks in held.items() if period < stale}
    missing = [period for period in periods(first, end) if period not in held]
    if not missing:
        return 0
    # The marks before the count: a row added while counting is looked at again by the next view.
    marks = (
        WebhookEvent.objects.using(alias).aggregate(m=Max("pk"))["m"] or 0,
        SentRecipient.objects.using(alias).aggregate(m=Max("pk"))["m"] or 0,
    )
    counted = tally([(missing[0], missing[-1] + PERIOD)], alias)
    wanted = set(missing)
    rows = [
        DeskRollup(period=period, stream=stream, **figures)
        for (_span, stream, period), figures in counted.items()
        if period in wanted
    ]
    with transaction.atomic(using=alias):
        if stale is not None:
            DeskRollup.objects.using(alias).filter(period__gte=stale, period__lt=end).delete()
            DeskRollupPeriod.objects.using(alias).filter(period__gte=stale, period__lt=end).delete()
        DeskRollupPeriod.objects.using(alias).filter(period__lt=first - KEEP_BEYOND).delete()
        DeskRollup.objects.using(alias).filter(period__lt=first - KEEP_BEYOND).delete()
        DeskRollup.objects.using(alias).bulk_create(rows, batch_size=500, ignore_conflicts=True)
        DeskRollupPeriod.objects.using(alias).bulk_create(
            [DeskRollupPeriod(period=p, event_mark=marks[0], recipient_mark=marks[1]) for p in missing],
            batch_size=500,
            ignore_conflicts=True,
        )
    return len(missing)


@dataclass
class Figures:
    """What the dashboard shows from the local tables."""

    #: ``(stream, window key) -> Tally``.
    windows: dict[tuple[str, str], Tally] = field(default_factory=dict)
    #: ``local date -> (recipients sent, bounces)`` from the chart's first day on.
    days: dict[dt.date, tuple[int, int]] = field(default_factory=dict)

    def window(self, stream: str, key: str) -> Tally:
        return self.windows.setdefault((stream, key), zero())

    def day(self, hour: dt.datetime, chart_start: dt.datetime, counts: Mapping[str, int]) -> None:
        """Add an hour's sends and bounces to its local day (an hour before the chart: nothing)."""
        if hour < chart_start:
            return
        date = timezone.localdate(hour)
        sent, bounced = self.days.get(date, (0, 0))
        self.days[date] = (sent + counts["sent"], bounced + counts["bounced"])


def figures(
    now: dt.datetime,
    windows: Iterable[tuple[str, dt.timedelta]],
    chart_start: dt.datetime,
    using: str | None = None,
) -> Figures:
    """The windows' tallies (each from ``now - length`` on, every window longer than an hour) and the
    chart's days (from ``chart_start``, an aware local midnight): the held hours plus a live count of
    the rest. When the rollup cannot be written (a read-only database, say), every figure is counted live.
    """
    from ..models import DeskRollup

    alias = using or default_alias()
    starts = {key: now - length for key, length in windows}
    first = ceil_period(min(starts.values()))
    end = max(floor_period(now - GRACE), first)
    try:
        with transaction.atomic(using=alias):
            refresh(first, end, alias)
    except DatabaseError:
        logger.exception("Postmark desk: the dashboard's rollup could not be updated; counting live")
        return _all_live(starts, chart_start, alias)
    # Live: range 0 is the open hours; range n > 0 the part of an hour window n cuts at its start
    # (the windows' starts are whole hours apart, so these ranges are disjoint).
    ranges: list[Range] = [(end, None)]
    cut: dict[int, str] = {}
    for key, start in starts.items():
        if start < ceil_period(start):
            cut[len(ranges)] = key
            ranges.append((start, ceil_period(start)))
    result = Figures()
    # The held hours summed in SQL (two short queries whatever the traffic): per stream and window
    # for the windows, per hour over every stream for the chart.
    held = DeskRollup.objects.using(alias).filter(period__gte=first, period__lt=end)
    # Each held hour in the shortest window that holds it (bucket i: from the i-th latest start on).
    order = sorted(starts.items(), key=lambda item: item[1], reverse=True)
    bucket = Case(
        *(When(period__gte=start, then=Value(index)) for index, (_key, start) in enumerate(order)),
        default=Value(len(order)),
    )
    sums = {f"{column}_sum": Sum(column) for column in COLUMNS}
    for stream, index, *values in (
        held.annotate(bucket=bucket).values_list("stream", "bucket").annotate(**sums).order_by()
    ):
        counts = {column: value or 0 for column, value in zip(COLUMNS, values, strict=True)}
        for key, _start in order[index:]:
            add(result.window(stream, key), counts)
    chart_rows = (
        held.filter(period__gte=chart_start)
        .values_list("period")
        .annotate(sent_sum=Sum("sent"), bounced_sum=Sum("bounced"))
        .order_by()
    )
    for period, sent, bounced in chart_rows:
        result.day(floor_period(period), chart_start, {"sent": sent or 0, "bounced": bounced or 0})
    hourly = [span == 0 for span in range(len(ranges))]  # only the open hours reach the chart
    for (span, stream, hour), counts in tally(ranges, alias, hourly).items():
        if span == 0:
            assert hour is not None
            for key in starts:
                add(result.window(stream, key), counts)
            result.day(hour, chart_start, counts)
        elif span in cut:
            add(result.window(stream, cut[span]), counts)
    return result


def _all_live(starts: Mapping[str, dt.datetime], chart_start: dt.datetime, alias: str) -> Figures:
    """Every figure counted live: the time from the earliest start on cut at each start, two queries."""
    order = sorted(starts.values())
    ranges: list[Range] = [(at, following) for at, following in zip(order, [*order[1:], None], strict=True)]
    result = Figures()
    for (span, stream, hour), counts in tally(ranges, alias).items():
        assert hour is not None
        for key, start in starts.items():
            if ranges[span][0] >= start:
                add(result.window(stream, key), counts)
        result.day(hour, chart_start, counts)
    return result


def default_alias() -> str:
    from ..models import DeskRollup

    return router.db_for_write(DeskRollup)


def forget(before: dt.datetime | None = None, using: str | None = None) -> None:
    """Drop the held hours that start before ``before`` (every one for None): the next view counts
    them again. Two DELETEs."""
    from ..models import DeskRollup, DeskRollupPeriod

    alias = using or default_alias()
    with transaction.atomic(using=alias):
        for model in (DeskRollup, DeskRollupPeriod):
            rows = model.objects.using(alias).all()
            rows = rows.filter(period__lt=before) if before is not None else rows
            rows.delete()


def rebuild(now: dt.datetime | None = None, using: str | None = None, days: int = 31) -> int:
    """Empty the rollup and count the last ``days`` days' closed hours again: how many hours."""
    now = now or timezone.now()
    alias = using or default_alias()
    with transaction.atomic(using=alias):
        forget(None, alias)
        return refresh(ceil_period(now - dt.timedelta(days=days)), floor_period(now - GRACE), alias)
