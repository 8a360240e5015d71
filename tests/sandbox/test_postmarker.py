"""Conformance: postmarker 1.0 (a Postmark client other than ours, in the dev extra) driven through every
endpoint it has. What the sandbox emulates answers as Postmark does; what it does not emulate answers a
Postmark-shaped error, which postmarker raises as its ClientError (never a KeyError)."""

from __future__ import annotations

import datetime as dt
import inspect
import warnings
from email.mime.text import MIMEText

import pytest
from postmarker.core import PostmarkClient
from postmarker.exceptions import ClientError
from postmarker.models.base import ModelManager, SubModelManager

from postmark_admin.sandbox import Sandbox
from postmark_admin.sandbox.records import eastern_now

SENDER = "Shop <shop@example.com>"


def client(sandbox: Sandbox) -> PostmarkClient:
    return PostmarkClient(
        server_token=sandbox.token, account_token="account-token", root_api_url=sandbox.url, timeout=10
    )


@pytest.fixture
def sandbox():
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def postmark(sandbox):
    postmark = client(sandbox)
    yield postmark
    postmark.session.close()


# -- what postmarker has -----------------------------------------------------------------------------

#: The methods the tests below drive against the emulated endpoints.
EMULATED = {
    "emails.send",
    "emails.send_with_template",
    "emails.send_batch",
    "emails.send_template_batch",
    "server.get",
    "bounces.all",
    "bounces.get",
    "bounces.get_dump",
    "bounces.activate",
    "bounces.tags",
    "bounces.deliverystats",
    "messages.outbound.all",
    "messages.outbound.get",
    "messages.outbound.get_dump",
    "stats.overview",
    "stats.sends",
    "stats.bounces",
    "stats.spam",
    "stats.tracked",
    "stats.opens",
    "stats.clicks",
}


def _request_new_dkim(postmark):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # postmarker deprecates it; it still calls
        return postmark.senders.requestnewdkim(1)


#: The methods whose endpoints the sandbox does not emulate (docs/sandbox.rst lists them), each called
#: once: it must raise ClientError with the answer's ErrorCode. ``server.edit`` is ``PUT /server``: 405.
NOT_EMULATED = {
    "server.edit": lambda p: p.server.edit(Name="Renamed"),
    "domains.get": lambda p: p.domains.get(1),
    "domains.create": lambda p: p.domains.create("example.com"),
    "domains.edit": lambda p: p.domains.edit(1, "pm.example.com"),
    "domains.all": lambda p: p.domains.all(),
    "domains.delete": lambda p: p.domains.delete(1),
    "domains.verifyspf": lambda p: p.domains.verifyspf(1),
    "domains.verifydkim": lambda p: p.domains.verifydkim(1),
    "domains.verifyreturnpath": lambda p: p.domains.verifyreturnpath(1),
    "domains.rotatedkim": lambda p: p.domains.rotatedkim(1),
    "senders.all": lambda p: p.senders.all(),
    "senders.get": lambda p: p.senders.get(1),
    "senders.create": lambda p: p.senders.create("shop@example.com", "Shop"),
    "senders.edit": lambda p: p.senders.edit(1, "Shop"),
    "senders.delete": lambda p: p.senders.delete(1),
    "senders.resend": lambda p: p.senders.resend(1),
    "senders.verifyspf": lambda p: p.senders.verifyspf(1),
    "senders.requestnewdkim": _request_new_dkim,
    "messages.outbound.opens.all": lambda p: p.messages.outbound.opens.all(),
    "messages.outbound.opens.get": lambda p: p.messages.outbound.opens.get("id"),
    "messages.inbound.all": lambda p: p.messages.inbound.all(),
    "messages.inbound.get": lambda p: p.messages.inbound.get("id"),
    "messages.inbound.bypass": lambda p: p.messages.inbound.bypass("id"),
    "messages.inbound.retry": lambda p: p.messages.inbound.retry("id"),
    "stats.opens_platforms": lambda p: p.stats.opens_platforms(),
    "stats.emailclients": lambda p: p.stats.emailclients(),
    "stats.readtimes": lambda p: p.stats.readtimes(),
    "stats.browserfamilies": lambda p: p.stats.browserfamilies(),
    "stats.clicks_platforms": lambda p: p.stats.clicks_platforms(),
    "stats.location": lambda p: p.stats.location(),
    "templates.get": lambda p: p.templates.get(1000),
    "templates.create": lambda p: p.templates.create("Hi", "Hi", HtmlBody="<p>Hi</p>"),
    "templates.edit": lambda p: p.templates.edit(1000, Name="Hi"),
    "templates.all": lambda p: p.templates.all(),
    "templates.delete": lambda p: p.templates.delete(1000),
    "templates.validate": lambda p: p.templates.validate("Hi", HtmlBody="<p>Hi</p>"),
    "triggers.inboundrules.all": lambda p: p.triggers.inboundrules.all(),
    "triggers.inboundrules.create": lambda p: p.triggers.inboundrules.create("spam@example.com"),
    "triggers.inboundrules.delete": lambda p: p.triggers.inboundrules.delete(1),
    "triggers.tags.all": lambda p: p.triggers.tags.all(),
    "triggers.tags.create": lambda p: p.triggers.tags.create("welcome"),
    "triggers.tags.get": lambda p: p.triggers.tags.get(1),
    "triggers.tags.edit": lambda p: p.triggers.tags.edit(1, "welcome"),
    "triggers.tags.delete": lambda p: p.triggers.tags.delete(1),
}

#: postmarker's status manager talks to status.postmarkapp.com, a URL it does not let a caller change:
#: nothing of it can reach a sandbox.
ELSEWHERE = {"status"}


def postmarker_methods() -> set[str]:
    """Every public method and property of every manager of a postmarker client ("bounces.get", ...),
    model constructors (capitalized: ``emails.Email``) left out: they build objects, they call nothing."""
    postmark = PostmarkClient(server_token="t")
    found: set[str] = set()

    def walk(prefix: str, manager: ModelManager) -> None:
        for cls in type(manager).__mro__:
            if cls in (ModelManager, SubModelManager, object):
                break
            for name, value in vars(cls).items():
                if name.startswith("_") or name[0].isupper():
                    continue
                if inspect.isfunction(value) or isinstance(value, property):
                    found.add(f"{prefix}.{name}")
        for sub in getattr(type(manager), "_managers", ()):
            walk(f"{prefix}.{sub.name}", getattr(manager, sub.name))

    for manager_class in PostmarkClient._managers:
        if manager_class.name not in ELSEWHERE:
            walk(manager_class.name, getattr(postmark, manager_class.name))
    return found


def test_every_postmarker_method_is_driven_here():
    assert postmarker_methods() == EMULATED | set(NOT_EMULATED)


@pytest.mark.parametrize("name", sorted(NOT_EMULATED))
def test_an_endpoint_the_sandbox_does_not_emulate_answers_a_postmark_error(postmark, sandbox, name):
    with pytest.raises(ClientError) as raised:
        NOT_EMULATED[name](postmark)
    expected = 405 if name == "server.edit" else 404
    assert raised.value.error_code == 404
    assert str(raised.value).startswith("[404] ")
    response = raised.value.__cause__.response
    assert response.status_code == expected


# -- sending -----------------------------------------------------------------------------------------


def test_a_plain_send(postmark, sandbox):
    answer = postmark.emails.send(From=SENDER, To="ann@example.com", Subject="Hi", TextBody="Hello")
    assert (answer["ErrorCode"], answer["Message"], answer["To"]) == (0, "OK", "ann@example.com")
    [stored] = sandbox.messages
    # postmarker sends a null for every field it was not given: kept as sent, read as missing.
    assert stored["TrackOpens"] is None and stored["Cc"] is None
    assert stored["MessageID"] == answer["MessageID"]


def test_a_send_of_an_email_object_and_of_a_mime_message(postmark, sandbox):
    email = postmark.emails.Email(
        From=SENDER, To=["ann@example.com", "bob@example.com"], Subject="Hi", HtmlBody="<p>Hi</p>"
    )
    email["X-Campaign"] = "spring"
    email.attach_binary(b"%PDF-1.4", "invoice.pdf")
    assert email.send()["ErrorCode"] == 0
    mime = MIMEText("Hello from MIME")
    mime["From"], mime["To"], mime["Subject"] = SENDER, "cy@example.com", "MIME"
    assert postmark.emails.send(message=mime)["ErrorCode"] == 0
    first, second = sandbox.messages
    assert first["To"] == "ann@example.com,bob@example.com"
    assert first["Headers"] == [{"Name": "X-Campaign", "Value": "spring"}]
    assert first["Attachments"][0]["Name"] == "invoice.pdf"
    assert (second["To"], second["TextBody"]) == ("cy@example.com", "Hello from MIME")


def test_a_template_send(postmark, sandbox):
    by_alias = postmark.emails.send_with_template(
        TemplateAlias="welcome",
        TemplateModel={"name": "Ann", "product_name": "Shop"},
        From=SENDER,
        To="ann@example.com",
    )
    by_id = postmark.emails.send_with_template(
        TemplateId=1001,
        TemplateModel={"action_url": "https://shop.example.com/r"},
        From=SENDER,
        To="b@example.com",
    )
    assert (by_alias["ErrorCode"], by_id["ErrorCode"]) == (0, 0)
    assert sandbox.messages[0]["Subject"] is None  # postmarker's null, which a template send may carry
    with pytest.raises(ClientError) as unknown:
        postmark.emails.send_with_template(
            TemplateAlias="nope", TemplateModel={}, From=SENDER, To="c@example.com"
        )
    assert unknown.value.error_code == 1101


def test_batches(postmark, sandbox):
    results = postmark.emails.send_batch(
        {"From": SENDER, "To": "ann@example.com", "Subject": "1", "TextBody": "one"},
        {"From": SENDER, "To": "not an address", "Subject": "2", "TextBody": "two"},
        postmark.emails.Email(From=SENDER, To="cy@example.com", Subject="3", TextBody="three"),
        Tag="batch",
    )
    assert [result["ErrorCode"] for result in results] == [0, 300, 0]
    assert [message["Tag"] for message in sandbox.messages] == ["batch", "batch"]
    templated = postmark.emails.send_template_batch(
        {
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "Ann"},
            "From": SENDER,
            "To": "ann@example.com",
        },
        {"TemplateId": 999, "TemplateModel": {}, "From": SENDER, "To": "bob@example.com"},
    )
    assert [result["ErrorCode"] for result in templated] == [0, 1101]
    assert len(sandbox.messages) == 3


# -- server, bounces ---------------------------------------------------------------------------------


def test_server(postmark, sandbox):
    server = postmark.server.get()
    assert (server.ID, server.Name, server.DeliveryType) == (
        sandbox.server_id,
        sandbox.server_name,
        "Sandbox",
    )
    assert (server.TrackOpens, server.TrackLinks) == (False, "None")


def test_bounces(postmark, sandbox):
    postmark.emails.send(From=SENDER, To="hardbounce1@example.com", Subject="a", TextBody="x", Tag="signup")
    postmark.emails.send(
        From=SENDER,
        To="hardbounce2@example.com",
        Subject="b",
        TextBody="x",
        Tag="welcome",
        MessageStream="broadcast",
    )
    soft = postmark.emails.send(From=SENDER, To="softbounce@example.com", Subject="c", TextBody="x")

    every = postmark.bounces.all()
    assert [bounce.Email for bounce in every] == [
        "softbounce@example.com",
        "hardbounce2@example.com",
        "hardbounce1@example.com",
    ]
    assert {bounce.RecordType for bounce in every} == {"Bounce"}
    assert [b.Email for b in postmark.bounces.all(count=1, offset=1)] == ["hardbounce2@example.com"]
    assert [b.Email for b in postmark.bounces.all(type="SoftBounce")] == ["softbounce@example.com"]
    assert len(postmark.bounces.all(inactive=True)) == 2
    assert [b.Email for b in postmark.bounces.all(emailFilter="BOUNCE1")] == ["hardbounce1@example.com"]
    assert [b.Email for b in postmark.bounces.all(tag="welcome")] == ["hardbounce2@example.com"]
    assert [b.Email for b in postmark.bounces.all(messageID=soft["MessageID"])] == ["softbounce@example.com"]
    today = eastern_now().date()
    day = dt.timedelta(days=1)
    assert len(postmark.bounces.all(fromdate=today - day, todate=today + day)) == 3
    assert postmark.bounces.all(fromdate=today + day) == []
    assert postmark.bounces.all(todate=today - day) == []

    hard = postmark.bounces.get(every[-1].ID)
    assert (hard.Email, hard.Type, hard.Inactive) == ("hardbounce1@example.com", "HardBounce", True)
    assert hard.Details in hard.dump
    assert postmark.bounces.get_dump(hard.ID) == hard.dump
    assert hard.activate() == "OK"
    assert hard.Inactive is False
    assert "hardbounce1@example.com" not in sandbox.suppressed("outbound")
    with pytest.raises(ClientError) as cannot:
        postmark.bounces.activate(every[0].ID)
    assert cannot.value.error_code == 1003
    with pytest.raises(ClientError) as missing:
        postmark.bounces.get(999999)
    assert missing.value.error_code == 1001

    assert postmark.bounces.tags == ["signup", "welcome"]
    stats = postmark.bounces.deliverystats
    assert stats["InactiveMails"] == 1
    assert stats["Bounces"][0] == {"Name": "All", "Count": 3}


# -- message streams and webhooks: postmarker has no manager for them, its generic call reaches them ----


def test_message_streams_and_webhooks_crud(postmark):
    streams = postmark.call("GET", "/message-streams")["MessageStreams"]
    assert [stream["ID"] for stream in streams] == ["outbound", "broadcast", "inbound"]
    broadcasts = postmark.call("GET", "/message-streams", MessageStreamType="Broadcasts")["MessageStreams"]
    assert [stream["ID"] for stream in broadcasts] == ["broadcast"]
    assert postmark.call("GET", "/message-streams/outbound")["MessageStreamType"] == "Transactional"

    created = postmark.call(
        "POST",
        "/webhooks",
        data={
            "Url": "https://site.example.com/postmark/",
            "MessageStream": "broadcast",
            "HttpAuth": {"Username": "hook", "Password": "s3cret"},
            "HttpHeaders": None,
            "Triggers": {"Delivery": {"Enabled": True}, "Bounce": {"Enabled": True, "IncludeContent": True}},
        },
    )
    hook_id = created["ID"]
    listed = postmark.call("GET", "/webhooks", MessageStream="broadcast")["Webhooks"]
    assert [hook["ID"] for hook in listed] == [hook_id]
    assert postmark.call("GET", "/webhooks", MessageStream="outbound")["Webhooks"] == []
    assert postmark.call("GET", f"/webhooks/{hook_id}") == created
    edited = postmark.call("PUT", f"/webhooks/{hook_id}", data={"Triggers": {"Open": {"Enabled": True}}})
    assert edited["Triggers"]["Open"]["Enabled"] and edited["Triggers"]["Delivery"]["Enabled"]
    assert postmark.call("DELETE", f"/webhooks/{hook_id}")["ErrorCode"] == 0
    with pytest.raises(ClientError) as gone:
        postmark.call("GET", f"/webhooks/{hook_id}")
    assert gone.value.error_code == 1400


# -- messages, statistics, suppressions: the deliverability desk's calls -------------------------------


@pytest.fixture
def sent(postmark):
    """Three messages on the outbound stream: a tracked delivery, a hard bounce, a spam complaint."""
    delivered = postmark.emails.send(
        From=SENDER,
        To="Ann <ann@example.com>",
        Subject="Your order",
        HtmlBody='<p><a href="https://shop.example.com/o/1">Order</a></p>',
        TrackOpens=True,
        TrackLinks="HtmlOnly",
        Tag="order",
        Metadata={"order": "1"},
    )
    bounced = postmark.emails.send(From=SENDER, To="hardbounce@example.com", Subject="Hi", TextBody="x")
    complained = postmark.emails.send(From=SENDER, To="spamcomplaint@example.com", Subject="Hi", TextBody="x")
    return delivered["MessageID"], bounced["MessageID"], complained["MessageID"]


def test_outbound_messages_search_details_and_dump(postmark, sent):
    delivered, bounced, complained = sent
    every = postmark.messages.outbound.all()
    assert [message.MessageID for message in every] == [complained, bounced, delivered]
    assert {message.Status for message in every} == {"Sent"}
    assert [m.MessageID for m in postmark.messages.outbound.all(recipient="ANN@example.com")] == [delivered]
    assert [m.MessageID for m in postmark.messages.outbound.all(tag="order", subject="order")] == [delivered]
    assert [m.MessageID for m in postmark.messages.outbound.all(count=1, offset=1)] == [bounced]
    today = eastern_now().date()
    assert postmark.messages.outbound.all(fromdate=today + dt.timedelta(days=1)) == []
    assert len(postmark.messages.outbound.all(todate=today)) == 3

    details = postmark.messages.outbound.get(delivered)
    assert details.To == [{"Email": "ann@example.com", "Name": "Ann"}]
    assert details.Metadata == {"order": "1"}
    assert [event["Type"] for event in details.MessageEvents] == ["Delivered", "Opened", "LinkClicked"]
    assert details.MessageEvents[2]["Details"]["Link"] == "https://shop.example.com/o/1"
    assert "Order" in details.HtmlBody
    bounce = postmark.messages.outbound.get(bounced)
    assert [event["Type"] for event in bounce.MessageEvents] == ["Bounced", "SubscriptionChanged"]
    [record] = postmark.bounces.all(messageID=bounced)
    assert bounce.MessageEvents[0]["Details"]["BounceID"] == str(record.ID)
    assert "Subject: Your order" in postmark.messages.outbound.get_dump(delivered)
    with pytest.raises(ClientError) as missing:
        postmark.messages.outbound.get("no-such-message")
    assert missing.value.error_code == 701


def test_outbound_statistics(postmark, sent):
    overview = postmark.stats.overview()
    assert (overview["Sent"], overview["Bounced"], overview["SpamComplaints"]) == (3, 1, 1)
    assert (overview["BounceRate"], overview["SpamComplaintsRate"]) == (33.333, 33.333)
    assert (overview["Opens"], overview["UniqueOpens"], overview["TotalClicks"]) == (1, 1, 1)
    assert (overview["Tracked"], overview["WithOpenTracking"], overview["WithLinkTracking"]) == (1, 1, 1)
    assert postmark.stats.overview(tag="order")["Sent"] == 1
    today = eastern_now().date().isoformat()
    assert postmark.stats.sends() == {"Days": [{"Date": today, "Sent": 3}], "Sent": 3}
    assert postmark.stats.bounces() == {"Days": [{"Date": today, "HardBounce": 1}], "HardBounce": 1}
    assert postmark.stats.spam() == {"Days": [{"Date": today, "SpamComplaint": 1}], "SpamComplaint": 1}
    assert postmark.stats.tracked()["Tracked"] == 1
    assert postmark.stats.opens() == {
        "Days": [{"Date": today, "Opens": 1, "Unique": 1}],
        "Opens": 1,
        "Unique": 1,
    }
    assert postmark.stats.clicks()["Clicks"] == 1
    tomorrow = eastern_now().date() + dt.timedelta(days=1)
    assert postmark.stats.sends(fromdate=tomorrow) == {"Days": [], "Sent": 0}
    with pytest.raises(ClientError) as bad_date:
        postmark.stats.overview(fromdate="the day before")
    assert bad_date.value.error_code == 900


def test_suppressions_through_the_generic_call(postmark, sent):
    # postmarker has no suppressions manager: its generic call reaches the endpoints.
    base = "/message-streams/outbound/suppressions"
    dump = postmark.call("GET", base + "/dump")["Suppressions"]
    assert [(s["EmailAddress"], s["SuppressionReason"], s["Origin"]) for s in dump] == [
        ("spamcomplaint@example.com", "SpamComplaint", "Recipient"),
        ("hardbounce@example.com", "HardBounce", "Recipient"),
    ]
    created = postmark.call("POST", base, data={"Suppressions": [{"EmailAddress": "manual@example.com"}]})
    assert created == {
        "Suppressions": [{"EmailAddress": "manual@example.com", "Status": "Suppressed", "Message": None}]
    }
    deleted = postmark.call(
        "POST",
        base + "/delete",
        data={
            "Suppressions": [
                {"EmailAddress": "hardbounce@example.com"},
                {"EmailAddress": "spamcomplaint@example.com"},
            ]
        },
    )["Suppressions"]
    assert [(item["Status"], item["Message"]) for item in deleted] == [
        ("Deleted", None),
        ("Failed", "You do not have the required authority to change this suppression."),
    ]
    left = postmark.call("GET", base + "/dump", SuppressionReason="ManualSuppression")["Suppressions"]
    assert [s["EmailAddress"] for s in left] == ["manual@example.com"]
    assert (
        postmark.emails.send(From=SENDER, To="hardbounce@example.com", Subject="Again", TextBody="x")[
            "ErrorCode"
        ]
        == 0
    )
