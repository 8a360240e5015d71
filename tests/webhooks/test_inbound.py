"""postmark_admin.webhooks.inbound: the parsed view of an inbound mail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from postmark_admin.webhooks.inbound import Address, parse_inbound

from .payloads import load


def test_json_fields():
    message = parse_inbound(load("inbound"))
    assert not message.from_raw_email
    assert message.from_address == Address("support@postmarkapp.com", "Postmarkapp Support", "")
    assert message.to == (
        Address("yourhash+SampleHash@inbound.postmarkapp.com", "Firstname Lastname", "SampleHash"),
    )
    assert [a.email for a in message.cc] == ["firstcc@postmarkapp.com", "secondCc@postmarkapp.com"]
    assert [a.email for a in message.bcc] == ["firstbcc@postmarkapp.com"]
    assert [a.email for a in message.reply_to] == ["replyto@postmarkapp.com"]
    assert message.subject == "Test subject"
    assert message.text == "This is a test text body."
    assert message.html.startswith("<html>")
    assert message.stripped_text_reply == "This is the reply text"
    assert message.header("x-spam-tests") == "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,SPF_PASS"
    assert message.header("missing") is None
    assert message.envelope_sender == "support@postmarkapp.com"
    assert message.envelope_recipient == "yourhash+SampleHash@inbound.postmarkapp.com"
    assert message.spam_score == -0.1
    assert message.spam_detected is False
    assert message.mailbox_hash == "SampleHash"
    assert message.date == datetime(2014, 8, 1, 20, 45, 32, tzinfo=UTC)
    assert message.date.utcoffset() == timedelta(hours=-4)  # the sender's clock, as its Date says
    [attachment] = message.attachments
    assert attachment.name == "test.txt"
    assert attachment.content_type == "text/plain"
    assert attachment.content == b"This is attachment contents, base-64 encoded."
    assert attachment.size == 45
    assert str(message.from_address) == "Postmarkapp Support <support@postmarkapp.com>"


def test_test_button_sends_data_and_nulls():
    message = parse_inbound(load("inbound_test_button"))
    [attachment] = message.attachments
    assert attachment.content == b"\x89PNG\r\n\x1a\n"
    assert attachment.content_id == "myimage.png@01CE7342.75E71F80"
    assert message.cc == message.bcc == message.reply_to == ()
    assert message.html == message.stripped_text_reply == ""
    assert message.headers == ()
    assert message.envelope_recipient == "yourhash+SampleHash@inbound.postmarkapp.com"
    assert message.envelope_sender == "test@postmarkapp.com"
    assert message.spam_score is None and message.spam_detected is None


def test_raw_email_wins_and_json_fills_gaps():
    message = parse_inbound(load("inbound_raw"))
    assert message.from_raw_email
    assert message.from_address == Address("zoe@sender.example", "Zoé Sender")
    assert [a.email for a in message.to] == ["inbox+Hash42@inbound.example.com", "other@example.org"]
    assert [a.email for a in message.cc] == ["cc@example.org"]
    # Bcc is never in the raw mail: it comes from Postmark's JSON.
    assert [a.email for a in message.bcc] == ["hidden@example.org"]
    assert message.subject == "Résumé attached"
    assert message.text.strip() == "Bonjour, voici mon résumé."
    assert message.html.strip() == "<p>Bonjour</p>"
    assert message.header("Message-ID") == "<raw-1@sender.example>"
    assert message.envelope_sender == "bounce+abc@sender.example"
    assert message.envelope_recipient == "inbox+Hash42@inbound.example.com"
    assert message.spam_score == 6.3
    assert message.spam_detected is True
    assert message.mailbox_hash == "Hash42"
    assert message.date == datetime(2019, 11, 5, 15, 33, 54, tzinfo=UTC)
    assert message.date.utcoffset() == timedelta(hours=1)
    [attachment] = message.attachments
    assert (attachment.name, attachment.content_type, attachment.content) == (
        "cv.pdf",
        "application/pdf",
        b"%PDF-1.4\n",
    )


def test_unparseable_raw_email_falls_back_to_json():
    payload = load("inbound", RawEmail="\x00\x01 not a mail at all")
    message = parse_inbound(payload)
    assert message.subject == "Test subject"
    assert message.text == "This is a test text body."


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"FromFull": None, "ToFull": None, "Attachments": None, "Headers": None},
        {"FromFull": "x", "ToFull": "y", "Attachments": "z", "Headers": "w", "RawEmail": 5},
        {"From": "no address here", "Attachments": [{"Content": "!!!not base64!!!"}, None, 3]},
        {"RawEmail": "From: <<<@>>>\r\nTo: ,,,\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n"},
        {"Headers": [{"Name": "X-Spam-Score", "Value": "lots"}, {"Name": None}]},
    ],
)
def test_malformed_payloads_give_empty_values(payload):
    message = parse_inbound(payload)
    assert message.subject == "" or isinstance(message.subject, str)
    assert all(isinstance(a.content, bytes) for a in message.attachments)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
inbound_keys = st.sampled_from(
    [
        "From",
        "FromFull",
        "To",
        "ToFull",
        "Cc",
        "CcFull",
        "BccFull",
        "Headers",
        "Attachments",
        "RawEmail",
        "Date",
        "ReplyTo",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(inbound_keys, json_values | st.text()))
def test_parse_inbound_never_raises(payload):
    parse_inbound(payload)
