"""Text attachments keep their charset: the ContentType names it and the bytes are in it."""

from __future__ import annotations

import base64
from email.mime.text import MIMEText

import pytest
from django.core.mail import EmailMessage

from postmark_admin.sending.attachments import attachment_payload
from postmark_admin.sending.payload import build_payload

TEXT = "Café crème à 3 €? Non: 2,50."
LATIN = "Café crème, señor"


def latin1_part() -> MIMEText:
    part = MIMEText(LATIN, "plain", "iso-8859-1")
    part.add_header("Content-Disposition", "attachment", filename="notes.txt")
    return part


@pytest.mark.parametrize(
    ("attachment", "encoding", "content_type", "raw"),
    [
        # A MIME part: its Content-Type as written (charset quoted), its bytes as they are.
        (latin1_part(), "utf-8", 'text/plain; charset="iso-8859-1"', LATIN.encode("latin-1")),
        (MIMEText(TEXT, "plain", "utf-8"), "utf-8", 'text/plain; charset="utf-8"', TEXT.encode()),
        (
            MIMEText("<p>é</p>", "html", "iso-8859-15"),
            "utf-8",
            'text/html; charset="iso-8859-15"',
            b"<p>\xe9</p>",
        ),
        # (name, str, mimetype with a charset): encoded in that charset, the type as the user wrote it.
        (
            ("a.txt", LATIN, "text/plain; charset=iso-8859-1"),
            "utf-8",
            "text/plain; charset=iso-8859-1",
            LATIN.encode("latin-1"),
        ),
        (
            ("a.txt", LATIN, "text/plain; charset=ISO-8859-1"),
            "utf-8",
            "text/plain; charset=ISO-8859-1",
            LATIN.encode("latin-1"),
        ),
        (
            ("a.csv", "naïve;1", 'text/csv; charset="windows-1252"'),
            "utf-8",
            'text/csv; charset="windows-1252"',
            "naïve;1".encode("cp1252"),
        ),
        (("a.txt", TEXT, "text/plain; charset=utf-8"), "utf-8", "text/plain; charset=utf-8", TEXT.encode()),
        # A charset that cannot hold the text (€ is not Latin-1), or unknown: UTF-8, named.
        (
            ("a.txt", TEXT, "text/plain; charset=iso-8859-1"),
            "utf-8",
            "text/plain; charset=utf-8",
            TEXT.encode(),
        ),
        (
            ("a.txt", TEXT, "text/plain; charset=x-nonsense"),
            "utf-8",
            "text/plain; charset=utf-8",
            TEXT.encode(),
        ),
        # (name, str, mimetype without a charset): the message's encoding, named unless UTF-8.
        (
            ("a.txt", LATIN, "text/plain"),
            "iso-8859-1",
            "text/plain; charset=iso-8859-1",
            LATIN.encode("latin-1"),
        ),
        (("a.txt", TEXT, "text/plain"), "utf-8", "text/plain", TEXT.encode()),
        (("a.txt", TEXT, None), "utf-8", "text/plain", TEXT.encode()),
        # (name, bytes, mimetype): the bytes as they are, the given type as it is.
        (
            ("a.txt", LATIN.encode("latin-1"), "text/plain; charset=iso-8859-1"),
            "utf-8",
            "text/plain; charset=iso-8859-1",
            LATIN.encode("latin-1"),
        ),
        (
            ("a.bin", b"\x00\xff", "application/octet-stream"),
            "iso-8859-1",
            "application/octet-stream",
            b"\x00\xff",
        ),
    ],
)
def test_text_attachments_keep_their_charset(attachment, encoding, content_type, raw):
    payload = attachment_payload(attachment, encoding)
    assert payload["ContentType"] == content_type
    assert base64.b64decode(payload["Content"]) == raw


def test_a_latin1_mimetext_attached_to_a_message():
    message = EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])
    message.attach(latin1_part())
    [attachment] = build_payload(message, message_stream="outbound").items[0].data["Attachments"]
    assert attachment["Name"] == "notes.txt"
    assert attachment["ContentType"] == 'text/plain; charset="iso-8859-1"'
    assert base64.b64decode(attachment["Content"]).decode("iso-8859-1") == LATIN


def test_a_message_in_latin1_names_the_charset_of_its_text_attachments():
    message = EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])
    message.encoding = "iso-8859-1"
    message.attach("notes.txt", LATIN, "text/plain")
    [attachment] = build_payload(message, message_stream="outbound").items[0].data["Attachments"]
    assert attachment["ContentType"] == "text/plain; charset=iso-8859-1"
    assert base64.b64decode(attachment["Content"]).decode("iso-8859-1") == LATIN


def _part(content_type: str) -> MIMEText:
    part = MIMEText(LATIN, "plain", "iso-8859-1")
    part.replace_header("Content-Type", content_type)
    return part


@pytest.mark.parametrize(
    ("header", "content_type"),
    [
        # Other parameters stay; a folded header is unfolded onto one line.
        (
            'text/plain; charset="iso-8859-1"; format=flowed',
            'text/plain; charset="iso-8859-1"; format=flowed',
        ),
        ('text/plain;\n charset="iso-8859-1"', 'text/plain; charset="iso-8859-1"'),
        # A header Python cannot read as a type: its reading, with the charset named.
        ("nonsense; charset=iso-8859-1", "text/plain; charset=iso-8859-1"),
    ],
)
def test_a_mime_part_s_content_type_is_kept_unless_unreadable(header, content_type):
    assert attachment_payload(_part(header), "utf-8")["ContentType"] == content_type
