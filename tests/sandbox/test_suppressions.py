"""The suppressions endpoints: the dump and its filters, create and delete with per-address results, the
refusals (422 with Postmark's ErrorCode), and how suppressions follow what the sandbox emulates."""

from __future__ import annotations

import datetime as dt

import pytest
import requests

from postmark_admin.sandbox import suppressions
from postmark_admin.sandbox.records import eastern_now

from .conftest import MESSAGE, headers

BASE = "message-streams/{stream}/suppressions"


def api(sandbox, method, path, body=None, **params):
    return requests.request(
        method, sandbox.url + path, json=body, params=params or None, headers=headers(sandbox), timeout=10
    )


def send(sandbox, **fields):
    return api(sandbox, "POST", "email", {**MESSAGE, **fields})


def dump(sandbox, stream="outbound", **params):
    answer = api(sandbox, "GET", BASE.format(stream=stream) + "/dump", **params)
    assert answer.status_code == 200, answer.text
    return answer.json()["Suppressions"]


def change(sandbox, action, *addresses, stream="outbound"):
    path = BASE.format(stream=stream) + ("/delete" if action == "delete" else "")
    body = {"Suppressions": [{"EmailAddress": address} for address in addresses]}
    answer = api(sandbox, "POST", path, body)
    assert answer.status_code == 200, answer.text
    return answer.json()["Suppressions"]


# -- what the sandbox emulates suppresses, on the message's stream ----------------------------------


def test_a_hard_bounce_suppresses_on_its_stream_only(postmark_sandbox):
    assert send(postmark_sandbox, To="hardbounce@example.com").json()["ErrorCode"] == 0
    [item] = dump(postmark_sandbox)
    assert set(item) == {"EmailAddress", "SuppressionReason", "Origin", "CreatedAt"}
    assert (item["EmailAddress"], item["SuppressionReason"], item["Origin"]) == (
        "hardbounce@example.com",
        "HardBounce",
        "Recipient",
    )
    assert dt.datetime.fromisoformat(item["CreatedAt"]).utcoffset() in (
        dt.timedelta(hours=-5),
        dt.timedelta(hours=-4),
    )
    assert dump(postmark_sandbox, "broadcast") == []
    refused = send(postmark_sandbox, To="hardbounce@example.com")
    assert (refused.status_code, refused.json()["ErrorCode"]) == (422, 406)
    assert "Found inactive addresses: hardbounce@example.com." in refused.json()["Message"]
    # The same address on another stream is not suppressed there.
    assert send(postmark_sandbox, To="hardbounce@example.com", MessageStream="broadcast").status_code == 200


def test_a_spam_complaint_suppresses_and_cannot_be_deleted(postmark_sandbox):
    send(postmark_sandbox, To="spamcomplaint@example.com")
    assert [item["SuppressionReason"] for item in dump(postmark_sandbox)] == ["SpamComplaint"]
    [result] = change(postmark_sandbox, "delete", "spamcomplaint@example.com")
    assert result == {
        "EmailAddress": "spamcomplaint@example.com",
        "Status": "Failed",
        "Message": "You do not have the required authority to change this suppression.",
    }
    [result] = change(postmark_sandbox, "create", "spamcomplaint@example.com")
    assert result["Status"] == "Failed"
    assert send(postmark_sandbox, To="spamcomplaint@example.com").json()["ErrorCode"] == 406


def test_deleting_a_hard_bounce_reactivates_it_and_its_bounce(postmark_sandbox):
    send(postmark_sandbox, To="hardbounce@example.com")
    [result] = change(postmark_sandbox, "delete", "HardBounce@Example.com")
    assert result == {"EmailAddress": "HardBounce@Example.com", "Status": "Deleted", "Message": None}
    assert dump(postmark_sandbox) == []
    [bounce] = postmark_sandbox.bounces
    assert bounce["Inactive"] is False
    assert send(postmark_sandbox, To="hardbounce@example.com").json()["ErrorCode"] == 0


def test_activating_the_bounce_removes_the_suppression(postmark_sandbox):
    send(postmark_sandbox, To="hardbounce@example.com", MessageStream="broadcast")
    [bounce] = postmark_sandbox.bounces
    assert api(postmark_sandbox, "PUT", f"bounces/{bounce['ID']}/activate").status_code == 200
    assert dump(postmark_sandbox, "broadcast") == []
    assert postmark_sandbox.suppressed("broadcast") == set()


def test_created_suppressions_refuse_sends_on_that_stream(postmark_sandbox):
    results = change(postmark_sandbox, "create", "Manual@Example.com", "not an address", "other@example.com")
    assert [(r["EmailAddress"], r["Status"], r["Message"]) for r in results] == [
        ("Manual@Example.com", "Suppressed", None),
        ("not an address", "Failed", "An invalid email address was provided."),
        ("other@example.com", "Suppressed", None),
    ]
    listed = dump(postmark_sandbox)
    assert [(i["EmailAddress"], i["SuppressionReason"], i["Origin"]) for i in listed] == [
        ("other@example.com", "ManualSuppression", "Customer"),
        ("manual@example.com", "ManualSuppression", "Customer"),
    ]
    partial = send(postmark_sandbox, To="manual@example.com, fine@example.com").json()
    assert partial["ErrorCode"] == 0 and "manual@example.com" in partial["Message"]
    assert send(postmark_sandbox, To="manual@example.com", MessageStream="broadcast").status_code == 200
    # Creating twice keeps one suppression; deleting an address not suppressed is "Deleted" too.
    change(postmark_sandbox, "create", "manual@example.com")
    assert len(dump(postmark_sandbox)) == 2
    assert change(postmark_sandbox, "delete", "never@example.com")[0]["Status"] == "Deleted"


@pytest.mark.postmark_sandbox(inactive=["gone@example.com"])
def test_inactive_addresses_are_suppressed_on_every_stream(postmark_sandbox):
    for stream in ("outbound", "broadcast"):
        [item] = dump(postmark_sandbox, stream)
        assert (item["EmailAddress"], item["SuppressionReason"], item["Origin"]) == (
            "gone@example.com",
            "ManualSuppression",
            "Customer",
        )
    assert (
        change(postmark_sandbox, "delete", "gone@example.com", stream="broadcast")[0]["Status"] == "Deleted"
    )
    assert postmark_sandbox.inactive == set()
    assert dump(postmark_sandbox) == []


# -- the dump's filters --------------------------------------------------------------------------------


@pytest.fixture
def three(postmark_sandbox):
    send(postmark_sandbox, To="hardbounce@example.com")
    send(postmark_sandbox, To="spamcomplaint@example.com")
    change(postmark_sandbox, "create", "manual@example.com")
    return postmark_sandbox


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["manual@example.com", "spamcomplaint@example.com", "hardbounce@example.com"]),
        ({"SuppressionReason": "HardBounce"}, ["hardbounce@example.com"]),
        ({"suppressionReason": "spamcomplaint"}, ["spamcomplaint@example.com"]),
        ({"Origin": "Customer"}, ["manual@example.com"]),
        ({"origin": "recipient"}, ["spamcomplaint@example.com", "hardbounce@example.com"]),
        ({"EmailAddress": "HARDBOUNCE@example.com"}, ["hardbounce@example.com"]),
        ({"emailAddress": "bounce"}, []),  # a whole address, not a part of one
        ({"fromdate": "2000-01-01", "todate": "2999-12-31"}, None),
        ({"todate": "2000-01-01"}, []),
    ],
)
def test_dump_filters(three, params, expected):
    found = [item["EmailAddress"] for item in dump(three, **params)]
    assert found == (expected if expected is not None else [item["EmailAddress"] for item in dump(three)])


def test_dump_filters_by_todays_date(three):
    today = eastern_now().date()
    assert len(dump(three, fromdate=today.isoformat(), todate=today.isoformat())) == 3
    assert dump(three, fromdate=(today + dt.timedelta(days=1)).isoformat()) == []


# -- refusals: 422 with Postmark's ErrorCode, never a 5xx -------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "params", "code"),
    [
        ("GET", "message-streams/nope/suppressions/dump", None, {}, 1226),
        ("GET", "message-streams/outbound/suppressions/dump", None, {"SuppressionReason": "Bored"}, 1404),
        ("GET", "message-streams/outbound/suppressions/dump", None, {"Origin": "Mars"}, 1405),
        ("GET", "message-streams/outbound/suppressions/dump", None, {"fromdate": "yesterday"}, 1407),
        ("GET", "message-streams/outbound/suppressions/dump", None, {"todate": "2024-13-45"}, 1407),
        ("POST", "message-streams/outbound/suppressions", {}, {}, 1409),
        ("POST", "message-streams/outbound/suppressions", [], {}, 1409),
        (
            "POST",
            "message-streams/outbound/suppressions",
            {"Suppressions": {"EmailAddress": "a@b.c"}},
            {},
            1409,
        ),
        ("POST", "message-streams/outbound/suppressions/delete", {"Suppressions": None}, {}, 1409),
        ("POST", "message-streams/nope/suppressions/delete", {"Suppressions": []}, {}, 1226),
    ],
)
def test_bad_requests_are_refused_with_postmarks_error_code(
    postmark_sandbox, method, path, body, params, code
):
    answer = api(postmark_sandbox, method, path, body, **params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["ErrorCode"] == code


def test_at_most_50_addresses_per_request(postmark_sandbox):
    addresses = [f"a{i}@example.com" for i in range(suppressions.MAX_CHANGES)]
    assert len(change(postmark_sandbox, "create", *addresses)) == 50
    body = {"Suppressions": [{"EmailAddress": f"b{i}@example.com"} for i in range(51)]}
    for path in ("", "/delete"):
        answer = api(postmark_sandbox, "POST", BASE.format(stream="outbound") + path, body)
        assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 1410)
    assert len(dump(postmark_sandbox)) == 50


@pytest.mark.parametrize(
    "item",
    [
        None,
        5,
        "a@example.com",
        {},
        {"EmailAddress": None},
        {"EmailAddress": 7},
        {"EmailAddress": ["a@b.c"]},
        {"EmailAddress": "\x00@example.com"},
        {"EmailAddress": "Ann <ann@example.com>"},
        {"EmailAddress": "x" * 10_000},
    ],
)
def test_hostile_items_fail_one_by_one(postmark_sandbox, item):
    answer = api(
        postmark_sandbox,
        "POST",
        BASE.format(stream="outbound"),
        {"Suppressions": [item, {"EmailAddress": "ok@example.com"}]},
    )
    assert answer.status_code == 200, answer.text
    first, second = answer.json()["Suppressions"]
    assert (first["Status"], first["Message"]) == ("Failed", suppressions.INVALID_ADDRESS)
    assert first["EmailAddress"] is None or isinstance(first["EmailAddress"], str)
    assert second["Status"] == "Suppressed"


@pytest.mark.parametrize(
    "query",
    [
        "fromdate=%00",
        "todate=" + "9" * 400,
        "EmailAddress=%ED%B3%BF",  # a lone surrogate, as UTF-8 bytes
        "EmailAddress=%FF%FE",
        "Origin=%00",
        "SuppressionReason=%ED%B3%BF",
        "fromdate=2024-05-01T25:00:00",
    ],
)
def test_hostile_dump_parameters_never_cause_a_5xx(postmark_sandbox, query):
    url = postmark_sandbox.url + BASE.format(stream="outbound") + "/dump?" + query
    answer = requests.get(url, headers=headers(postmark_sandbox), timeout=10)
    assert answer.status_code in (200, 422), answer.text
    assert isinstance(answer.json()["Suppressions" if answer.status_code == 200 else "ErrorCode"], list | int)


# -- changes made through the API are reported as SubscriptionChange webhooks --------------------------


def test_api_changes_post_subscription_changes_by_the_customer():
    from postmark_admin.sandbox import Sandbox
    from tests.conftest import free_port

    # Nothing listens there: each post is recorded once, failed, and settles at once (no retries).
    url = f"http://127.0.0.1:{free_port()}/postmark/"
    with Sandbox(webhook_url=url, webhook_events=("SubscriptionChange",), webhook_retry_delays=()) as sandbox:
        change(sandbox, "create", "manual@example.com", "bad address")
        change(sandbox, "create", "manual@example.com")  # already suppressed: no change, nothing posted
        change(sandbox, "delete", "manual@example.com", "never@example.com")
        send(sandbox, To="hardbounce@example.com", MessageStream="broadcast")
        [bounce] = sandbox.bounces
        api(sandbox, "PUT", f"bounces/{bounce['ID']}/activate")
        posts = sandbox.wait_for_all_webhooks()  # a bounce, two subscription changes, a delivery
        assert len(posts) == 4
    changes = [post.payload for post in posts]
    assert [(c["Recipient"], c["MessageStream"], c["Origin"], c["SuppressSending"]) for c in changes] == [
        ("manual@example.com", "outbound", "Customer", True),
        ("manual@example.com", "outbound", "Customer", False),
        ("hardbounce@example.com", "broadcast", "Recipient", True),
        ("hardbounce@example.com", "broadcast", "Customer", False),
    ]
    assert (changes[0]["MessageID"], changes[0]["SuppressionReason"]) == (None, "ManualSuppression")
    assert changes[1]["SuppressionReason"] is None
    assert {c["RecordType"] for c in changes} == {"SubscriptionChange"}


# -- reactivating a hard bounce: the mailbox counts as fixed ------------------------------------------


@pytest.mark.parametrize("how", ["delete the suppression", "activate the bounce"])
def test_a_reactivated_hard_bounce_is_delivered_next_time(how):
    from postmark_admin.sandbox import Sandbox
    from tests.conftest import free_port

    url = f"http://127.0.0.1:{free_port()}/postmark/"  # nothing listens: each post is recorded once
    events = ("Delivery", "Bounce", "SubscriptionChange")
    with Sandbox(webhook_url=url, webhook_events=events, webhook_retry_delays=()) as sandbox:
        send(sandbox, To="hardbounce.kim@example.com")
        refused = send(sandbox, To="hardbounce.kim@example.com")
        assert (refused.status_code, refused.json()["ErrorCode"]) == (422, 406)  # as Postmark: refused
        if how == "delete the suppression":
            assert change(sandbox, "delete", "HardBounce.Kim@example.com")[0]["Status"] == "Deleted"
        else:
            [bounce] = sandbox.bounces
            assert api(sandbox, "PUT", f"bounces/{bounce['ID']}/activate").status_code == 200
        again = send(sandbox, To="hardbounce.kim@example.com")
        assert (again.status_code, again.json()["Message"]) == (200, "OK")
        posts = sandbox.wait_for_webhooks(4)
        assert len(sandbox.bounces) == 1  # no second bounce
        assert dump(sandbox) == []  # and not suppressed again
        # Postmark's record and statistics tell the same: the second message was delivered.
        details = api(sandbox, "GET", f"messages/outbound/{again.json()['MessageID']}/details").json()
        assert [event["Type"] for event in details["MessageEvents"]] == ["Delivered"]
        stats = api(sandbox, "GET", "stats/outbound").json()
        assert (stats["Sent"], stats["Bounced"]) == (2, 1)
        # A spam complaint is never lifted, so never "fixed": its suppression still refuses.
        send(sandbox, To="spamcomplaint@example.com")
        change(sandbox, "delete", "spamcomplaint@example.com")
        assert send(sandbox, To="spamcomplaint@example.com").json()["ErrorCode"] == 406
    kinds = [(post.payload["RecordType"], post.payload.get("MessageID")) for post in posts]
    first, last = (message["MessageID"] for message in sandbox.messages[:2])
    assert kinds[0] == ("Bounce", first) and kinds[-1] == ("Delivery", last)
