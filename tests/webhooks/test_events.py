"""postmark_admin.webhooks.events: webhook JSON -> normalized event, as tables of payloads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from postmark_admin.models import EventType, WebhookEvent
from postmark_admin.webhooks.body import InvalidWebhookPayload, parse_body
from postmark_admin.webhooks.events import (
    BOUNCE_TYPES,
    PayloadKind,
    dedupe_key,
    normalize,
    parse_dated,
    parse_timestamp,
    payload_kind,
)

from .payloads import load

AT = datetime(2019, 11, 5, 16, 33, 54, 907025, tzinfo=UTC)

# (payload, event_type, reject_reason, recipient, occurred_at)
RECORD_TYPES = [
    ("bounce", "bounced", "bounced", "john@example.com", AT),
    ("spam_complaint", "complained", "spam", "john@example.com", AT),
    ("delivery", "delivered", "", "john@example.com", AT),
    ("open", "opened", "", "john@example.com", AT + timedelta(hours=5)),
    ("click", "clicked", "", "john@example.com", AT),
    (
        "subscription_change",
        "bounced",
        "bounced",
        "bounced-address@wildbit.com",
        datetime(2020, 2, 1, 10, 53, 34, 416071, tzinfo=UTC),
    ),
    ("inbound", "inbound", "", "yourhash+SampleHash@inbound.postmarkapp.com", None),
]


@pytest.mark.parametrize(("name", "event_type", "reason", "recipient", "occurred_at"), RECORD_TYPES)
def test_record_types(name, event_type, reason, recipient, occurred_at):
    payload = load(name)
    event = normalize(payload)
    assert event.event_type == event_type
    assert event.reject_reason == reason
    assert event.recipient == recipient
    if occurred_at is not None:
        assert event.occurred_at == occurred_at
    assert event.occurred_at.tzinfo is not None
    assert event.message_id == payload["MessageID"]
    assert event.message_stream == payload["MessageStream"]
    assert event.tag == payload["Tag"]
    assert event.metadata == payload["Metadata"] if "Metadata" in payload else event.metadata == {}
    assert event.payload == payload


def test_inbound_date_is_rfc2822_with_colon_offset():
    assert normalize(load("inbound")).occurred_at == datetime(2014, 8, 1, 20, 45, 32, tzinfo=UTC)


def test_bounce_details():
    event = normalize(load("bounce"))
    assert event.record_type == "Bounce"
    assert event.bounce_id == 4323372036854775807
    assert event.description.startswith("The server was unable to deliver")
    assert event.mta_response.startswith("smtp;550 5.1.1")
    assert event.dedupe_key == "Bounce:4323372036854775807"


def test_open_and_click_details():
    assert normalize(load("open")).user_agent.startswith("Mozilla/5.0 (Windows")
    click = normalize(load("click"))
    assert click.click_url == "https://example.com/welcome?utm_source=email"
    assert click.user_agent.startswith("Mozilla/5.0 (Macintosh")
    assert normalize(load("delivery")).mta_response == "Test delivery webhook details"


# Postmark's table of bounce types: Type -> (event type, reject reason).
BOUNCE_TABLE = [
    ("HardBounce", 1, "bounced", "bounced"),
    ("Transient", 2, "deferred", ""),
    ("Unsubscribe", 16, "unsubscribed", "unsubscribed"),
    ("Subscribe", 32, "subscribed", ""),
    ("AutoResponder", 64, "autoresponded", ""),
    ("AddressChange", 128, "autoresponded", ""),
    ("DnsError", 256, "deferred", ""),
    ("SpamNotification", 512, "complained", "spam"),
    ("OpenRelayTest", 1024, "deferred", ""),
    ("Unknown", 2048, "unknown", ""),
    ("SoftBounce", 4096, "bounced", "bounced"),
    ("VirusNotification", 8192, "bounced", "other"),
    ("ChallengeVerification", 16384, "autoresponded", ""),
    ("BadEmailAddress", 100000, "rejected", "invalid"),
    ("SpamComplaint", 100001, "complained", "spam"),
    ("ManuallyDeactivated", 100002, "rejected", "blocked"),
    ("Unconfirmed", 100003, "rejected", "other"),
    ("Blocked", 100006, "rejected", "blocked"),
    ("SMTPApiError", 100007, "failed", ""),
    ("InboundError", 100008, "inbound_failed", ""),
    ("DMARCPolicy", 100009, "rejected", "blocked"),
    ("TemplateRenderingFailed", 100010, "failed", ""),
    # Not in Postmark's table: stored as unknown, never dropped.
    ("SomethingNew", 424242, "unknown", ""),
    (None, 1, "unknown", ""),
    (17, None, "unknown", ""),
]


def test_bounce_table_covers_every_documented_type():
    assert {row[0] for row in BOUNCE_TABLE} >= set(BOUNCE_TYPES)


@pytest.mark.parametrize(("bounce_type", "code", "event_type", "reason"), BOUNCE_TABLE)
def test_bounce_types(bounce_type, code, event_type, reason):
    event = normalize(load("bounce", Type=bounce_type, TypeCode=code))
    assert (event.event_type, event.reject_reason) == (event_type, reason)
    assert event.event_type in EventType.values
    assert event.recipient == "john@example.com"


@pytest.mark.parametrize(
    ("changes", "event_type", "reason"),
    [
        ({"SuppressSending": True, "SuppressionReason": "HardBounce"}, "bounced", "bounced"),
        ({"SuppressSending": True, "SuppressionReason": "SpamComplaint"}, "complained", "spam"),
        ({"SuppressSending": True, "SuppressionReason": "ManualSuppression"}, "unsubscribed", "unsubscribed"),
        ({"SuppressSending": True, "SuppressionReason": None}, "unsubscribed", "unsubscribed"),
        ({"SuppressSending": False, "SuppressionReason": None}, "subscribed", ""),
        ({"SuppressSending": False, "SuppressionReason": "HardBounce"}, "subscribed", ""),
        # A missing SuppressSending means true.
        ({"SuppressSending": None, "SuppressionReason": "ManualSuppression"}, "unsubscribed", "unsubscribed"),
        ({"SuppressionReason": "SpamComplaint"}, "complained", "spam"),
        ({"SuppressionReason": "SomethingNew"}, "unsubscribed", "unsubscribed"),
    ],
)
def test_subscription_change(changes, event_type, reason):
    payload = load("subscription_change")
    payload.pop("SuppressSending")
    payload.update(changes)
    if changes.get("SuppressSending", "absent") is None:
        del payload["SuppressSending"]
    event = normalize(payload)
    assert (event.event_type, event.reject_reason) == (event_type, reason)


def test_manual_subscription_change_has_no_message_id():
    event = normalize(load("subscription_change", MessageID=None, Origin="Admin"))
    assert event.message_id == ""
    assert event.recipient == "bounced-address@wildbit.com"


def test_unknown_record_type_is_kept():
    payload = {
        "RecordType": "ListUnsubscribe",
        "Recipient": "a@example.com",
        "ReceivedAt": "2024-01-02T03:04:05Z",
    }
    event = normalize(payload)
    assert event.event_type == "unknown"
    assert event.record_type == "ListUnsubscribe"
    assert event.recipient == "a@example.com"
    assert event.occurred_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert event.payload == payload


@pytest.mark.parametrize(
    "name", ["bounce", "spam_complaint", "delivery", "open", "click", "subscription_change"]
)
def test_every_field_null_or_missing(name):
    payload = load(name)
    nulled = {key: None for key in payload} | {"RecordType": payload["RecordType"]}
    bare = {"RecordType": payload["RecordType"]}
    for variant in (nulled, bare):
        event = normalize(variant)
        assert event.recipient == event.message_id == event.tag == ""
        assert event.occurred_at is None
        assert event.metadata == {}


def test_wrong_types_become_empty_not_errors():
    event = normalize(
        {
            "RecordType": "Bounce",
            "Type": ["HardBounce"],
            "Email": {"x": 1},
            "MessageID": 12345,
            "Tag": True,
            "Metadata": ["not", "a", "dict"],
            "BouncedAt": 20191105,
            "ID": "not a number",
            "Details": None,
        }
    )
    assert event.event_type == "unknown"
    assert event.recipient == ""
    assert event.message_id == "12345"
    assert event.tag == ""
    assert event.metadata == {}
    assert event.occurred_at is None
    assert event.bounce_id is None
    assert event.dedupe_key.startswith("sha256:")


def test_overlong_values_fit_their_columns():
    event = normalize(
        load("delivery", Recipient="x" * 5000, MessageID="m" * 500, Tag="é" * 1500, MessageStream="s" * 300)
    )
    columns = {f.name: f.max_length for f in WebhookEvent._meta.fields if f.max_length}
    for name in ("recipient", "message_id", "tag", "message_stream", "record_type"):
        assert len(getattr(event, name)) <= columns[name]
    assert len(event.tag.encode()) <= 2000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-11-05T16:33:54.9070259Z", AT),
        ("2019-11-05T16:33:54.9070259+00:00", AT),
        ("2019-11-05T11:33:54.9070259-05:00", AT),
        ("2019-11-05T16:33:54.907025Z", AT),
        ("2019-11-05T16:33:54Z", AT.replace(microsecond=0)),
        ("2019-11-05T16:33:54", AT.replace(microsecond=0)),
        ("2019-11-05T16:33:54.9Z", AT.replace(microsecond=900000)),
        ("Tue, 05 Nov 2019 16:33:54 +0000", AT.replace(microsecond=0)),
        ("Fri, 1 Aug 2014 16:45:32 -04:00", datetime(2014, 8, 1, 20, 45, 32, tzinfo=UTC)),
        ("0001-01-01T00:00:00+01:00", None),
        ("not a date", None),
        ("", None),
        (None, None),
        (1573000000, None),
    ],
)
def test_parse_timestamp(value, expected):
    parsed = parse_timestamp(value)
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() == timedelta(0)
        assert parsed.tzinfo in (UTC, UTC)


@pytest.mark.parametrize(
    ("value", "offset"),
    [
        ("Fri, 1 Aug 2014 16:45:32 -04:00", timedelta(hours=-4)),
        ("Wed, 11 Oct 2017 18:31:04 -0700 (PDT)", timedelta(hours=-7)),
        ("2019-11-05T11:33:54.9070259-05:00", timedelta(hours=-5)),
        ("Tue, 05 Nov 2019 16:33:54 +0000", timedelta(0)),
        ("2019-11-05T16:33:54", timedelta(0)),  # no offset: taken as UTC
    ],
)
def test_parse_dated_keeps_the_offset(value, offset):
    # The same instant as parse_timestamp's, on the clock it was written in (a mail's Date).
    parsed = parse_dated(value)
    assert parsed is not None and parsed.utcoffset() == offset
    assert parsed == parse_timestamp(value)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+01:00", "not a date", "", None, 1573000000])
def test_parse_dated_refuses_what_parse_timestamp_refuses(value):
    assert parse_dated(value) is None is parse_timestamp(value)


# -- classification and bodies ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        (load("bounce"), PayloadKind.TRACKING),
        (load("delivery"), PayloadKind.TRACKING),
        ({"RecordType": "Whatever"}, PayloadKind.TRACKING),
        (load("inbound"), PayloadKind.INBOUND),
        (load("inbound_raw"), PayloadKind.INBOUND),
        (load("inbound_test_button"), PayloadKind.INBOUND),
        ({"RecordType": "Inbound"}, PayloadKind.INBOUND),
        ({"From": "a@example.com", "TextBody": "hi"}, PayloadKind.INBOUND),
        ({}, None),
        ({"hello": "world"}, None),
        ({"RecordType": None}, None),
        ({"RecordType": ""}, None),
        ({"RecordType": 3}, None),
        ({"RecordType": ["Bounce"]}, None),
    ],
)
def test_payload_kind(payload, kind):
    assert payload_kind(payload) is kind


def test_normalize_refuses_foreign_objects():
    with pytest.raises(InvalidWebhookPayload):
        normalize({"hello": "world"})


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "Empty body"),
        (b"   ", "Empty body"),
        (b"{", "Malformed JSON"),
        (b"[1, 2]", "got a JSON array"),
        (b'"text"', "got a JSON string"),
        (b"null", "got a JSON null"),
        (b"true", "got a JSON boolean"),
        (b"42", "got a JSON number"),
        (b'{"a": NaN}', "Malformed JSON"),
        (b'{"a": Infinity}', "Malformed JSON"),
        (b'{"a": 1e999}', "Malformed JSON"),
        (b'{"a": ' + b"9" * 5000 + b"}", "Malformed JSON"),
        (b"\xff\xfe{", "Malformed JSON"),
        (b'{"a": "\xc3"}', "Malformed JSON"),
        (b"[" * 100000 + b"]" * 100000, "Malformed JSON"),
        (b"RecordType=Bounce&ID=1", "Malformed JSON"),
    ],
)
def test_parse_body_refuses(body, reason):
    with pytest.raises(InvalidWebhookPayload) as caught:
        parse_body(body)
    assert reason in caught.value.reason


def test_parse_body_cleans_unstorable_characters():
    payload = parse_body(
        b'{"RecordType": "Delivery", "Recipient": "a\\u0000b\\ud800", "k\\u0000": ["\\udfff"]}'
    )
    assert payload == {"RecordType": "Delivery", "Recipient": "a\ufffdb\ufffd", "k\ufffd": ["\ufffd"]}
    payload["Recipient"].encode("utf-8")


def test_dedupe_keys():
    bounce = load("bounce")
    assert dedupe_key(bounce, "Bounce") == "Bounce:4323372036854775807"
    assert dedupe_key(load("spam_complaint"), "SpamComplaint") == "SpamComplaint:42"
    # The same content in another key order is the same event; any other change is another event.
    delivery = load("delivery")
    reordered = dict(reversed(list(delivery.items())))
    assert dedupe_key(delivery, "Delivery") == dedupe_key(reordered, "Delivery")
    assert dedupe_key(delivery, "Delivery") != dedupe_key(
        load("delivery", DeliveredAt="2019-11-05T16:33:55Z"), "Delivery"
    )
    # Bounce IDs outside int64 or of the wrong type fall back to the content hash.
    assert dedupe_key(load("bounce", ID=2**63), "Bounce").startswith("sha256:")
    assert dedupe_key(load("bounce", ID=True), "Bounce").startswith("sha256:")
    assert dedupe_key(load("bounce", ID="77"), "Bounce") == "Bounce:77"
