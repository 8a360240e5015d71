"""The desk's dashboard and its summary (the Django admin's index, Wagtail's home page).

Local figures come from the sent-message log and the webhook events through the rollup of closed
hours (:mod:`postmark_admin.desk.rollup`): a bounded number of queries for the whole page, reading
the rows of the open hours and a few hundred rollup rows, whatever the number of rows. Postmark's own ``/stats/outbound`` figures are fetched live, with a short timeout,
and kept in the project's cache (``POSTMARK_CACHE``) for :data:`STATS_CACHE_SECONDS`; when Postmark
cannot answer, the page says so and shows the local figures alone.

Rates are flagged against the review thresholds in :data:`BOUNCE_RATE_REVIEW` and
:data:`SPAM_RATE_REVIEW` (docs/desk.rst says where the figures come from).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..desk import rollup
from ..exceptions import PostmarkError, PostmarkSettingsUnavailable
from ..sending import deliverability
from . import chart
from .actions import describe_error

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

#: A bounce rate (bounced / sent, in percent) at or above this is flagged: the rate at which Postmark
#: is widely reported to review an account. See docs/desk.rst on the source.
BOUNCE_RATE_REVIEW = 10.0
#: A spam-complaint rate (complaints / sent, in percent) at or above this is flagged (docs/desk.rst).
SPAM_RATE_REVIEW = 0.1
#: Postmark's figures are cached this long (seconds).
STATS_CACHE_SECONDS = 60
#: The request timeout (seconds) for Postmark's statistics: the page waits no longer.
STATS_TIMEOUT = 3.0
#: Days the chart shows.
CHART_DAYS = 30
#: The event types the dashboard counts, by the column they count in (:mod:`..desk.rollup`).
EVENT_COLUMNS: Mapping[str, str] = rollup.EVENT_COLUMNS


@dataclass(frozen=True)
class Window:
    """A period the dashboard counts: its key, label and length."""

    key: str
    label: StrOrPromise
    length: dt.timedelta


WINDOWS = (
    Window("day", _("Last 24 hours"), dt.timedelta(hours=24)),
    Window("week", _("Last 7 days"), dt.timedelta(days=7)),
    Window("month", _("Last 30 days"), dt.timedelta(days=30)),
)


@dataclass
class Counts:
    """One stream's figures over one window (the local log's, or Postmark's)."""

    sent: int = 0
    delivered: int = 0
    bounced: int = 0
    complained: int = 0
    opened: int = 0
    clicked: int = 0

    @property
    def bounce_rate(self) -> float:
        return 100.0 * self.bounced / self.sent if self.sent else 0.0

    @property
    def spam_rate(self) -> float:
        return 100.0 * self.complained / self.sent if self.sent else 0.0

    @property
    def bounce_flagged(self) -> bool:
        return self.sent > 0 and self.bounce_rate >= BOUNCE_RATE_REVIEW

    @property
    def spam_flagged(self) -> bool:
        return self.sent > 0 and self.spam_rate >= SPAM_RATE_REVIEW


def _chart_start(now: dt.datetime, days: int) -> tuple[dt.date, dt.date, dt.datetime]:
    """The chart's first and last local day, and the first day's local midnight."""
    today = timezone.localdate(now)
    first = today - dt.timedelta(days=days - 1)
    return first, today, timezone.make_aware(dt.datetime.combine(first, dt.time()))


def local_figures(now: dt.datetime, days: int = CHART_DAYS) -> rollup.Figures:
    """The windows' and the chart's figures from the local tables, through the rollup
    (:mod:`postmark_admin.desk.rollup`): a bounded number of queries whatever the number of rows."""
    _first, _today, start = _chart_start(now, days)
    return rollup.figures(now, [(window.key, window.length) for window in WINDOWS], start)


def counts_of(figures: rollup.Figures) -> dict[tuple[str, str], Counts]:
    """``(stream, window key) -> Counts``. Pure."""
    return {key: Counts(**tally) for key, tally in figures.windows.items()}


def days_of(figures: rollup.Figures, now: dt.datetime, days: int = CHART_DAYS) -> list[chart.Day]:
    """The chart's days (recipients sent and bounces received per local day), oldest first. Pure."""
    first, today, _start = _chart_start(now, days)
    counted = [chart.Day(day, sent, bounced) for day, (sent, bounced) in figures.days.items()]
    return chart.fill_days(counted, first, today)


def local_counts(now: dt.datetime) -> dict[tuple[str, str], Counts]:
    """``(stream, window key) -> Counts`` from the local tables."""
    return counts_of(local_figures(now))


def per_day(now: dt.datetime, days: int = CHART_DAYS) -> list[chart.Day]:
    """Recipients sent and bounces received per local day, the last ``days`` days."""
    return days_of(local_figures(now, days), now, days)


# -- Postmark's figures --------------------------------------------------------------------------------


def _eastern_date(moment: dt.datetime) -> dt.date:
    """The date at ``moment`` in US Eastern time, the zone Postmark counts its statistics in."""
    try:
        from zoneinfo import ZoneInfo

        return moment.astimezone(ZoneInfo("America/New_York")).date()
    except Exception:  # no tz database: close enough for a day's bound
        return (moment - dt.timedelta(hours=5)).date()


def stats_from_postmark(stats: deliverability.OutboundStats) -> Counts:
    """Postmark's overview in the local figures' columns (opens all, clicks all). Pure."""
    return Counts(
        sent=stats.sent,
        delivered=max(stats.sent - stats.bounced, 0),
        bounced=stats.bounced,
        complained=stats.spam_complaints,
        opened=stats.opens,
        clicked=stats.total_clicks,
    )


def _cache() -> Any:
    from django.core.cache import caches

    from ..config.app_settings import app_settings

    return caches[app_settings.CACHE]


def postmark_counts(stream: str, window: Window, now: dt.datetime) -> Counts:
    """Postmark's figures for ``stream`` over ``window`` (whole days, US Eastern), cached briefly.

    Raises :class:`~postmark_admin.exceptions.PostmarkError` when Postmark cannot answer.
    """
    from ..sending.client import PostmarkClient

    fromdate, todate = _eastern_date(now - window.length), _eastern_date(now)
    key = f"postmark_admin:desk:stats:{stream}:{fromdate}:{todate}"
    try:
        cached = _cache().get(key)
    except Exception:  # a cache that cannot answer: ask Postmark
        cached = None
    if isinstance(cached, Counts):
        return cached
    client = PostmarkClient(timeout=STATS_TIMEOUT)
    counts = stats_from_postmark(deliverability.outbound_stats(stream, fromdate, todate, client=client))
    with contextlib.suppress(Exception):  # a cache that cannot store: the figures are still shown
        _cache().set(key, counts, STATS_CACHE_SECONDS)
    return counts


@dataclass(frozen=True)
class StreamRow:
    """One stream's line in one window: the local figures beside Postmark's (None when not fetched)."""

    stream: str
    local: Counts
    postmark: Counts | None


@dataclass(frozen=True)
class WindowTable:
    window: Window
    rows: tuple[StreamRow, ...]


@dataclass(frozen=True)
class Dashboard:
    tables: tuple[WindowTable, ...]
    chart: Any  # SafeString
    postmark_error: str = ""
    problems: tuple[str, ...] = field(default_factory=tuple)


def known_streams(counts: Iterable[tuple[str, str]]) -> list[str]:
    """The default stream first, then every stream found locally, by name."""
    from .recipient_page import default_stream

    first = default_stream()
    return [first, *sorted({stream for stream, _window in counts if stream and stream != first})]


def dashboard(now: dt.datetime | None = None, *, ask_postmark: bool = True) -> Dashboard:
    """The whole dashboard: the local figures, then (unless cached) one Postmark request per stream and window.

    The first failing Postmark request stops the others: its reason is shown once.
    """
    now = now or timezone.now()
    figures = local_figures(now)
    local = counts_of(figures)
    streams = known_streams(local)
    error = ""
    tables = []
    for window in WINDOWS:
        rows = []
        for stream in streams:
            remote = None
            if ask_postmark and not error:
                try:
                    remote = postmark_counts(stream, window, now)
                except (PostmarkError, PostmarkSettingsUnavailable, ValueError) as failure:
                    error = gettext("Postmark's statistics could not be fetched: %(error)s") % {
                        "error": describe_error(failure)
                    }
            rows.append(StreamRow(stream, local.get((stream, window.key), Counts()), remote))
        tables.append(WindowTable(window, tuple(rows)))
    return Dashboard(
        tuple(tables), chart.bars_svg(days_of(figures, now)), error, tuple(configuration_problems())
    )


# -- the summary -------------------------------------------------------------------------------------


def configuration_problems() -> list[str]:
    """What keeps the desk from working: no token, no webhook credentials, an unreadable settings row."""
    from ..config.effective import effective_config

    try:
        config = effective_config()
    except PostmarkSettingsUnavailable as error:
        return [str(error)]
    except PostmarkError as error:
        return [str(error)]
    problems = []
    if not config.server_token:
        problems.append(
            gettext(
                "No Postmark server token is configured: nothing can be sent and Postmark cannot be asked. "
                "Set it on the Postmark settings page, or POSTMARK_SERVER_TOKEN in settings.py."
            )
        )
    if not config.webhook_credentials:
        problems.append(
            gettext(
                "No webhook credentials are configured: this site refuses Postmark's webhooks, so "
                "deliveries, bounces, opens and clicks are not recorded. Set a webhook username and "
                "password on the Postmark settings page."
            )
        )
    return problems


@dataclass(frozen=True)
class Summary:
    """The last 24 hours over every stream, and the configuration problems."""

    counts: Counts
    problems: tuple[str, ...]


def summary(now: dt.datetime | None = None) -> Summary:
    """The local figures (the same as the dashboard's) and the configuration check; no Postmark request."""
    now = now or timezone.now()
    total = Counts()
    for (_stream, key), counts in local_counts(now).items():
        if key == WINDOWS[0].key:
            for name in ("sent", "delivered", "bounced", "complained", "opened", "clicked"):
                setattr(total, name, getattr(total, name) + getattr(counts, name))
    return Summary(total, tuple(configuration_problems()))
