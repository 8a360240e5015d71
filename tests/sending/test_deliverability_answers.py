"""Reading Postmark's answers to the desk's calls: odd values read as empty, never as an exception."""

from __future__ import annotations

import datetime as dt

import pytest

from postmark_admin.sending import deliverability_answers as answers


@pytest.mark.parametrize(
    "answer",
    [{}, {"Sent": "3", "BounceRate": None}, {"Sent": True, "Bounced": [], "BounceRate": "x"}],
)
def test_odd_stats_answers_read_as_zero(answer):
    assert answers.parse_stats(answer) == answers.OutboundStats()


def test_odd_details_answers_read_as_empty():
    details = answers.parse_details(
        {
            "MessageEvents": [None, {"Type": 5, "Details": "x"}],
            "To": [{"Email": None}, "x"],
            "Metadata": [],
            "ReceivedAt": "soon",
        }
    )
    assert details.events == (answers.MessageEvent("", "", None, {}),)
    assert (details.message.to, details.message.metadata, details.message.received_at) == ((), {}, None)


def test_merge_days():
    sends = {"Days": [{"Date": "2024-05-02", "Sent": 4}, {"Date": "2024-05-01", "Sent": 1}, {"Date": "bad"}]}
    bounces = {
        "Days": [
            {"Date": "2024-05-02", "HardBounce": 1, "SoftBounce": 2},
            {"Date": "2024-05-03", "Transient": 1},
        ]
    }
    assert answers.merge_days(sends, bounces) == [
        answers.DayCounts(dt.date(2024, 5, 1), 1, 0),
        answers.DayCounts(dt.date(2024, 5, 2), 4, 3),
        answers.DayCounts(dt.date(2024, 5, 3), 0, 1),
    ]
