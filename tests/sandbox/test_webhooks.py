"""Webhooks posted back by the sandbox (to a tiny real receiver), the outcomes it emulates
(hard bounce, soft bounce, spam complaint), and the server-level endpoints."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from postmark_admin.sandbox import Sandbox

from .conftest import MESSAGE, headers


class Receiver:
    """A local webhook endpoint checking basic auth; ``statuses`` are answered in turn, then 200."""

    def __init__(self, username="hook", password="s3cret", statuses=()):
        self.expected = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
        self.statuses = list(statuses)
        self.posts = []  # (path, headers, payload, answered status)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if self.headers.get("Authorization") != receiver.expected:
                    status = 401
                else:
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                receiver.posts.append((self.path, dict(self.headers), json.loads(body), status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/postmark/webhook/"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def send(sandbox, **fields):
    return requests.post(
        sandbox.url + "email", json={**MESSAGE, **fields}, headers=headers(sandbox), timeout=10
    )


def api(sandbox, method, path, body=None, **params):
    return requests.request(
        method, sandbox.url + path, json=body, params=params or None, headers=headers(sandbox), timeout=10
    )


# -- posting back ------------------------------------------------------------------------------------


def test_delivery_webhook_per_recipient_with_basic_auth(receiver):
    with Sandbox(webhook_url=receiver.url, webhook_auth=("hook", "s3cret")) as sandbox:
        answer = send(sandbox, To="a@example.com", Cc="b@example.com", Tag="welcome", Metadata={"user": "7"})
        message_id = answer.json()["MessageID"]
        posts = sandbox.wait_for_webhooks(2)
    assert [(url, status) for url, _, status in posts] == [(receiver.url, 200)] * 2
    payloads = [payload for _, _, payload, _ in receiver.posts]
    assert [payload["Recipient"] for payload in payloads] == ["a@example.com", "b@example.com"]
    delivery = payloads[0]
    assert set(delivery) == {
        "RecordType",
        "MessageID",
        "Recipient",
        "DeliveredAt",
        "Details",
        "Tag",
        "Metadata",
        "MessageStream",
        "ServerID",
    }
    assert delivery["RecordType"] == "Delivery"
    assert delivery["MessageID"] == message_id
    assert (delivery["Tag"], delivery["Metadata"], delivery["MessageStream"], delivery["ServerID"]) == (
        "welcome",
        {"user": "7"},
        "outbound",
        1,
    )
    assert delivery["DeliveredAt"].endswith("Z")
    assert receiver.posts[0][1]["Content-Type"] == "application/json"


def test_credentials_in_the_url_are_used_for_basic_auth(receiver):
    url = receiver.url.replace("http://", "http://hook:s3cret@")
    with Sandbox(webhook_url=url) as sandbox:
        send(sandbox)
        [(posted_url, _, status)] = sandbox.wait_for_webhooks(1)
    assert status == 200
    assert "s3cret" not in posted_url


def test_open_and_click_on_request(receiver):
    with Sandbox(
        webhook_url=receiver.url,
        webhook_auth=("hook", "s3cret"),
        webhook_events=("Delivery", "Open", "Click"),
    ) as sandbox:
        send(
            sandbox,
            HtmlBody='<a href="https://shop.example.com/offer">Offer</a>',
            TrackOpens=True,
            TrackLinks="HtmlOnly",
        )
        sandbox.wait_for_webhooks(3)
    open_event, click = receiver.posts[1][2], receiver.posts[2][2]
    assert [post[2]["RecordType"] for post in receiver.posts] == ["Delivery", "Open", "Click"]
    assert open_event["FirstOpen"] is True and open_event["Platform"] == "Desktop" and "Geo" in open_event
    assert click["OriginalLink"] == "https://shop.example.com/offer"
    assert click["ClickLocation"] == "HTML"


def test_no_open_or_click_for_mail_that_could_not_be_tracked(receiver):
    with Sandbox(
        webhook_url=receiver.url,
        webhook_auth=("hook", "s3cret"),
        webhook_events=("Delivery", "Open", "Click"),
    ) as sandbox:
        send(sandbox, TextBody="Hello, no link here", TrackOpens=True, TrackLinks="HtmlAndText")
        send(sandbox, HtmlBody='<a href="https://shop.example.com/offer">Offer</a>')  # tracking off
        send(sandbox, TextBody="https://shop.example.com/t", TrackLinks="TextOnly")
        sandbox.wait_for_webhooks(4)
    kinds = [(post[2]["RecordType"], post[2].get("OriginalLink")) for post in receiver.posts]
    assert kinds == [
        ("Delivery", None),
        ("Delivery", None),
        ("Delivery", None),
        ("Click", "https://shop.example.com/t"),
    ]


def test_hardbounce_flow(receiver):
    with Sandbox(
        webhook_url=receiver.url, webhook_auth=("hook", "s3cret"), webhook_events=("Delivery", "Bounce")
    ) as sandbox:
        first = send(sandbox, To="hardbounce@example.com", Tag="signup")
        assert first.status_code == 200 and first.json()["ErrorCode"] == 0
        sandbox.wait_for_webhooks(1)
        assert sandbox.suppressed("outbound") == {"hardbounce@example.com"}
        assert sandbox.suppressed("broadcast") == set()  # a suppression is the stream's own
        second = send(sandbox, To="hardbounce@example.com")
        assert (second.status_code, second.json()["ErrorCode"]) == (422, 406)
        assert "Found inactive addresses: hardbounce@example.com." in second.json()["Message"]
    [(path, sent_headers, bounce, status)] = receiver.posts
    assert path == "/postmark/webhook/"
    assert status == 200
    assert sent_headers["Authorization"] == receiver.expected
    assert bounce["RecordType"] == "Bounce"
    assert (bounce["Type"], bounce["TypeCode"], bounce["Inactive"], bounce["CanActivate"]) == (
        "HardBounce",
        1,
        True,
        True,
    )
    assert bounce["Email"] == "hardbounce@example.com"
    assert bounce["MessageID"] == first.json()["MessageID"]
    assert bounce["From"] == "sender@example.com"
    assert bounce["Tag"] == "signup"
    assert isinstance(bounce["ID"], int)
    assert "Content" not in bounce


def test_wrong_credentials_are_retried_then_given_up(receiver):
    with Sandbox(
        webhook_url=receiver.url, webhook_auth=("hook", "wrong"), webhook_retry_delays=(0.01, 0.01)
    ) as sandbox:
        send(sandbox)
        posts = sandbox.wait_for_webhooks(1)
    assert [status for _, _, status in posts] == [401, 401, 401]


def test_a_failed_post_is_retried_until_it_succeeds():
    receiver = Receiver(statuses=[500, 502])
    try:
        with Sandbox(
            webhook_url=receiver.url, webhook_auth=("hook", "s3cret"), webhook_retry_delays=(0.01, 0.01, 0.01)
        ) as sandbox:
            send(sandbox)
            posts = sandbox.wait_for_webhooks(1)
    finally:
        receiver.close()
    assert [status for _, _, status in posts] == [500, 502, 200]
    assert posts[0].payload == posts[2].payload  # the same event again: receivers must deduplicate


def test_403_stops_retries():
    receiver = Receiver(statuses=[403])
    try:
        with Sandbox(
            webhook_url=receiver.url, webhook_auth=("hook", "s3cret"), webhook_retry_delays=(0.01,)
        ) as sandbox:
            send(sandbox)
            assert [post.http_status for post in sandbox.wait_for_webhooks(1)] == [403]
    finally:
        receiver.close()


def test_unreachable_receiver_is_recorded_without_status():
    with Sandbox(webhook_url="http://127.0.0.1:9/hook", webhook_retry_delays=()) as sandbox:
        send(sandbox)
        assert [post.http_status for post in sandbox.wait_for_webhooks(1)] == [None]


def test_wait_for_webhooks_times_out():
    with Sandbox() as sandbox:
        send(sandbox)
        with pytest.raises(TimeoutError, match="0 of 1"):
            sandbox.wait_for_webhooks(1, timeout=0.1)


def test_no_webhooks_for_the_test_token(receiver):
    with Sandbox(webhook_url=receiver.url, webhook_auth=("hook", "s3cret")) as sandbox:
        answer = requests.post(
            sandbox.url + "email",
            json={"From": "sender@example.com", "To": "hardbounce@example.com", "TextBody": "x"},
            headers={**headers(sandbox), "X-Postmark-Server-Token": "POSTMARK_API_TEST"},
            timeout=10,
        )
        assert answer.json()["Message"] == "Test job accepted"
        send(sandbox, To="last@example.com")
        sandbox.wait_for_webhooks(1)
    assert [post[2]["Recipient"] for post in receiver.posts] == ["last@example.com"]
    assert sandbox.suppressed() == set()


def test_spam_complaint_and_soft_bounce(receiver):
    with Sandbox(
        webhook_url=receiver.url,
        webhook_auth=("hook", "s3cret"),
        webhook_events=("Delivery", "Bounce", "SpamComplaint", "SubscriptionChange"),
    ) as sandbox:
        send(sandbox, To="spamcomplaint@example.com")
        sandbox.wait_for_webhooks(3)
        send(sandbox, To="softbounce.x@example.com")
        sandbox.wait_for_webhooks(4)
        assert sandbox.suppressed() == {"spamcomplaint@example.com"}
    kinds = [(post[2]["RecordType"], post[2].get("Type")) for post in receiver.posts]
    assert kinds == [
        ("Delivery", None),
        ("SpamComplaint", "SpamComplaint"),
        ("SubscriptionChange", None),
        ("Bounce", "SoftBounce"),
    ]
    change = receiver.posts[2][2]
    assert (change["SuppressSending"], change["SuppressionReason"], change["Origin"]) == (
        True,
        "SpamComplaint",
        "Recipient",
    )


def test_webhooks_follow_the_message_stream(receiver):
    with Sandbox() as sandbox:
        created = api(
            sandbox,
            "POST",
            "webhooks",
            {
                "Url": receiver.url,
                "MessageStream": "broadcast",
                "HttpAuth": {"Username": "hook", "Password": "s3cret"},
                "HttpHeaders": [{"Name": "X-Site", "Value": "demo"}],
                "Triggers": {"Delivery": {"Enabled": True}},
            },
        )
        assert created.status_code == 200
        send(sandbox)  # outbound: no webhook configured
        send(sandbox, MessageStream="broadcast")
        sandbox.wait_for_webhooks(1)
    [(_, sent_headers, payload, _)] = receiver.posts
    assert payload["MessageStream"] == "broadcast"
    assert sent_headers["X-Site"] == "demo"


def test_bounce_include_content(receiver):
    with Sandbox() as sandbox:
        api(
            sandbox,
            "POST",
            "webhooks",
            {
                "Url": receiver.url,
                "HttpAuth": {"Username": "hook", "Password": "s3cret"},
                "Triggers": {"Bounce": {"Enabled": True, "IncludeContent": True}},
            },
        )
        send(sandbox, To="hardbounce@example.com")
        sandbox.wait_for_webhooks(1)
    assert "Content" in receiver.posts[0][2]


# -- /webhooks ---------------------------------------------------------------------------------------


def test_webhooks_crud(postmark_sandbox):
    assert api(postmark_sandbox, "GET", "webhooks").json() == {"Webhooks": []}
    created = api(
        postmark_sandbox,
        "POST",
        "webhooks",
        {
            "Url": "https://site.example.com/hook",
            "Triggers": {"Open": {"Enabled": True, "PostFirstOpenOnly": True}},
        },
    ).json()
    assert created["ID"] == 1
    assert created["MessageStream"] == "outbound"
    assert created["Triggers"]["Open"] == {"Enabled": True, "PostFirstOpenOnly": True}
    assert created["Triggers"]["Delivery"] == {"Enabled": False}
    assert created["HttpAuth"] == {"Username": "", "Password": ""}

    assert api(postmark_sandbox, "GET", "webhooks/1").json() == created
    updated = api(
        postmark_sandbox,
        "PUT",
        "webhooks/1",
        {"Url": "https://site.example.com/other", "Triggers": {"Delivery": {"Enabled": True}}},
    ).json()
    assert updated["Url"] == "https://site.example.com/other"
    assert updated["Triggers"]["Delivery"]["Enabled"] and updated["Triggers"]["Open"]["Enabled"]
    assert postmark_sandbox.webhooks == [updated]

    api(
        postmark_sandbox,
        "POST",
        "webhooks",
        {"Url": "https://site.example.com/b", "MessageStream": "broadcast"},
    )
    assert [
        hook["ID"]
        for hook in api(postmark_sandbox, "GET", "webhooks", MessageStream="broadcast").json()["Webhooks"]
    ] == [2]

    deleted = api(postmark_sandbox, "DELETE", "webhooks/1")
    assert deleted.json() == {"ErrorCode": 0, "Message": "Webhook 1 removed."}
    assert [hook["ID"] for hook in postmark_sandbox.webhooks] == [2]
    missing = api(postmark_sandbox, "GET", "webhooks/1")
    assert missing.status_code == 422


@pytest.mark.parametrize(
    "url", [None, "", "not a url", "ftp://site.example.com/hook", "https://", "/relative"]
)
def test_webhook_url_is_validated(postmark_sandbox, url):
    answer = api(postmark_sandbox, "POST", "webhooks", {"Url": url} if url is not None else {})
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 606)
    api(postmark_sandbox, "POST", "webhooks", {"Url": "https://site.example.com/hook"})
    bad_update = api(postmark_sandbox, "PUT", "webhooks/1", {"Url": url})
    assert (bad_update.status_code, bad_update.json()["ErrorCode"]) == (422, 606)


def test_webhook_on_unknown_stream(postmark_sandbox):
    answer = api(
        postmark_sandbox, "POST", "webhooks", {"Url": "https://x.example.com/", "MessageStream": "nope"}
    )
    assert answer.json()["ErrorCode"] == 1235


def test_webhook_url_argument_configures_every_sending_stream(receiver):
    with Sandbox(
        webhook_url=receiver.url, webhook_auth=("hook", "s3cret"), webhook_events=("Delivery", "Bounce")
    ) as sandbox:
        hooks = sandbox.webhooks
    assert [(hook["MessageStream"], hook["Url"]) for hook in hooks] == [
        ("outbound", receiver.url),
        ("broadcast", receiver.url),
    ]
    assert hooks[0]["HttpAuth"] == {"Username": "hook", "Password": "s3cret"}
    enabled = {name for name, settings in hooks[0]["Triggers"].items() if settings["Enabled"]}
    assert enabled == {"Delivery", "Bounce"}


# -- /server, /deliverystats, /message-streams, /bounces ---------------------------------------------


def test_server(postmark_sandbox):
    answer = api(postmark_sandbox, "GET", "server")
    assert answer.status_code == 200
    server = answer.json()
    assert server["DeliveryType"] == "Sandbox"
    assert server["ApiTokens"] == [postmark_sandbox.token]
    assert server["ServerLink"] == postmark_sandbox.url
    assert {"ID", "Name", "Color", "TrackOpens", "TrackLinks"} <= set(server)
    wrong = requests.get(
        postmark_sandbox.url + "server",
        headers={**headers(postmark_sandbox), "X-Postmark-Server-Token": "nope"},
        timeout=5,
    )
    assert (wrong.status_code, wrong.json()["ErrorCode"]) == (401, 10)


def test_message_streams(postmark_sandbox):
    streams = api(postmark_sandbox, "GET", "message-streams").json()
    assert [(s["ID"], s["MessageStreamType"]) for s in streams["MessageStreams"]] == [
        ("outbound", "Transactional"),
        ("broadcast", "Broadcasts"),
        ("inbound", "Inbound"),
    ]
    assert streams["TotalCount"] == 3
    only = api(postmark_sandbox, "GET", "message-streams", MessageStreamType="Broadcasts").json()
    assert [s["ID"] for s in only["MessageStreams"]] == ["broadcast"]


def test_configured_streams_and_templates():
    with Sandbox(
        message_streams={"outbound": "Transactional", "newsletters": "Broadcasts"},
        templates=[
            {
                "TemplateId": 7,
                "Alias": "hello",
                "Subject": "Hi {{ name }}",
                "HtmlBody": "<b>{{ name }}</b>",
                "TextBody": "{{ name }}",
            }
        ],
    ) as sandbox:
        assert send(sandbox, MessageStream="newsletters").status_code == 200
        assert send(sandbox, MessageStream="broadcast").json()["ErrorCode"] == 1235
        answer = requests.post(
            sandbox.url + "email/withTemplate",
            json={
                "From": "a@example.com",
                "To": "b@example.com",
                "TemplateId": 7,
                "TemplateModel": {"name": "Ann"},
            },
            headers=headers(sandbox),
            timeout=5,
        )
        assert answer.json()["ErrorCode"] == 0
        welcome = requests.post(
            sandbox.url + "email/withTemplate",
            json={
                "From": "a@example.com",
                "To": "b@example.com",
                "TemplateAlias": "welcome",
                "TemplateModel": {},
            },
            headers=headers(sandbox),
            timeout=5,
        )
        assert welcome.json()["ErrorCode"] == 1101


def test_bounces_and_delivery_stats(postmark_sandbox):
    postmark_sandbox.inactive.add("manual@example.com")
    send(postmark_sandbox, To="hardbounce1@example.com", Tag="a")
    send(postmark_sandbox, To="hardbounce2@example.com", Tag="b")
    send(postmark_sandbox, To="softbounce@example.com")

    stats = api(postmark_sandbox, "GET", "deliverystats").json()
    assert stats == {
        "InactiveMails": 3,
        "Bounces": [
            {"Name": "All", "Count": 3},
            {"Type": "HardBounce", "Name": "Hard bounce", "Count": 2},
            {"Type": "SoftBounce", "Name": "Soft bounce/Undeliverable", "Count": 1},
        ],
    }
    listed = api(postmark_sandbox, "GET", "bounces", count=2, offset=0).json()
    assert listed["TotalCount"] == 3
    assert [b["Email"] for b in listed["Bounces"]] == ["softbounce@example.com", "hardbounce2@example.com"]
    hard = api(postmark_sandbox, "GET", "bounces", count=10, offset=0, type="HardBounce", tag="a").json()
    assert [b["Email"] for b in hard["Bounces"]] == ["hardbounce1@example.com"]
    assert (
        api(postmark_sandbox, "GET", "bounces", count=10, offset=0, inactive="true").json()["TotalCount"] == 2
    )

    for params in (
        {"offset": 0},
        {"count": 501, "offset": 0},
        {"count": 500, "offset": 9600},
        {"count": "x", "offset": 0},
    ):
        assert api(postmark_sandbox, "GET", "bounces", **params).status_code == 422

    bounce_id = hard["Bounces"][0]["ID"]
    assert api(postmark_sandbox, "GET", f"bounces/{bounce_id}").json()["Email"] == "hardbounce1@example.com"
    activated = api(postmark_sandbox, "PUT", f"bounces/{bounce_id}/activate")
    assert activated.status_code == 200
    assert activated.json()["Message"] == "OK"
    assert activated.json()["Bounce"]["Inactive"] is False
    assert "hardbounce1@example.com" not in postmark_sandbox.inactive
    soft_id = listed["Bounces"][0]["ID"]
    assert api(postmark_sandbox, "PUT", f"bounces/{soft_id}/activate").json()["ErrorCode"] == 1003
    assert api(postmark_sandbox, "PUT", "bounces/999999/activate").json()["ErrorCode"] == 1001
    for path, code in ((f"bounces/0{bounce_id}", 1001), ("bounces/x", 1001), ("webhooks/x", 1400)):
        assert api(postmark_sandbox, "GET", path).json()["ErrorCode"] == code
    assert len(postmark_sandbox.bounces) == 3
