"""Outbound message search, details (with MessageEvents) and dump: shapes, filters, paging limits, and
the refusals (422, ErrorCode 700 or 701), never a 5xx."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from postmark_admin.sandbox import messages
from postmark_admin.sandbox.records import eastern_now

from .conftest import MESSAGE, headers

TRACKED = {
    "HtmlBody": '<p>Hi <a href="https://shop.example.com/r">reset</a></p>',
    "TextBody": "Hi, see https://shop.example.com/t",
    "TrackOpens": True,
    "TrackLinks": "HtmlAndText",
}


def api(sandbox, method, path, body=None, **params):
    return requests.request(
        method, sandbox.url + path, json=body, params=params or None, headers=headers(sandbox), timeout=10
    )


def send(sandbox, **fields):
    answer = api(sandbox, "POST", "email", {**MESSAGE, **fields})
    assert answer.status_code == 200, answer.text
    return answer.json()["MessageID"]


def search(sandbox, **params):
    answer = api(sandbox, "GET", "messages/outbound", **{"count": 50, "offset": 0, **params})
    assert answer.status_code == 200, answer.text
    return answer.json()


def found(sandbox, **params):
    return [message["MessageID"] for message in search(sandbox, **params)["Messages"]]


def details(sandbox, message_id):
    answer = api(sandbox, "GET", f"messages/outbound/{message_id}/details")
    assert answer.status_code == 200, answer.text
    return answer.json()


@pytest.fixture
def sent(postmark_sandbox):
    """Four messages: two on outbound (one tagged, with metadata), one on broadcast, one Cc-only."""
    first = send(
        postmark_sandbox,
        From="Shop <shop@example.com>",
        To='"Ann, A." <ann@example.com>',
        Subject="Password reset",
        Tag="reset",
        Metadata={"Color": "blue", "user": "7"},
        Attachments=[{"Name": "a.txt", "Content": "aGk=", "ContentType": "text/plain"}],
        **TRACKED,
    )
    second = send(postmark_sandbox, To="bob@example.com", Subject="Welcome", Tag="welcome")
    third = send(postmark_sandbox, To="ann@example.com", Subject="News", MessageStream="broadcast")
    fourth = send(postmark_sandbox, To=None, Cc="cy@example.com", Bcc="ann@example.com", Subject="Copy")
    return first, second, third, fourth


# -- search ------------------------------------------------------------------------------------------


def test_search_lists_the_outbound_stream_newest_first_in_postmarks_shape(postmark_sandbox, sent):
    first, second, _, fourth = sent
    answer = search(postmark_sandbox)
    assert answer["TotalCount"] == 3
    assert [m["MessageID"] for m in answer["Messages"]] == [fourth, second, first]
    message = answer["Messages"][2]
    assert set(message) == {
        "Tag", "MessageID", "MessageStream", "To", "Cc", "Bcc", "Recipients", "ReceivedAt", "From",
        "Subject", "Attachments", "Status", "TrackOpens", "TrackLinks", "Metadata", "Sandboxed",
    }  # fmt: skip
    assert message["To"] == [{"Email": "ann@example.com", "Name": "Ann, A."}]
    assert (message["From"], message["Subject"], message["Tag"]) == (
        "Shop <shop@example.com>",
        "Password reset",
        "reset",
    )
    assert (message["Status"], message["TrackOpens"], message["TrackLinks"]) == ("Sent", True, "HtmlAndText")
    assert message["Attachments"] == ["a.txt"]
    assert message["Metadata"] == {"Color": "blue", "user": "7"}
    assert dt.datetime.fromisoformat(message["ReceivedAt"]).tzinfo is not None
    copy = answer["Messages"][0]
    assert (copy["To"], copy["Cc"], copy["Bcc"]) == (
        [],
        [{"Email": "cy@example.com", "Name": None}],
        [{"Email": "ann@example.com", "Name": None}],
    )
    assert copy["Recipients"] == ["cy@example.com", "ann@example.com"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"recipient": "ANN@example.com"}, [3, 0]),  # To or Bcc, in any case
        ({"recipient": "ann"}, []),  # a whole address
        ({"fromemail": "shop@example.com"}, [0]),
        ({"tag": "welcome"}, [1]),
        ({"subject": "password"}, [0]),
        ({"status": "sent"}, [3, 1, 0]),
        ({"status": "queued"}, []),
        ({"metadata_color": "blue"}, [0]),
        ({"metadata_Color": "red"}, []),
        ({"messagestream": "broadcast"}, [2]),
        ({"MessageStream": "broadcast", "recipient": "ann@example.com"}, [2]),
        ({"count": 1, "offset": 1}, [1]),
        ({"count": 0}, []),
        ({"offset": 5}, []),
    ],
)
def test_search_filters(postmark_sandbox, sent, params, expected):
    assert found(postmark_sandbox, **params) == [sent[i] for i in expected]


def test_search_total_count_ignores_paging(postmark_sandbox, sent):
    answer = search(postmark_sandbox, count=1, offset=0)
    assert (answer["TotalCount"], len(answer["Messages"])) == (3, 1)


def test_search_by_date_in_postmarks_time_zone(postmark_sandbox, sent):
    today = eastern_now().date()
    day = dt.timedelta(days=1)
    assert len(found(postmark_sandbox, fromdate=today.isoformat(), todate=today.isoformat())) == 3
    assert found(postmark_sandbox, fromdate=(today + day).isoformat()) == []
    assert found(postmark_sandbox, todate=(today - day).isoformat()) == []
    later = (eastern_now() + dt.timedelta(minutes=5)).replace(tzinfo=None).isoformat(timespec="seconds")
    assert found(postmark_sandbox, fromdate=later) == []


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, 700),
        ({"count": 10}, 700),
        ({"offset": 0}, 700),
        ({"count": 501, "offset": 0}, 700),
        ({"count": 500, "offset": 9501}, 700),
        ({"count": -1, "offset": 0}, 700),
        ({"count": "ten", "offset": 0}, 700),
        ({"count": "9" * 500, "offset": 0}, 700),
        ({"count": "\u0661\u0660", "offset": 0}, 700),  # digits, but not ASCII ones
        ({"count": 10, "offset": 0, "status": "lost"}, 700),
        ({"count": 10, "offset": 0, "fromdate": "soon"}, 700),
        ({"count": 10, "offset": 0, "messagestream": "nope"}, 1226),
    ],
)
def test_bad_search_parameters_are_refused(postmark_sandbox, params, code):
    answer = api(postmark_sandbox, "GET", "messages/outbound", **params)
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, code), answer.text


@pytest.mark.parametrize(
    "query", ["count=%00&offset=0", "count=10&offset=0&recipient=%ED%B3%BF", "count=10&offset=0&todate=%FF"]
)
def test_hostile_search_parameters_never_cause_a_5xx(postmark_sandbox, query):
    answer = requests.get(
        postmark_sandbox.url + "messages/outbound?" + query, headers=headers(postmark_sandbox), timeout=10
    )
    assert answer.status_code in (200, 422), answer.text


# -- details and dump --------------------------------------------------------------------------------


def test_details_add_the_bodies_and_the_events(postmark_sandbox, sent):
    answer = details(postmark_sandbox, sent[0])
    assert answer["HtmlBody"] == TRACKED["HtmlBody"] and answer["TextBody"] == TRACKED["TextBody"]
    assert "Subject: Password reset" in answer["Body"]
    assert answer["MessageID"] == sent[0] and answer["Tag"] == "reset"
    delivered, opened, clicked = answer["MessageEvents"]
    assert {event["Recipient"] for event in answer["MessageEvents"]} == {"ann@example.com"}
    assert (delivered["Type"], set(delivered["Details"])) == (
        "Delivered",
        {"DeliveryMessage", "DestinationServer", "DestinationIP"},
    )
    assert (opened["Type"], opened["Details"]["Summary"].startswith("Email opened with ")) == ("Opened", True)
    assert clicked["Type"] == "LinkClicked"
    assert clicked["Details"] == {
        "Summary": "Tracked Link 'https://shop.example.com/r' was clicked from the HTMLBody.",
        "Link": "https://shop.example.com/r",
        "ClickLocation": "HTML",
    }
    assert [event["Type"] for event in details(postmark_sandbox, sent[1])["MessageEvents"]] == ["Delivered"]


def test_details_of_bounces_complaints_and_suppressed_recipients(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    message_id = send(
        postmark_sandbox,
        To="hardbounce@example.com, spamcomplaint@example.com, softbounce@example.com, gone@example.com",
    )
    events = details(postmark_sandbox, message_id)["MessageEvents"]
    assert [(event["Recipient"], event["Type"]) for event in events] == [
        ("hardbounce@example.com", "Bounced"),
        ("hardbounce@example.com", "SubscriptionChanged"),
        ("spamcomplaint@example.com", "Delivered"),
        ("spamcomplaint@example.com", "Bounced"),
        ("spamcomplaint@example.com", "SubscriptionChanged"),
        ("softbounce@example.com", "Bounced"),
    ]
    ids = {record["Email"]: str(record["ID"]) for record in postmark_sandbox.bounces}
    assert events[0]["Details"]["BounceID"] == ids["hardbounce@example.com"]
    assert events[3]["Details"]["BounceID"] == ids["spamcomplaint@example.com"]
    assert events[1]["Details"] == {"Origin": "Recipient", "SuppressSending": "True"}


def test_template_sends_show_the_rendered_bodies(postmark_sandbox):
    answer = api(
        postmark_sandbox,
        "POST",
        "email/withTemplate",
        {
            "From": "shop@example.com",
            "To": "ann@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "Ann"},
        },
    ).json()
    shown = details(postmark_sandbox, answer["MessageID"])
    assert "Ann" in shown["HtmlBody"] and shown["Subject"]


def test_dump_and_unknown_messages(postmark_sandbox, sent):
    answer = api(postmark_sandbox, "GET", f"messages/outbound/{sent[0]}/dump")
    assert answer.status_code == 200 and "Subject: Password reset" in answer.json()["Body"]
    for path in (
        "messages/outbound/nope/details",
        "messages/outbound/%00/dump",
        "messages/outbound/%ED%B3%BF/details",
    ):
        missing = api(postmark_sandbox, "GET", path)
        assert (missing.status_code, missing.json()["ErrorCode"]) == (422, 701), path


def test_test_token_sends_and_cleared_messages_are_not_listed(postmark_sandbox):
    test_headers = {**headers(postmark_sandbox), "X-Postmark-Server-Token": "POSTMARK_API_TEST"}
    requests.post(postmark_sandbox.url + "email", json=MESSAGE, headers=test_headers, timeout=10)
    assert search(postmark_sandbox)["TotalCount"] == 0
    send(postmark_sandbox)
    postmark_sandbox.clear()
    assert search(postmark_sandbox)["TotalCount"] == 0


def test_summary_is_pure_and_survives_odd_attachments():
    from postmark_admin.sandbox.validation import check_message

    message = {**MESSAGE, "Attachments": None}
    checked = check_message(message, with_template=False, streams={"outbound": "Transactional"})
    sent = messages.SentMessage(
        "id",
        {**message, "Attachments": [None, {"Name": 5}, "x"]},
        checked,
        dt.datetime(2024, 5, 1, tzinfo=dt.UTC),
    )
    assert messages.summary(sent)["Attachments"] == []
    assert messages.summary(sent)["ReceivedAt"] == "2024-04-30T20:00:00.0000000-04:00"
