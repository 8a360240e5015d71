"""The server-level endpoints read as Postmark reads them: query parameter names in any case (the official
clients send camelCase), the /bounces date filters, bounce tags and dumps, and the records' shape."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import requests

from postmark_admin.sandbox import Sandbox

from .conftest import MESSAGE, headers

EASTERN = ZoneInfo("America/New_York")


def api(sandbox, method, path, body=None, **params):
    return requests.request(
        method, sandbox.url + path, json=body, params=params or None, headers=headers(sandbox), timeout=10
    )


def send(sandbox, **fields):
    answer = api(sandbox, "POST", "email", {**MESSAGE, **fields})
    assert answer.json()["ErrorCode"] == 0, answer.json()
    return answer.json()


@pytest.fixture
def bounced(postmark_sandbox):
    """Three bounce records: a hard bounce on each sending stream (tags "a", "b"), a soft bounce."""
    send(postmark_sandbox, To="hardbounce1@example.com", Tag="a")
    send(postmark_sandbox, To="hardbounce2@example.com", Tag="b", MessageStream="broadcast")
    send(postmark_sandbox, To="softbounce@example.com", Tag="a")
    return postmark_sandbox


def listed(sandbox, **params):
    answer = api(sandbox, "GET", "bounces", **params)
    assert answer.status_code == 200, answer.json()
    return [record["Email"] for record in answer.json()["Bounces"]]


# -- query parameter names are matched in any case ---------------------------------------------------


@pytest.mark.parametrize("name", ["messagestream", "messageStream", "MessageStream", "MESSAGESTREAM"])
def test_bounces_stream_filter_in_any_case(bounced, name):
    assert listed(bounced, count=10, offset=0, **{name: "broadcast"}) == ["hardbounce2@example.com"]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"Type": "SoftBounce"}, ["softbounce@example.com"]),
        ({"TAG": "b"}, ["hardbounce2@example.com"]),
        ({"emailfilter": "HARDBOUNCE1"}, ["hardbounce1@example.com"]),
        ({"Inactive": "false"}, ["softbounce@example.com"]),
        ({"Count": 1, "Offset": 1}, ["hardbounce2@example.com"]),
    ],
)
def test_every_bounces_parameter_in_any_case(bounced, filters, expected):
    params = {"count": 10, "offset": 0} if "Count" not in filters else {}
    assert listed(bounced, **params, **filters) == expected


def test_bounces_message_id_filter_in_any_case_needs_no_paging(postmark_sandbox):
    sent = send(postmark_sandbox, To="hardbounce@example.com")
    for name in ("messageID", "messageid", "MessageID"):
        assert listed(postmark_sandbox, **{name: sent["MessageID"]}) == ["hardbounce@example.com"]


@pytest.mark.parametrize("name", ["MessageStream", "messageStream", "messagestream"])
def test_webhooks_stream_filter_in_any_case(postmark_sandbox, name):
    for stream in ("outbound", "broadcast"):
        api(
            postmark_sandbox,
            "POST",
            "webhooks",
            {"Url": f"https://x.example.com/{stream}", "MessageStream": stream},
        )
    hooks = api(postmark_sandbox, "GET", "webhooks", **{name: "broadcast"}).json()["Webhooks"]
    assert [hook["MessageStream"] for hook in hooks] == ["broadcast"]


@pytest.mark.parametrize("name", ["MessageStreamType", "messageStreamType", "messagestreamtype"])
def test_message_streams_type_filter_in_any_case(postmark_sandbox, name):
    streams = api(postmark_sandbox, "GET", "message-streams", **{name: "Broadcasts"}).json()
    assert [stream["ID"] for stream in streams["MessageStreams"]] == ["broadcast"]


def test_the_last_value_of_a_parameter_wins_whatever_its_case(bounced):
    answer = requests.get(
        bounced.url + "bounces?count=10&offset=0&messageStream=outbound&MessageStream=broadcast",
        headers=headers(bounced),
        timeout=5,
    )
    assert [record["Email"] for record in answer.json()["Bounces"]] == ["hardbounce2@example.com"]
    # The request is kept as sent: the names in the case the client used.
    assert list(bounced.requests[-1].query) == ["count", "offset", "MessageStream"]
    assert bounced.requests[-1].query["MESSAGESTREAM"] == "broadcast"


# -- /bounces by date --------------------------------------------------------------------------------


def eastern_now() -> dt.datetime:
    return dt.datetime.now(EASTERN)


@pytest.mark.parametrize("name", ["fromdate", "fromDate"])
def test_bounces_from_a_date(bounced, name):
    now = eastern_now()
    an_hour_ago = (now - dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    in_an_hour = (now + dt.timedelta(hours=1)).replace(tzinfo=None).isoformat(timespec="seconds")
    assert len(listed(bounced, count=10, offset=0, **{name: an_hour_ago})) == 3
    assert listed(bounced, count=10, offset=0, **{name: in_an_hour}) == []
    tomorrow = (now + dt.timedelta(days=1)).date().isoformat()
    assert listed(bounced, count=10, offset=0, **{name: tomorrow}) == []


@pytest.mark.parametrize("name", ["todate", "toDate"])
def test_bounces_up_to_a_date(bounced, name):
    now = eastern_now()
    # A date alone includes the whole day.
    assert len(listed(bounced, count=10, offset=0, **{name: now.date().isoformat()})) == 3
    yesterday = (now - dt.timedelta(days=1)).date().isoformat()
    assert listed(bounced, count=10, offset=0, **{name: yesterday}) == []
    an_hour_ago = (now - dt.timedelta(hours=1)).astimezone(dt.UTC).isoformat(timespec="seconds")
    assert listed(bounced, count=10, offset=0, **{name: an_hour_ago}) == []


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "1 May 2024"])
def test_a_bounces_date_must_be_a_date(postmark_sandbox, value):
    answer = api(postmark_sandbox, "GET", "bounces", count=10, offset=0, fromdate=value)
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 403)
    assert "fromdate" in answer.json()["Message"]


# -- bounce records, tags and dumps ------------------------------------------------------------------


def test_bounce_records_have_a_record_type(bounced):
    records = api(bounced, "GET", "bounces", count=10, offset=0).json()["Bounces"]
    assert [record["RecordType"] for record in records] == ["Bounce"] * 3
    bounce_id = records[-1]["ID"]
    assert api(bounced, "GET", f"bounces/{bounce_id}").json()["RecordType"] == "Bounce"
    activated = api(bounced, "PUT", f"bounces/{bounce_id}/activate").json()
    assert activated["Bounce"]["RecordType"] == "Bounce"
    assert [record["RecordType"] for record in bounced.bounces] == ["Bounce"] * 3


def test_a_spam_complaint_is_listed_as_a_bounce_record(postmark_sandbox):
    send(postmark_sandbox, To="spamcomplaint@example.com")
    [record] = api(postmark_sandbox, "GET", "bounces", count=10, offset=0).json()["Bounces"]
    assert (record["RecordType"], record["Type"]) == ("Bounce", "SpamComplaint")


def test_bounce_tags(bounced):
    answer = api(bounced, "GET", "bounces/tags")
    assert answer.status_code == 200, answer.json()
    assert answer.json() == ["a", "b"]


def test_bounce_tags_of_a_server_without_bounces(postmark_sandbox):
    send(postmark_sandbox, Tag="delivered")
    assert api(postmark_sandbox, "GET", "bounces/tags").json() == []


def test_bounce_dump(bounced):
    [record] = [r for r in bounced.bounces if r["Email"] == "hardbounce1@example.com"]
    assert record["DumpAvailable"] is True
    dump = api(bounced, "GET", f"bounces/{record['ID']}/dump")
    assert dump.status_code == 200
    assert record["Details"] in dump.json()["Body"]
    assert dump.json()["Body"].startswith("Subject: ")
    missing = api(bounced, "GET", "bounces/999/dump")
    assert (missing.status_code, missing.json()["ErrorCode"]) == (422, 1001)


def test_one_message_stream(postmark_sandbox):
    stream = api(postmark_sandbox, "GET", "message-streams/broadcast").json()
    assert (stream["ID"], stream["MessageStreamType"]) == ("broadcast", "Broadcasts")
    listed_streams = api(postmark_sandbox, "GET", "message-streams").json()["MessageStreams"]
    assert stream == listed_streams[1]
    missing = api(postmark_sandbox, "GET", "message-streams/nope")
    assert (missing.status_code, missing.json()["ErrorCode"]) == (422, 1226)


def test_bounces_on_a_sandbox_of_its_own_streams():
    with Sandbox(message_streams={"outbound": "Transactional", "news": "Broadcasts"}) as sandbox:
        send(sandbox, To="hardbounce@example.com", MessageStream="news")
        assert listed(sandbox, count=10, offset=0, messageStream="news") == ["hardbounce@example.com"]
        assert listed(sandbox, count=10, offset=0, messageStream="outbound") == []
