"""A server-rendered SVG bar chart of sends and bounces per day (no JavaScript). Pure.

Colours are CSS classes (``postmark-chart-sent``, ``postmark-chart-bounced``) that the admin's
stylesheet fills from its theme variables, so the chart follows the light and dark themes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.formats import date_format, number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext

WIDTH = 720
HEIGHT = 180
#: Room under the bars for the date labels.
AXIS = 20


@dataclass(frozen=True)
class Day:
    """One day of the chart."""

    date: dt.date
    sent: int = 0
    bounced: int = 0


def fill_days(counts: Sequence[Day], first: dt.date, last: dt.date) -> list[Day]:
    """Every day from ``first`` to ``last``, with the counts given (0 for a day without). Pure."""
    known = {day.date: day for day in counts}
    days = []
    current = first
    while current <= last:
        days.append(known.get(current, Day(current)))
        current += dt.timedelta(days=1)
    return days


def bars_svg(days: Sequence[Day]) -> SafeString:
    """Two bars a day (sent, bounced) on one scale, each with a ``<title>`` for the exact figure."""
    if not days:
        return SafeString("")
    top = max(max(day.sent, day.bounced) for day in days) or 1
    slot = WIDTH / len(days)
    bar = max(slot / 2 - 1, 1)
    plot = HEIGHT - AXIS
    parts = []
    for index, day in enumerate(days):
        x = index * slot
        label = date_format(day.date, "SHORT_DATE_FORMAT")
        for offset, value, css, text in (
            (0.0, day.sent, "postmark-chart-sent", gettext("%(date)s: %(count)s sent")),
            (bar, day.bounced, "postmark-chart-bounced", gettext("%(date)s: %(count)s bounced")),
        ):
            height = plot * value / top
            parts.append(
                (
                    css,
                    f"{x + offset:.1f}",
                    f"{plot - height:.1f}",
                    f"{bar:.1f}",
                    f"{height:.1f}",
                    text % {"date": label, "count": number_format(value, force_grouping=True)},
                )
            )
    rects = format_html_join(
        "",
        '<rect class="{}" x="{}" y="{}" width="{}" height="{}"><title>{}</title></rect>',
        parts,
    )
    labels = format_html_join(
        "",
        '<text class="postmark-chart-label" x="{}" y="{}">{}</text>',
        (
            (f"{index * slot:.1f}", HEIGHT - 5, date_format(day.date, "j M"))
            for index, day in enumerate(days)
            # Every seventh day, and the last when it is far enough from the previous label.
            if index % 7 == 0 or (index == len(days) - 1 and index % 7 >= 4)
        ),
    )
    return format_html(
        '<svg class="postmark-chart" viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}</svg>',
        WIDTH,
        HEIGHT,
        gettext("Messages sent and bounced per day"),
        rects,
        labels,
    )
