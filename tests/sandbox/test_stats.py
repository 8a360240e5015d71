"""Outbound statistics: the overview's counters and rates, the per-day endpoints' Days arrays, the
filters (tag, stream, dates) and the refusals (422, ErrorCode 900, 1502, 1226), never a 5xx."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from postmark_admin.sandbox import stats
from postmark_admin.sandbox.messages import SentMessage
from postmark_admin.sandbox.records import eastern_now
from postmark_admin.sandbox.validation import check_message

from .conftest import MESSAGE, headers

TRACKED = {"HtmlBody": '<a href="https://x.example.com/">x</a>', "TrackOpens": True, "TrackLinks": "HtmlOnly"}


def api(sandbox, path, **params):
    return requests.get(sandbox.url + path, params=params or None, headers=headers(sandbox), timeout=10)


def get(sandbox, path, **params):
    answer = api(sandbox, path, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def send(sandbox, **fields):
    answer = requests.post(
        sandbox.url + "email", json={**MESSAGE, **fields}, headers=headers(sandbox), timeout=10
    )
    assert answer.status_code == 200, answer.text


@pytest.fixture
def traffic(postmark_sandbox):
    """Outbound: a tracked message to two people, a hard bounce, a soft bounce, a spam complaint (tag
    "a"); broadcast: one plain message (tag "b"); one send refused for a suppressed address."""
    send(postmark_sandbox, To="ann@example.com, bob@example.com", Tag="a", **TRACKED)
    send(postmark_sandbox, To="hardbounce@example.com", Tag="a")
    send(postmark_sandbox, To="softbounce@example.com", Tag="a")
    send(postmark_sandbox, To="spamcomplaint@example.com", Tag="a")
    send(postmark_sandbox, To="cy@example.com", Tag="b", MessageStream="broadcast")
    refused = requests.post(
        postmark_sandbox.url + "email",
        json={**MESSAGE, "To": "hardbounce@example.com"},
        headers=headers(postmark_sandbox),
        timeout=10,
    )
    assert refused.json()["ErrorCode"] == 406
    return postmark_sandbox


def test_overview_counts_every_stream_per_recipient(traffic):
    overview = get(traffic, "stats/outbound")
    assert set(overview) == set(stats.OVERVIEW_FIELDS)
    assert overview == {
        "Sent": 6,
        "Bounced": 2,
        "SMTPApiErrors": 0,
        "BounceRate": 33.333,
        "SpamComplaints": 1,
        "SpamComplaintsRate": 16.667,
        "Opens": 2,
        "UniqueOpens": 2,
        "Tracked": 2,
        "WithClientRecorded": 2,
        "WithPlatformRecorded": 2,
        "WithReadTimeRecorded": 2,
        "WithLinkTracking": 2,
        "WithOpenTracking": 2,
        "TotalTrackedLinksSent": 2,
        "UniqueLinksClicked": 2,
        "TotalClicks": 2,
    }


@pytest.mark.parametrize(
    ("params", "sent", "bounced"),
    [
        ({"messagestream": "outbound"}, 5, 2),
        ({"MessageStream": "broadcast"}, 1, 0),
        ({"tag": "b"}, 1, 0),
        ({"tag": "a", "messageStream": "outbound"}, 5, 2),
        ({"tag": "nope"}, 0, 0),
    ],
)
def test_overview_filters(traffic, params, sent, bounced):
    overview = get(traffic, "stats/outbound", **params)
    assert (overview["Sent"], overview["Bounced"]) == (sent, bounced)


def test_overview_of_nothing_has_zero_rates(postmark_sandbox):
    overview = get(postmark_sandbox, "stats/outbound")
    assert (overview["Sent"], overview["BounceRate"], overview["SpamComplaintsRate"]) == (0, 0.0, 0.0)


def test_per_day_endpoints(traffic):
    today = eastern_now().date().isoformat()
    assert get(traffic, "stats/outbound/sends") == {"Days": [{"Date": today, "Sent": 6}], "Sent": 6}
    assert get(traffic, "stats/outbound/bounces") == {
        "Days": [{"Date": today, "HardBounce": 1, "SoftBounce": 1}],
        "HardBounce": 1,
        "SoftBounce": 1,
    }
    assert get(traffic, "stats/outbound/spam") == {
        "Days": [{"Date": today, "SpamComplaint": 1}],
        "SpamComplaint": 1,
    }
    assert get(traffic, "stats/outbound/tracked") == {"Days": [{"Date": today, "Tracked": 2}], "Tracked": 2}
    assert get(traffic, "stats/outbound/opens") == {
        "Days": [{"Date": today, "Opens": 2, "Unique": 2}],
        "Opens": 2,
        "Unique": 2,
    }
    assert get(traffic, "stats/outbound/clicks") == {
        "Days": [{"Date": today, "Clicks": 2, "Unique": 2}],
        "Clicks": 2,
        "Unique": 2,
    }
    assert get(traffic, "stats/outbound/sends", messagestream="broadcast")["Sent"] == 1


def test_per_day_by_dates(traffic):
    today = eastern_now().date()
    day = dt.timedelta(days=1)
    window = {"fromdate": (today - day).isoformat(), "todate": today.isoformat()}
    assert get(traffic, "stats/outbound/sends", **window)["Sent"] == 6
    assert get(traffic, "stats/outbound/sends", fromdate=(today + day).isoformat()) == {"Days": [], "Sent": 0}
    assert get(traffic, "stats/outbound/bounces", todate=(today - day).isoformat()) == {"Days": []}


def at(day: int) -> SentMessage:
    """A plain sent message to one recipient, accepted at noon (UTC) on May ``day``, 2024."""
    checked = check_message(MESSAGE, with_template=False, streams={"outbound": "Transactional"})
    return SentMessage("id", MESSAGE, checked, dt.datetime(2024, 5, day, 12, tzinfo=dt.UTC))


def test_days_are_in_order_and_only_those_with_counts():
    rows = list(stats.counted([at(3), at(1), at(3)]))
    assert stats.per_day(rows, "sends") == {
        "Days": [{"Date": "2024-05-01", "Sent": 1}, {"Date": "2024-05-03", "Sent": 2}],
        "Sent": 3,
    }
    assert stats.per_day(rows, "bounces") == {"Days": []}
    assert stats.per_day(rows, "opens") == {"Days": [], "Opens": 0, "Unique": 0}


def test_a_day_is_a_day_in_postmarks_time_zone():
    late = SentMessage("id", MESSAGE, at(1).checked, dt.datetime(2024, 5, 2, 2, tzinfo=dt.UTC))  # 22:00 EDT
    [row] = stats.counted([late])
    assert row.day == dt.date(2024, 5, 1)


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("stats/outbound", {"fromdate": "soon"}, 900),
        ("stats/outbound/sends", {"todate": "2024-02-30"}, 900),
        ("stats/outbound/bounces", {"fromdate": "2024-05-02", "todate": "2024-05-01"}, 1502),
        ("stats/outbound/opens", {"messagestream": "nope"}, 1226),
    ],
)
def test_bad_parameters_are_refused(postmark_sandbox, path, params, code):
    answer = api(postmark_sandbox, path, **params)
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, code), answer.text


@pytest.mark.parametrize(
    "query", ["fromdate=%00", "tag=%ED%B3%BF", "messagestream=%FF", "todate=" + "1" * 300]
)
def test_hostile_parameters_never_cause_a_5xx(postmark_sandbox, query):
    answer = requests.get(
        postmark_sandbox.url + "stats/outbound?" + query, headers=headers(postmark_sandbox), timeout=10
    )
    assert answer.status_code in (200, 422), answer.text
