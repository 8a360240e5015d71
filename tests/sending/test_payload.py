"""payload.build_payload(): every message attribute, JSON compared exactly."""

from __future__ import annotations

import base64
import json
from email.mime.image import MIMEImage

import django
import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives

from postmark_admin.exceptions import PostmarkError, PostmarkInvalidMessage, PostmarkUnsupportedFeature
from postmark_admin.message import PostmarkMessage, TrackLinks, attach_inline_image
from postmark_admin.sending.payload import ENDPOINT_EMAIL, ENDPOINT_TEMPLATE, build_payload

FROM = "from@example.com"
BASE = {
    "From": FROM,
    "To": "to@example.com",
    "Subject": "Hi",
    "TextBody": "Body",
}


def make(**attributes):
    message = EmailMultiAlternatives("Hi", "Body", FROM, ["to@example.com"])
    for name, value in attributes.items():
        setattr(message, name, value)
    return message


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# (id, message factory, expected JSON of the single item)
CASES = [
    ("plain", lambda: make(), BASE),
    (
        "html alternative",
        lambda: _with(make(), lambda m: m.attach_alternative("<p>Body</p>", "text/html")),
        {**BASE, "HtmlBody": "<p>Body</p>"},
    ),
    (
        "html-only body",
        lambda: _with(EmailMessage("Hi", "<b>x</b>", FROM, ["to@example.com"]), _html),
        {**{k: v for k, v in BASE.items() if k != "TextBody"}, "HtmlBody": "<b>x</b>"},
    ),
    (
        "cc bcc reply_to",
        lambda: EmailMessage(
            "Hi",
            "Body",
            FROM,
            ["to@example.com"],
            cc=["c@example.com"],
            bcc=["b@example.com"],
            reply_to=["r@x.org"],
        ),
        {**BASE, "Cc": "c@example.com", "Bcc": "b@example.com", "ReplyTo": "r@x.org"},
    ),
    (
        "display names quoted",
        lambda: EmailMessage(
            "Hi",
            "Body",
            '"Doe, Jane" <from@example.com>',
            [
                '"Smith, J." <to@example.com>',
                "Plain Name <p@example.com>",
                '"Quote \\"Q\\" Name" <q@example.com>',
            ],
        ),
        {
            **BASE,
            "From": '"Doe, Jane" <from@example.com>',
            "To": '"Smith, J." <to@example.com>, Plain Name <p@example.com>, "Quote \\"Q\\" Name" <q@example.com>',
        },
    ),
    (
        "IDNA domain and unicode name",
        lambda: EmailMessage("Hi", "Body", "Zoë <from@example.com>", ["to@bücher.example"]),
        {**BASE, "From": "Zoë <from@example.com>", "To": "to@xn--bcher-kva.example"},
    ),
    (
        "several From addresses",
        lambda: EmailMessage("Hi", "Body", "a@example.com, B <b@example.com>", ["to@example.com"]),
        {**BASE, "From": "a@example.com, B <b@example.com>"},
    ),
    (
        "headers, Reply-To header moves to ReplyTo, From header wins",
        lambda: EmailMessage(
            "Hi",
            "Body",
            FROM,
            ["to@example.com"],
            headers={
                "X-Thing": "1",
                "Reply-To": "Help <help@example.com>",
                "From": "Shown <shown@example.com>",
            },
        ),
        {
            **BASE,
            "From": "Shown <shown@example.com>",
            "ReplyTo": "Help <help@example.com>",
            "Headers": [{"Name": "X-Thing", "Value": "1"}],
        },
    ),
    (
        "To header equal to recipients is dropped",
        lambda: EmailMessage(
            "Hi", "Body", FROM, ["to@example.com"], headers={"To": "Someone <TO@example.com>"}
        ),
        BASE,
    ),
    (
        "attachments with content types",
        lambda: _with(
            make(),
            lambda m: (
                m.attach("a.txt", "héllo", "text/plain"),
                m.attach("b.pdf", b"%PDF", None),
                m.attach("c.bin", b"\x00\x01", "application/x-thing"),
            ),
        ),
        {
            **BASE,
            "Attachments": [
                {"Name": "a.txt", "Content": b64("héllo".encode()), "ContentType": "text/plain"},
                {"Name": "b.pdf", "Content": b64(b"%PDF"), "ContentType": "application/pdf"},
                {"Name": "c.bin", "Content": b64(b"\x00\x01"), "ContentType": "application/x-thing"},
            ],
        },
    ),
    ("tag", lambda: make(tags=["welcome"]), {**BASE, "Tag": "welcome"}),
    ("metadata", lambda: make(metadata={"user": "42"}), {**BASE, "Metadata": {"user": "42"}}),
    ("track_opens false", lambda: make(track_opens=False), {**BASE, "TrackOpens": False}),
    ("track_clicks true", lambda: make(track_clicks=True), {**BASE, "TrackLinks": "HtmlAndText"}),
    ("track_clicks false", lambda: make(track_clicks=False), {**BASE, "TrackLinks": "None"}),
    (
        "track_clicks enum",
        lambda: make(track_clicks=TrackLinks.HTML_ONLY),
        {**BASE, "TrackLinks": "HtmlOnly"},
    ),
    ("track_clicks string", lambda: make(track_clicks="TextOnly"), {**BASE, "TrackLinks": "TextOnly"}),
    ("message stream", lambda: make(message_stream="broadcast"), {**BASE, "MessageStream": "broadcast"}),
    (
        "template id, empty subject and body dropped",
        lambda: _with(
            EmailMessage(from_email=FROM, to=["to@example.com"]), lambda m: setattr(m, "template_id", 1234)
        ),
        {
            "From": FROM,
            "To": "to@example.com",
            "TemplateId": 1234,
            "TemplateModel": {},
        },
    ),
    (
        "template alias with model and inline css",
        lambda: PostmarkMessage(
            from_email=FROM,
            to=["to@example.com"],
            template_id="welcome",
            merge_global_data={"name": "Ann"},
            inline_css=False,
        ),
        {
            "From": FROM,
            "To": "to@example.com",
            "TemplateAlias": "welcome",
            "TemplateModel": {"name": "Ann"},
            "InlineCss": False,
        },
    ),
    (
        "template id given as digits",
        lambda: PostmarkMessage(from_email=FROM, to=["to@example.com"], template_id="77"),
        {
            "From": FROM,
            "To": "to@example.com",
            "TemplateId": 77,
            "TemplateModel": {},
        },
    ),
    (
        "esp_extra merged last",
        lambda: make(esp_extra={"MessageStream": "other", "Tag": "t"}, tags=["x"]),
        {**BASE, "MessageStream": "other", "Tag": "t"},
    ),
    ("empty cc/bcc lists omitted", lambda: EmailMessage("Hi", "Body", FROM, ["to@example.com"], cc=[]), BASE),
]


def _html(message):
    message.content_subtype = "html"


def _with(message, change):
    change(message)
    return message


@pytest.mark.parametrize(
    ("factory", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_mapping(factory, expected):
    prepared = build_payload(factory())
    assert len(prepared.items) == 1
    item = prepared.items[0]
    assert item.data == expected
    assert json.loads(item.body) == expected
    assert prepared.endpoint == (ENDPOINT_TEMPLATE if "TemplateModel" in expected else ENDPOINT_EMAIL)


def test_configured_stream_and_from_are_defaults():
    assert build_payload(make(), message_stream="tx").items[0].data["MessageStream"] == "tx"
    assert (
        build_payload(make(message_stream="mine"), message_stream="tx").items[0].data["MessageStream"]
        == "mine"
    )
    assert build_payload(make(), from_email="Admin <admin@example.com>").items[0].data["From"] == (
        "Admin <admin@example.com>"
    )


def test_esp_extra_server_token_is_taken_out_of_the_json():
    prepared = build_payload(make(esp_extra={"server_token": "other-token"}))
    assert "server_token" not in prepared.items[0].data
    assert prepared.server_token.reveal() == "other-token"
    assert "other-token" not in repr(prepared)


def test_anymail_unset_marker_counts_as_not_given():
    AnymailMessage = pytest.importorskip("anymail.message").AnymailMessage

    message = AnymailMessage("Hi", "Body", FROM, ["to@example.com"], tags=["a"])
    assert build_payload(message).items[0].data == {**BASE, "Tag": "a"}


def test_inline_image_gets_content_id():
    message = make()
    message.attach_alternative('<img src="cid:x">', "text/html")
    cid = attach_inline_image(message, b"\x89PNG\r\n\x1a\nfake", filename="logo.png")
    attachment = build_payload(message).items[0].data["Attachments"][0]
    assert attachment == {
        "Name": "logo.png",
        "Content": b64(b"\x89PNG\r\n\x1a\nfake"),
        "ContentType": "image/png",
        "ContentID": f"cid:{cid}",
    }


@pytest.mark.skipif(django.VERSION >= (6, 0), reason="MIMEBase attachments are deprecated on Django 6")
def test_mimebase_inline_image_without_filename():
    message = make()
    image = MIMEImage(b"GIF89a-fake", "gif")
    image.add_header("Content-ID", "<logo@site>")
    message.attach(image)
    assert build_payload(message).items[0].data["Attachments"] == [
        {
            "Name": "logo@site",
            "Content": b64(b"GIF89a-fake"),
            "ContentType": "image/gif",
            "ContentID": "cid:logo@site",
        }
    ]


def test_attached_email_message_is_rfc822():
    inner = EmailMessage("Inner", "x", FROM, ["a@example.com"])
    message = make()
    message.attach("fwd.eml", inner, "message/rfc822")
    attachment = build_payload(message).items[0].data["Attachments"][0]
    assert attachment["ContentType"] == "message/rfc822"
    assert b"Subject: Inner" in base64.b64decode(attachment["Content"])


def test_merge_data_makes_one_message_per_to_recipient():
    message = PostmarkMessage(
        from_email=FROM,
        to=["A <a@example.com>", "b@example.com"],
        cc=["c@example.com"],
        template_id="welcome",
        merge_global_data={"site": "S", "name": "?"},
        merge_data={"a@example.com": {"name": "Ann"}},
        merge_metadata={"b@example.com": {"k": "v"}},
        merge_headers={"a@example.com": {"List-Unsubscribe": "<mailto:u@x>"}},
        metadata={"all": "1"},
    )
    prepared = build_payload(message)
    assert prepared.endpoint == ENDPOINT_TEMPLATE
    assert [item.data for item in prepared.items] == [
        {
            "From": FROM,
            "To": "A <a@example.com>",
            "Cc": "c@example.com",
            "Metadata": {"all": "1"},
            "TemplateAlias": "welcome",
            "TemplateModel": {"site": "S", "name": "Ann"},
            "Headers": [{"Name": "List-Unsubscribe", "Value": "<mailto:u@x>"}],
        },
        {
            "From": FROM,
            "To": "b@example.com",
            "Cc": "c@example.com",
            "Metadata": {"all": "1", "k": "v"},
            "TemplateAlias": "welcome",
            "TemplateModel": {"site": "S", "name": "?"},
        },
    ]
    assert [(item.to, item.cc_bcc) for item in prepared.items] == [
        (("a@example.com",), ("c@example.com",)),
        (("b@example.com",), ("c@example.com",)),
    ]


def test_merge_metadata_without_template_splits_through_plain_batch():
    prepared = build_payload(
        make(to=["a@example.com", "b@example.com"], merge_metadata={"a@example.com": {"k": "v"}})
    )
    assert prepared.endpoint == ENDPOINT_EMAIL
    assert [item.data.get("Metadata") for item in prepared.items] == [{"k": "v"}, None]


UNSUPPORTED = [
    ("send_at", {"send_at": 1700000000}, "send_at"),
    ("envelope_sender", {"envelope_sender": "bounce@example.com"}, "envelope_sender"),
    ("tags", {"tags": ["a", "b"]}, "multiple tags"),
    ("merge_data", {"merge_data": {"to@example.com": {"a": 1}}}, "merge_data without template_id"),
    ("merge_global_data", {"merge_global_data": {"a": 1}}, "merge_global_data without template_id"),
    ("inline_css", {"inline_css": True}, "inline_css without template_id"),
]


@pytest.mark.parametrize(
    ("attributes", "feature"), [c[1:] for c in UNSUPPORTED], ids=[c[0] for c in UNSUPPORTED]
)
def test_unsupported_feature_raises_or_is_dropped(attributes, feature):
    with pytest.raises(PostmarkUnsupportedFeature) as caught:
        build_payload(make(**attributes))
    assert feature in caught.value.feature
    assert isinstance(caught.value, PostmarkError)
    prepared = build_payload(make(**attributes), ignore_unsupported_features=True)
    assert len(prepared.items) == 1
    assert feature in prepared.ignored_features[0]
    data = prepared.items[0].data
    assert not {"TemplateModel", "InlineCss"} & set(data)
    assert data.get("Tag") in (None, "a")


def test_several_html_parts_and_non_text_alternative():
    message = make()
    message.attach_alternative("<p>1</p>", "text/html")
    message.attach_alternative("<p>2</p>", "text/html")
    with pytest.raises(PostmarkUnsupportedFeature, match="several HTML parts"):
        build_payload(message)
    assert build_payload(message, ignore_unsupported_features=True).items[0].data["HtmlBody"] == "<p>1</p>"
    message = make()
    message.attach_alternative(b"{}", "application/json")
    with pytest.raises(PostmarkUnsupportedFeature, match="application/json"):
        build_payload(message)


def test_to_header_that_differs_is_unsupported():
    message = EmailMessage("Hi", "Body", FROM, ["to@example.com"], headers={"To": "list@example.com"})
    with pytest.raises(PostmarkUnsupportedFeature, match="To header"):
        build_payload(message)


INVALID = [
    ("no recipients", lambda: EmailMessage("Hi", "Body", FROM, []), "no recipients"),
    (
        "51 recipients",
        lambda: EmailMessage("Hi", "Body", FROM, [f"r{i}@example.com" for i in range(51)]),
        "51",
    ),
    ("metadata key too long", lambda: make(metadata={"k" * 21: "v"}), "longer than 20"),
    ("metadata value too long", lambda: make(metadata={"k": "v" * 81}), "longer than 80"),
    ("metadata keys differing in case", lambda: make(metadata={"Key": "1", "key": "2"}), "twice"),
    ("template with own subject", lambda: make(template_id=1), "Subject, TextBody"),
    ("bad address", lambda: EmailMessage("Hi", "Body", FROM, ["not-an-address"]), "Invalid To"),
    ("non-ASCII local part", lambda: EmailMessage("Hi", "Body", FROM, ["zoë@example.com"]), "ASCII"),
    ("bad track_clicks", lambda: make(track_clicks="Sometimes"), "track_clicks"),
    ("Bcc header", lambda: EmailMessage("Hi", "B", FROM, ["a@example.com"], headers={"Bcc": "x@y.z"}), "Bcc"),
    (
        "over 10 MB",
        lambda: _with(
            make(), lambda m: m.attach("big.bin", b"\0" * (8 * 1024 * 1024), "application/octet-stream")
        ),
        "10 MB",
    ),
]


@pytest.mark.parametrize(("factory", "words"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_invalid_messages_fail_before_sending(factory, words):
    message = factory()
    with pytest.raises(PostmarkInvalidMessage, match=words) as caught:
        build_payload(message, ignore_unsupported_features=True)
    assert caught.value.email_message is message


def test_fifty_recipients_across_to_cc_bcc_are_accepted():
    message = EmailMessage(
        "Hi",
        "Body",
        FROM,
        [f"t{i}@example.com" for i in range(20)],
        cc=[f"c{i}@example.com" for i in range(20)],
        bcc=[f"b{i}@example.com" for i in range(10)],
    )
    assert len(build_payload(message).items) == 1
    message.bcc.append("one-more@example.com")
    with pytest.raises(PostmarkInvalidMessage, match="51 recipients"):
        build_payload(message)


class _ClassDefaults(EmailMultiAlternatives):
    track_opens = True


class _PropertyOption(EmailMultiAlternatives):
    @property
    def tags(self):
        return ["from-a-property"]


class _ComputedOptions(EmailMultiAlternatives):
    def __getattr__(self, name):
        if name == "metadata":
            return {"via": "getattr"}
        raise AttributeError(name)


@pytest.mark.parametrize(
    ("cls", "expected"),
    [
        (EmailMultiAlternatives, BASE),
        (_ClassDefaults, {**BASE, "TrackOpens": True}),
        (_PropertyOption, {**BASE, "Tag": "from-a-property"}),
        (_ComputedOptions, {**BASE, "Metadata": {"via": "getattr"}}),
    ],
    ids=["plain", "class-attribute", "property", "__getattr__"],
)
def test_options_from_the_class_are_read_too(cls, expected):
    # A plain message skips the option look-ups; one whose class may supply an option must not.
    message = cls("Hi", "Body", FROM, ["to@example.com"])
    assert build_payload(message).items[0].data == expected
