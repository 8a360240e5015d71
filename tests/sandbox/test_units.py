"""The sandbox's pure parts, with tables of cases: address parsing, template rendering, message
checks, webhook payloads and the choice of posts, timestamps."""

from __future__ import annotations

import datetime as dt

import pytest

from postmark_admin.sandbox import outcomes, payloads
from postmark_admin.sandbox.addresses import (
    Address,
    AddressError,
    _scan_addresses,
    parse_address_list,
    split_addresses,
)
from postmark_admin.sandbox.core import DEFAULT_STREAMS, is_loopback
from postmark_admin.sandbox.records import ReceivedRequest, postmark_timestamp
from postmark_admin.sandbox.templates import DEFAULT_TEMPLATES, find_template, render
from postmark_admin.sandbox.validation import MAX_MESSAGE_BYTES, ApiError, check_message
from postmark_admin.sandbox.webhook_sender import split_credentials


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@example.com", [Address("", "a@example.com")]),
        ("A <a@example.com>", [Address("A", "a@example.com")]),
        (
            '"Doe, Jane" <jane@example.com>, b@example.com',
            [Address("Doe, Jane", "jane@example.com"), Address("", "b@example.com")],
        ),
        ('"Say \\"hi\\"" <q@example.com>', [Address('Say "hi"', "q@example.com")]),
        ("a@example.com,, b@example.com ,", [Address("", "a@example.com"), Address("", "b@example.com")]),
        ("first.last+tag@sub.example.co.uk", [Address("", "first.last+tag@sub.example.co.uk")]),
        ("user@bücher.example", [Address("", "user@bücher.example")]),
        ("", []),
    ],
)
def test_parse_address_list(value, expected):
    assert parse_address_list(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "a@",
        "@example.com",
        "a@localhost",
        "a b@example.com",
        "ü@example.com",
        "a..b@example.com",
        ".a@example.com",
        "a@-example.com",
        "Name <a@example.com",
        'Na"me <a@example.com>',
        "a@example..com",
    ],
)
def test_bad_addresses(value):
    with pytest.raises(AddressError):
        parse_address_list(value)


def test_split_keeps_commas_in_quotes_and_angles():
    assert split_addresses('"a, b" <x@example.com>, <y,z@example.com>') == [
        '"a, b" <x@example.com>',
        "<y,z@example.com>",
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "  ",
        "a@example.com",
        " A B <a@example.com> ",
        "a@example.com, b@example.com",
        "a@example.com,,b@example.com,",
        "<y,z@example.com>, w@example.com",
        "<unclosed,a@example.com, b@example.com",
        "x>y@example.com, <a@b.example>, c",
        'N <a@example.com>, "Doe, J" <j@example.com>',
        '"a \\" b, c" <d@example.com>',
        '"unterminated, <a@example.com>',
    ],
)
def test_split_fast_path_agrees_with_the_scanner(value):
    assert split_addresses(value) == _scan_addresses(value)


@pytest.mark.parametrize(
    ("text", "model", "escape", "expected"),
    [
        ("Hi {{ name }}", {"name": "Ann"}, False, "Hi Ann"),
        ("Hi {{name}}", {"name": "<b>"}, True, "Hi &lt;b&gt;"),
        ("Hi {{{ name }}}", {"name": "<b>"}, True, "Hi <b>"),
        ("{{ user.city }}", {"user": {"city": "Oslo"}}, False, "Oslo"),
        ("[{{ missing }}]", {}, False, "[]"),
        ("{{ n }}", {"n": 3}, False, "3"),
    ],
)
def test_render(text, model, escape, expected):
    assert render(text, model, escape=escape) == expected


def test_find_template_by_id_alias_and_string_id():
    assert find_template(DEFAULT_TEMPLATES, 1000, None).alias == "welcome"
    assert find_template(DEFAULT_TEMPLATES, "1001", None).alias == "password-reset"
    assert find_template(DEFAULT_TEMPLATES, None, "welcome").template_id == 1000
    assert find_template(DEFAULT_TEMPLATES, 5, "nope") is None


def check(message, with_template=False):
    return check_message(
        message, with_template=with_template, streams=DEFAULT_STREAMS, templates=DEFAULT_TEMPLATES
    )


def test_size_check_skips_reencoding_only_when_the_source_is_too_short():
    # 2.2 MB of "1e15" numbers re-encode to ~10 MB as "1000000000000000.0": the check must still run.
    numbers = {"TemplateModel": {"n": [1e15] * 560_000}}
    message = {"From": "s@example.com", "To": "a@example.com", "TextBody": "x", **numbers}
    source = len('{"n":[' + ",".join(["1e15"] * 560_000) + "]}") + 100
    with pytest.raises(ApiError) as refused:
        check_message(message, with_template=False, streams=DEFAULT_STREAMS, source_size=source)
    assert refused.value.status == 413
    small = {"From": "s@example.com", "To": "a@example.com", "TextBody": "x"}
    checked = check_message(
        small, with_template=False, streams=DEFAULT_STREAMS, source_size=MAX_MESSAGE_BYTES // 5
    )
    assert checked.recipients == ["a@example.com"]


def test_checked_message():
    checked = check(
        {
            "From": "S <s@example.com>",
            "To": "A@Example.com, b@example.com",
            "Cc": "a@example.com",
            "Bcc": "c@example.com",
            "TextBody": "x",
            "Tag": "t",
            "Metadata": {"n": 1},
        }
    )
    assert checked.recipients == ["a@example.com", "b@example.com", "c@example.com"]
    assert checked.sender == Address("S", "s@example.com")
    assert (checked.stream, checked.tag, checked.metadata) == ("outbound", "t", {"n": "1"})


def test_template_is_rendered_with_html_escaped():
    checked = check(
        {
            "From": "s@example.com",
            "To": "a@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "<Ann>", "product_name": "Shop"},
        },
        with_template=True,
    )
    assert checked.subject == "Welcome, <Ann>"
    assert checked.html_body == "<p>Hello &lt;Ann&gt;, welcome to Shop.</p>"
    assert checked.text_body == "Hello <Ann>, welcome to Shop."


def test_template_model_is_ignored_without_a_template():
    assert (
        check({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "TemplateModel": 5}).text_body
        == "x"
    )


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not an object", 402),
        ({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "ReplyTo": "nope"}, 300),
        (
            {
                "From": "s@example.com",
                "To": "a@example.com",
                "TextBody": "x",
                "Metadata": {str(i): "v" for i in range(11)},
            },
            300,
        ),
        ({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "Metadata": {"k": ["list"]}}, 300),
        ({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "Headers": {"X": "1"}}, 300),
        ({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "TrackOpens": "yes"}, 300),
        ({"From": "s@example.com", "To": "a@example.com", "TextBody": "x", "Subject": "s" * 2001}, 300),
        (
            {
                "From": "s@example.com",
                "To": "a@example.com",
                "TextBody": "x",
                "Attachments": [{"Name": "x.scr", "Content": ""}],
            },
            411,
        ),
        ({"From": "s@example.com", "To": ["a@example.com"], "TextBody": "x"}, 300),
    ],
)
def test_check_refusals(message, code):
    with pytest.raises(ApiError) as error:
        check(message)
    assert error.value.error_code == code
    assert error.value.status == 422


# -- payloads ----------------------------------------------------------------------------------------

AT = dt.datetime(2024, 5, 1, 10, 11, 12, 345678, tzinfo=dt.UTC)
CHECKED = check(
    {
        "From": "s@example.com",
        "To": "a@example.com",
        "HtmlBody": '<a href="https://x.example/">x</a>',
        "Tag": "t",
        "Metadata": {"k": "v"},
    }
)
COMMON = {"RecordType", "MessageID", "Tag", "Metadata", "MessageStream", "ServerID"}


@pytest.mark.parametrize(
    ("build", "record_type", "fields"),
    [
        (payloads.delivery, "Delivery", {"Recipient", "DeliveredAt", "Details"}),
        (
            payloads.open_event,
            "Open",
            {
                "Recipient",
                "ReceivedAt",
                "FirstOpen",
                "Client",
                "OS",
                "Platform",
                "UserAgent",
                "ReadSeconds",
                "Geo",
            },
        ),
        (
            payloads.click,
            "Click",
            {
                "Recipient",
                "ReceivedAt",
                "ClickLocation",
                "OriginalLink",
                "Client",
                "OS",
                "Platform",
                "UserAgent",
                "Geo",
            },
        ),
        (
            lambda *a: payloads.subscription_change(*a, reason="HardBounce"),
            "SubscriptionChange",
            {"Recipient", "ChangedAt", "Origin", "SuppressSending", "SuppressionReason"},
        ),
    ],
)
def test_event_payload_shapes(build, record_type, fields):
    payload = build(CHECKED, "mid", "a@example.com", 9, AT)
    assert payload["RecordType"] == record_type
    assert set(payload) == COMMON | fields
    assert (payload["MessageID"], payload["ServerID"], payload["Tag"], payload["Metadata"]) == (
        "mid",
        9,
        "t",
        {"k": "v"},
    )


@pytest.mark.parametrize(
    ("address", "record_type", "kind", "code", "inactive"),
    [
        ("hardbounce@example.com", "Bounce", "HardBounce", 1, True),
        ("HardBounce+2@example.com", "Bounce", "HardBounce", 1, True),
        ("softbounce@example.com", "Bounce", "SoftBounce", 4096, False),
        ("spamcomplaint@example.com", "SpamComplaint", "SpamComplaint", 100001, True),
    ],
)
def test_bounce_payloads(address, record_type, kind, code, inactive):
    outcome = payloads.outcome_for(address)
    record = payloads.bounce_record(CHECKED, "mid", address, 1, AT, bounce_id=42, outcome=outcome)
    payload = payloads.bounce_webhook(record, outcome, include_content=False)
    assert (payload["RecordType"], payload["Type"], payload["TypeCode"], payload["Inactive"]) == (
        record_type,
        kind,
        code,
        inactive,
    )
    assert {
        "ID",
        "Name",
        "Description",
        "Details",
        "Email",
        "From",
        "BouncedAt",
        "DumpAvailable",
        "CanActivate",
        "Subject",
    } <= set(payload)
    assert "RecordType" not in record


def test_plain_addresses_have_no_outcome():
    assert payloads.outcome_for("bounce@example.com") is None


def test_deliveries_pick_enabled_triggers_of_the_stream():
    hooks = [
        {**outcomes.webhook_config("http://u:p@h.example/1", None, ["Delivery"], "outbound"), "ID": 1},
        {
            **outcomes.webhook_config("http://h.example/2", ("a", "b"), ["Delivery", "Bounce"], "outbound"),
            "ID": 2,
        },
        {**outcomes.webhook_config("http://h.example/3", None, ["Delivery", "Bounce"], "broadcast"), "ID": 3},
    ]
    hooks[1]["HttpHeaders"] = [{"Name": "X-A", "Value": "1"}]
    outcome = payloads.outcome_for("hardbounce@example.com")
    events = [
        outcomes.Event("Delivery", {"RecordType": "Delivery"}),
        outcomes.Event("Bounce", {"Type": "HardBounce", "Subject": "s", "Details": "d"}, outcome),
    ]
    posts = outcomes.deliveries(hooks, "outbound", events)
    assert [(post.url, post.payload["RecordType"]) for post in posts] == [
        ("http://u:p@h.example/1", "Delivery"),
        ("http://h.example/2", "Delivery"),
        ("http://h.example/2", "Bounce"),
    ]
    assert posts[0].auth is None and posts[1].auth == ("a", "b")
    assert posts[2].headers == (("X-A", "1"),)


@pytest.mark.parametrize(
    ("url", "bare", "auth"),
    [
        ("https://h.example/x", "https://h.example/x", None),
        ("https://u:p%40ss@h.example:8443/x?y=1", "https://h.example:8443/x?y=1", ("u", "p@ss")),
        ("http://u@[::1]:80/x", "http://[::1]:80/x", ("u", "")),
    ],
)
def test_split_credentials(url, bare, auth):
    assert split_credentials(url) == (bare, auth)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (AT, "2024-05-01T10:11:12.3456780Z"),
        (AT.astimezone(dt.timezone(dt.timedelta(hours=-4))), "2024-05-01T06:11:12.3456780-04:00"),
        (AT.astimezone(dt.timezone(dt.timedelta(hours=5, minutes=30))), "2024-05-01T15:41:12.3456780+05:30"),
    ],
)
def test_postmark_timestamp(moment, expected):
    assert postmark_timestamp(moment) == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("::1", True), ("localhost", True), ("0.0.0.0", False), ("192.168.1.5", False)],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_received_request_header_lookup_is_case_insensitive():
    request = ReceivedRequest("GET", "/", {}, {"X-Postmark-Server-Token": "t", "Accept": "a"}, None, b"", 1)
    assert request.header("accept") == "a"
    assert request.header("missing", "d") == "d"
    assert "'t'" not in repr(request)


def test_enabled_triggers_of_a_stream():
    hooks = [
        outcomes.webhook_config("http://h.example/1", None, ["Delivery", "Open"], "outbound"),
        outcomes.webhook_config("http://h.example/2", None, ["Bounce"], "broadcast"),
    ]
    assert outcomes.enabled_triggers(hooks, "outbound") == {"Delivery", "Open"}
    assert outcomes.enabled_triggers(hooks, "broadcast") == {"Bounce"}
    assert outcomes.enabled_triggers([], "outbound") == set()


#: A message whose opens and links are tracked, with a link: every event can follow it.
TRACKED = {
    "From": "s@example.com",
    "HtmlBody": '<p><a href="https://shop.example.com/">Shop</a></p>',
    "TextBody": "x",
    "TrackOpens": True,
    "TrackLinks": "HtmlAndText",
}

HTML_LINK = '<p>See <a class="x" href="https://shop.example.com/offer?a=1&amp;b=2">the offer</a>.</p>'
TEXT_LINK = "See the offer: https://shop.example.com/text-offer."


@pytest.mark.parametrize(
    ("fields", "triggers", "click"),
    [
        # Opens need open tracking and an HTML body (the tracking pixel goes there).
        ({"TextBody": "Hello", "TrackOpens": True, "TrackLinks": "HtmlAndText"}, ["Delivery"], None),
        ({"HtmlBody": HTML_LINK}, ["Delivery"], None),
        ({"HtmlBody": HTML_LINK, "TrackOpens": False, "TrackLinks": "None"}, ["Delivery"], None),
        ({"HtmlBody": HTML_LINK, "TrackOpens": True}, ["Delivery", "Open"], None),
        ({"HtmlBody": "<p>No link</p>", "TrackOpens": True}, ["Delivery", "Open"], None),
        # Clicks need link tracking for a body that has a link; the link is the body's, never made up.
        (
            {"TextBody": TEXT_LINK, "TrackOpens": True, "TrackLinks": "HtmlAndText"},
            ["Delivery", "Click"],
            ("Text", "https://shop.example.com/text-offer"),
        ),
        (
            {"HtmlBody": HTML_LINK, "TrackLinks": "HtmlOnly"},
            ["Delivery", "Click"],
            ("HTML", "https://shop.example.com/offer?a=1&b=2"),
        ),
        (
            {"HtmlBody": HTML_LINK, "TextBody": TEXT_LINK, "TrackLinks": "TextOnly"},
            ["Delivery", "Click"],
            ("Text", "https://shop.example.com/text-offer"),
        ),
        ({"HtmlBody": "<p>No link</p>", "TextBody": TEXT_LINK, "TrackLinks": "HtmlOnly"}, ["Delivery"], None),
        ({"HtmlBody": HTML_LINK, "TextBody": "No link", "TrackLinks": "TextOnly"}, ["Delivery"], None),
        (
            {"HtmlBody": '<a href="mailto:a@example.com">Mail</a>', "TrackLinks": "HtmlAndText"},
            ["Delivery"],
            None,
        ),
        (
            {"HtmlBody": "<p>No link</p>", "TextBody": TEXT_LINK, "TrackLinks": "HtmlAndText"},
            ["Delivery", "Click"],
            ("Text", "https://shop.example.com/text-offer"),
        ),
        (
            {"HtmlBody": HTML_LINK, "TextBody": TEXT_LINK, "TrackOpens": True, "TrackLinks": "HtmlAndText"},
            ["Delivery", "Open", "Click"],
            ("HTML", "https://shop.example.com/offer?a=1&b=2"),
        ),
    ],
)
def test_opens_and_clicks_only_for_mail_that_could_be_tracked(fields, triggers, click):
    checked = check({"From": "s@example.com", "To": "a@example.com", **fields})
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    events = outcomes.recipient_events(checked, "id-1", "a@example.com", now, server_id=1, bounce_id=1)
    assert [event.trigger for event in events] == triggers
    clicks = [event.payload for event in events if event.trigger == "Click"]
    assert [(payload["ClickLocation"], payload["OriginalLink"]) for payload in clicks] == (
        [click] if click else []
    )


def test_a_template_sends_clicks_on_its_rendered_link():
    checked = check(
        {
            "From": "s@example.com",
            "To": "a@example.com",
            "TemplateAlias": "password-reset",
            "TemplateModel": {"action_url": "https://shop.example.com/reset/42"},
            "TrackLinks": "HtmlAndText",
        },
        with_template=True,
    )
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    [_, click] = outcomes.recipient_events(checked, "id-1", "a@example.com", now, server_id=1, bounce_id=1)
    assert (click.payload["ClickLocation"], click.payload["OriginalLink"]) == (
        "HTML",
        "https://shop.example.com/reset/42",
    )


@pytest.mark.parametrize(
    ("html", "text", "track_links", "expected"),
    [
        (
            "<a href=\"https://a.example/1\">1</a> <A HREF='http://b.example/2'>2</A>",
            "",
            "HtmlOnly",
            [("HTML", "https://a.example/1"), ("HTML", "http://b.example/2")],
        ),
        ('<a href="/relative">r</a><a href="#top">t</a><a href="tel:123">p</a>', "", "HtmlAndText", []),
        (
            "",
            "Go to https://a.example/x, or (https://b.example/y).",
            "TextOnly",
            [("Text", "https://a.example/x"), ("Text", "https://b.example/y")],
        ),
        ('<a href="https://a.example/1">1</a>', "https://b.example/2", "None", []),
        (
            '<a href="https://a.example/1">1</a>',
            "https://b.example/2",
            "HtmlAndText",
            [("HTML", "https://a.example/1"), ("Text", "https://b.example/2")],
        ),
    ],
)
def test_tracked_links(html, text, track_links, expected):
    checked = check(
        {
            "From": "s@example.com",
            "To": "a@example.com",
            "HtmlBody": html or None,
            "TextBody": text or None,
            "TrackLinks": track_links,
        }
    )
    assert [(link.location, link.url) for link in payloads.tracked_links(checked)] == expected


@pytest.mark.parametrize(
    ("recipient", "wanted", "built", "bounces"),
    [
        ("ann@example.com", {"Delivery"}, ["Delivery"], 0),
        ("ann@example.com", set(), [], 0),
        ("ann@example.com", set(outcomes.WEBHOOK_EVENTS), ["Delivery", "Open", "Click"], 0),
        # A bounce is recorded (and the address suppressed) even when no webhook wants it.
        ("hardbounce@example.com", set(), ["Bounce"], 1),
        ("hardbounce@example.com", {"SubscriptionChange"}, ["Bounce", "SubscriptionChange"], 1),
        ("spamcomplaint@example.com", {"Delivery"}, ["Delivery", "SpamComplaint"], 1),
    ],
)
def test_recipient_events_builds_only_wanted_payloads(recipient, wanted, built, bounces):
    from postmark_admin.sandbox import Sandbox

    sandbox = Sandbox()
    checked = check({**TRACKED, "To": recipient})
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    events = sandbox.state.emulate_delivery(checked, "id-1", recipient, now, server_id=1, wanted=wanted)
    assert [event.trigger for event in events] == built
    assert len(sandbox.bounces) == bounces
    assert (recipient in sandbox.suppressed("outbound")) == (bounces == 1)
    assert sandbox.inactive == set()  # suppressed on the message's stream only


def test_recipient_events_number_the_bounce_record_they_build():
    checked = check({**TRACKED, "To": "hardbounce@example.com"})
    now = dt.datetime(2024, 5, 1, tzinfo=dt.UTC)
    args = (checked, "id-1", "hardbounce@example.com", now)
    [event] = outcomes.recipient_events(*args, server_id=7, bounce_id=42, wanted=set())
    assert (event.trigger, event.outcome.type) == ("Bounce", "HardBounce")
    assert (event.payload["ID"], event.payload["ServerID"]) == (42, 7)
    delivered = outcomes.recipient_events(checked, "id-1", "ann@example.com", now, server_id=7, bounce_id=42)
    assert [event.outcome for event in delivered] == [None, None, None]


def test_message_ids_are_random_version_4_uuids():
    import uuid

    from postmark_admin.sandbox.sending import new_message_id

    ids = [new_message_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    for text in ids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"a": None, "b": 1}, {"b": 1}),
        ({"a": {"b": None, "c": [None, {"d": None}]}}, {"a": {"c": [None, {}]}}),
        ([{"a": None}], [{}]),
        (None, None),
        ("text", "text"),
    ],
)
def test_without_nulls_leaves_out_null_members_at_every_depth(value, expected):
    from postmark_admin.sandbox.validation import without_nulls

    assert without_nulls(value) == expected
