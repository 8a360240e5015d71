"""Inbound mail with RawEmail, table-tested with raw MIME: what is read from the raw mail, what from
Postmark's JSON, and what a sender cannot forge."""

from __future__ import annotations

import base64

import pytest

from postmark_admin.webhooks.inbound import InboundAttachment, parse_inbound

from .payloads import load

ENVELOPE = [{"Name": "Return-Path", "Value": "<real-bounce@sender.example>"}]
BIN = bytes([0, 1, 2])
BIN3 = bytes([3])
PNG = b"\x89PNG\r\n\x1a\n\x00\x00"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw_payload(raw: str, headers=ENVELOPE, attachments=None, **changes):
    """The inbound_raw payload with ``raw`` as RawEmail (CRLF line ends), JSON Headers and Attachments."""
    json_attachments = (
        attachments
        if attachments is not None
        else [{"Name": "json-only.txt", "Content": b64(b"from the JSON"), "ContentType": "text/plain"}]
    )
    return load(
        "inbound_raw",
        RawEmail=raw.replace("\n", "\r\n"),
        Headers=headers,
        Attachments=json_attachments,
        **({"TextBody": "", "HtmlBody": ""} | changes),
    )


MIXED = f"""\
Return-Path: <decoy@attacker.example>
From: Ann <ann@sender.example>
To: inbox@inbound.example.com
Subject: mixed
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Hello.
--b1
Content-Type: application/pdf
Content-Disposition: attachment; filename="a.pdf"
Content-Transfer-Encoding: base64

{b64(b"%PDF-1.7")}
--b1
Content-Type: text/plain; charset=utf-8
Content-Disposition: attachment; filename="notes.txt"

notes
--b1--
"""

NESTED = f"""\
From: Ann <ann@sender.example>
To: inbox@inbound.example.com
Subject: nested
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="m"

--m
Content-Type: multipart/related; boundary="r"

--r
Content-Type: multipart/alternative; boundary="a"

--a
Content-Type: text/plain; charset=utf-8

Plain body
--a
Content-Type: text/html; charset=utf-8

<p>HTML body <img src="cid:logo@x"></p>
--a--
--r
Content-Type: image/png
Content-ID: <logo@x>
Content-Disposition: inline
Content-Transfer-Encoding: base64

{b64(PNG)}
--r--
--m
Content-Type: message/rfc822
Content-Disposition: attachment; filename="fwd.eml"

From: other@example.org
Subject: forwarded

inner text
--m--
"""

LATIN1 = """\
From: =?iso-8859-1?q?Ren=E9_Fran=E7ois?= <rene@sender.example>
To: =?utf-8?b?w4lsb2TDuA==?= <inbox@inbound.example.com>
Subject: =?iso-8859-1?q?Caf=E9_cr=E8me?=
MIME-Version: 1.0
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Un caf=E9 cr=E8me, s'il vous pla=EEt.
"""

_JP_SUBJECT = "\u65e5\u672c\u8a9e\u306e\u4ef6\u540d"  # 日本語の件名
_JP_TEXT = "\u3053\u3093\u306b\u3061\u306f\u3001\u4e16\u754c"  # こんにちは、世界
ISO2022JP = f"""\
From: =?ISO-2022-JP?B?{b64(_JP_SUBJECT[:3].encode("iso-2022-jp"))}?= <taro@sender.example>
To: inbox@inbound.example.com
Subject: =?ISO-2022-JP?B?{b64(_JP_SUBJECT.encode("iso-2022-jp"))}?=
MIME-Version: 1.0
Content-Type: multipart/alternative; boundary="j"

--j
Content-Type: text/plain; charset=iso-2022-jp
Content-Transfer-Encoding: 7bit

{_JP_TEXT.encode("iso-2022-jp").decode("ascii")}
--j
Content-Type: text/html; charset=shift_jis
Content-Transfer-Encoding: base64

{b64(("<p>" + _JP_TEXT + "</p>").encode("shift_jis"))}
--j--
"""

ENCODED_FILENAME = f"""\
From: ann@sender.example
To: inbox@inbound.example.com
Subject: =?utf-8?q?Pi=C3=A8ce_jointe?=
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="f"

--f
Content-Type: text/plain; charset=utf-8

See attached.
--f
Content-Type: application/octet-stream
Content-Disposition: attachment; filename*=utf-8''r%C3%A9sum%C3%A9.bin
Content-Transfer-Encoding: base64

{b64(BIN)}
--f
Content-Type: application/octet-stream; name="=?utf-8?b?w6l0w6kuYmlu?="
Content-Transfer-Encoding: base64

{b64(BIN3)}
--f--
"""

NO_ATTACHMENTS = """\
Return-Path: <decoy@attacker.example>
From: ann@sender.example
To: inbox@inbound.example.com
Subject: plain
X-Spam-Status: No, score=-5.0
X-Spam-Score: -5.0

Only text.
"""


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            MIXED,
            {
                "subject": "mixed",
                "text": "Hello.",
                "html": "",
                "attachments": (
                    InboundAttachment("a.pdf", "application/pdf", b"%PDF-1.7"),
                    InboundAttachment("notes.txt", "text/plain", b"notes"),
                ),
            },
            id="multipart-mixed",
        ),
        pytest.param(
            NESTED,
            {
                "subject": "nested",
                "text": "Plain body",
                "html": '<p>HTML body <img src="cid:logo@x"></p>',
                "attachments": (
                    InboundAttachment("", "image/png", PNG, "logo@x"),
                    InboundAttachment(
                        "fwd.eml",
                        "message/rfc822",
                        b"From: other@example.org\r\nSubject: forwarded\r\n\r\ninner text",
                    ),
                ),
            },
            id="nested-alternative-related-inline-image-attached-mail",
        ),
        pytest.param(
            LATIN1,
            {
                "subject": "Caf\u00e9 cr\u00e8me",
                "text": "Un caf\u00e9 cr\u00e8me, s'il vous pla\u00eet.\r\n",
                "attachments": (),
                "from": ("rene@sender.example", "Ren\u00e9 Fran\u00e7ois"),
                "to_name": "\u00c9lod\u00f8",
            },
            id="latin-1-and-rfc2047",
        ),
        pytest.param(
            ISO2022JP,
            {
                "subject": _JP_SUBJECT,
                "text": _JP_TEXT,
                "html": "<p>" + _JP_TEXT + "</p>",
                "attachments": (),
                "from": ("taro@sender.example", _JP_SUBJECT[:3]),
            },
            id="iso-2022-jp-and-shift-jis",
        ),
        pytest.param(
            ENCODED_FILENAME,
            {
                "subject": "Pi\u00e8ce jointe",
                "attachments": (
                    InboundAttachment("r\u00e9sum\u00e9.bin", "application/octet-stream", b"\x00\x01\x02"),
                    InboundAttachment("\u00e9t\u00e9.bin", "application/octet-stream", b"\x03"),
                ),
            },
            id="rfc2231-and-rfc2047-filenames",
        ),
        pytest.param(
            NO_ATTACHMENTS, {"subject": "plain", "text": "Only text.\r\n", "attachments": ()}, id="none"
        ),
    ],
)
def test_raw_mime(raw, expected):
    message = parse_inbound(raw_payload(raw))
    assert message.from_raw_email
    # Postmark's first JSON header, never the raw mail's own Return-Path (a decoy in MIXED and NO_ATTACHMENTS).
    assert message.envelope_sender == "real-bounce@sender.example"
    assert message.subject == expected["subject"]
    assert message.header("Subject") == expected["subject"]  # decoded, as the subject
    if "text" in expected:
        assert message.text == expected["text"]
    if "html" in expected:
        assert message.html == expected["html"]
    # The raw mail's files, at any depth, and never the JSON list's when the raw mail is read.
    assert message.attachments == expected["attachments"]
    if "from" in expected:
        assert message.from_address is not None
        assert (message.from_address.email, message.from_address.name) == expected["from"]
    if "to_name" in expected:
        assert message.to[0].name == expected["to_name"]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (ENVELOPE, "real-bounce@sender.example"),
        # Return-Path not first: the mail's own header, not Postmark's: not the envelope.
        (
            [
                {"Name": "X-Spam-Status", "Value": "No"},
                {"Name": "Return-Path", "Value": "<decoy2@attacker.example>"},
            ],
            "ann@sender.example",
        ),
        ([], "ann@sender.example"),
        ([{"Name": "return-path", "Value": " <Case@Sender.Example> "}], "Case@Sender.Example"),
    ],
)
def test_envelope_sender_is_postmarks_first_header(headers, expected):
    message = parse_inbound(raw_payload(NO_ATTACHMENTS, headers=headers))
    assert message.envelope_sender == expected


def test_spam_verdict_is_postmarks_not_the_raw_mails():
    headers = [*ENVELOPE, {"Name": "X-Spam-Status", "Value": "Yes, score=9.1 required=5.0"}]
    message = parse_inbound(raw_payload(NO_ATTACHMENTS, headers=headers))
    assert (message.spam_score, message.spam_detected) == (9.1, True)
