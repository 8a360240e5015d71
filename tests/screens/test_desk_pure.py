"""The desk screens' pure parts: the search's shapes, Postmark's MessageEvents as timeline entries, the
streams a recipient page asks about, the rates, and the chart."""

from __future__ import annotations

import datetime as dt

import pytest

from postmark_admin.screens import chart, dashboard, message_page, recipient_page
from postmark_admin.sending.deliverability import MessageEvent, OutboundStats


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("", None),
        ("   ", None),
        ("Anna@Example.COM", {"address_key": "anna@example.com"}),
        ("0b7a1f0e-3c4d-4e5f-8a9b-0c1d2e3f4a5b", {"message_id": "0b7a1f0e-3c4d-4e5f-8a9b-0c1d2e3f4a5b"}),
        ("Password", {"subject__istartswith": "Password"}),
    ],
)
def test_search_condition_by_the_terms_shape(term, expected):
    assert message_page.search_condition(term) == expected


@pytest.mark.parametrize(
    ("event_type", "details", "kind", "url", "detail"),
    [
        ("Delivered", {"DeliveryMessage": "250 OK"}, "delivered", "", "a@x.org — 250 OK"),
        ("LinkClicked", {"OriginalLink": "https://e.org/r"}, "clicked", "https://e.org/r", "a@x.org"),
        ("Bounced", {"Summary": "Mailbox full"}, "bounced", "", "a@x.org — Mailbox full"),
        ("Transient", {}, "deferred", "", "a@x.org"),
        ("SubscriptionChanged", {}, "unsubscribed", "", "a@x.org"),
        ("SomethingNew", {}, "unknown", "", "a@x.org"),
    ],
)
def test_postmarks_message_events_as_timeline_entries(event_type, details, kind, url, detail):
    entry = message_page.postmark_entry(MessageEvent("a@x.org", event_type, None, details))
    assert (entry.kind, entry.url, entry.detail) == (kind, url, detail)
    if kind == "unknown":
        assert entry.label == "SomethingNew"  # shown as Postmark named it, never dropped


def test_streams_to_check_start_with_the_default_then_each_stream_once():
    class Message:
        def __init__(self, stream):
            self.stream = stream

    messages = [Message("broadcast"), Message(""), Message("outbound"), Message("broadcast")]
    assert recipient_page.streams_to_check(messages, "outbound") == ["outbound", "broadcast"]
    assert recipient_page.streams_to_check([], "") == ["outbound"]


def test_postmarks_overview_in_the_local_columns():
    counts = dashboard.stats_from_postmark(
        OutboundStats(sent=10, bounced=2, spam_complaints=1, opens=7, total_clicks=3)
    )
    assert (
        counts.sent,
        counts.delivered,
        counts.bounced,
        counts.complained,
        counts.opened,
        counts.clicked,
    ) == (
        10,
        8,
        2,
        1,
        7,
        3,
    )
    assert counts.bounce_rate == 20.0 and counts.bounce_flagged and counts.spam_flagged


def test_chart_has_every_day_and_two_bars_each_on_one_scale():
    first = dt.date(2026, 11, 1)
    days = chart.fill_days([chart.Day(dt.date(2026, 11, 3), sent=4, bounced=1)], first, dt.date(2026, 11, 5))
    assert [day.date.day for day in days] == [1, 2, 3, 4, 5]
    svg = str(chart.bars_svg(days))
    assert svg.count("<rect") == 10
    assert svg.count('class="postmark-chart-sent"') == 5
    plot = chart.HEIGHT - chart.AXIS
    assert f'height="{plot:.1f}"' in svg  # the highest bar fills the plot
    assert "4 sent" in svg and "1 bounced" in svg
    assert str(chart.bars_svg([])) == ""


def test_chart_escapes_nothing_it_was_not_given():
    svg = str(chart.bars_svg([chart.Day(dt.date(2026, 1, 1))]))
    assert "<script" not in svg and 'role="img"' in svg
