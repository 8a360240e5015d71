"""Send defaults, IGNORE_RECIPIENT_STATUS, merge_data without a template and values JSON cannot hold.

Tables over the pure mapping (payload.with_send_defaults, build_payload), then end to end through the
sandbox: what reaches it, and that a refused value makes no request at all.
"""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.test import override_settings

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config.app_settings import app_settings
from postmark_admin.exceptions import (
    PostmarkAPIError,
    PostmarkRecipientsRefused,
    PostmarkSerializationError,
    PostmarkUnsupportedFeature,
)
from postmark_admin.sending.payload import ENDPOINT_EMAIL, build_payload, with_send_defaults

FROM = "from@example.com"


def make(**attributes):
    message = EmailMultiAlternatives("Hi", "Body", FROM, ["to@example.com"])
    for name, value in attributes.items():
        setattr(message, name, value)
    return message


# -- send defaults: how they combine with the message's own (django-anymail's rules) -----------

COMBINE = [
    ("nothing set", {}, {"tags": ["a"]}, {"tags": ["a"]}),
    ("tags: the defaults' then the message's", {"tags": ["b"]}, {"tags": ["a"]}, {"tags": ["a", "b"]}),
    ("a tag string counts as one tag", {"tags": "b"}, {"tags": "a"}, {"tags": ["a", "b"]}),
    (
        "metadata merged, the message winning",
        {"metadata": {"k": "own", "m": "1"}},
        {"metadata": {"k": "default", "d": "2"}},
        {"metadata": {"k": "own", "d": "2", "m": "1"}},
    ),
    ("track_opens: the message's", {"track_opens": False}, {"track_opens": True}, {"track_opens": False}),
    (
        "track_clicks: the message's",
        {"track_clicks": "HtmlOnly"},
        {"track_clicks": True},
        {"track_clicks": "HtmlOnly"},
    ),
    (
        "message_stream: the message's",
        {"message_stream": "own"},
        {"message_stream": "d"},
        {"message_stream": "own"},
    ),
    (
        "esp_extra merged deeply",
        {"esp_extra": {"Headers": [], "X": {"a": 1}}},
        {"esp_extra": {"X": {"a": 0, "b": 2}, "Y": 3}},
        {"esp_extra": {"Headers": [], "X": {"a": 1, "b": 2}, "Y": 3}},
    ),
]


@pytest.mark.parametrize(
    ("own", "defaults", "expected"), [c[1:] for c in COMBINE], ids=[c[0] for c in COMBINE]
)
def test_send_defaults_combine_like_anymail(own, defaults, expected):
    assert with_send_defaults(own, defaults) == expected


PAYLOADS = [
    ("tag", {"tags": ["welcome"]}, {}, {"Tag": "welcome"}),
    (
        "track opens and links",
        {"track_opens": True, "track_clicks": False},
        {},
        {"TrackOpens": True, "TrackLinks": "None"},
    ),
    ("stream", {"message_stream": "broadcast"}, {}, {"MessageStream": "broadcast"}),
    (
        "the message's stream wins",
        {"message_stream": "broadcast"},
        {"message_stream": "outbound-2"},
        {"MessageStream": "outbound-2"},
    ),
    (
        "metadata",
        {"metadata": {"site": "a"}},
        {"metadata": {"user": "1"}},
        {"Metadata": {"site": "a", "user": "1"}},
    ),
    ("esp_extra", {"esp_extra": {"TrackOpens": False}}, {}, {"TrackOpens": False}),
]


@pytest.mark.parametrize(
    ("defaults", "attributes", "fields"), [c[1:] for c in PAYLOADS], ids=[c[0] for c in PAYLOADS]
)
def test_send_defaults_reach_the_json(defaults, attributes, fields):
    [item] = build_payload(make(**attributes), send_defaults=defaults).items
    assert {name: item.data.get(name) for name in fields} == fields


def test_two_tags_from_defaults_and_message_are_unsupported():
    with pytest.raises(PostmarkUnsupportedFeature, match="multiple tags"):
        build_payload(make(tags=["own"]), send_defaults={"tags": ["default"]})


SETTINGS = [
    ("ours", {"POSTMARK_SEND_DEFAULTS": {"tags": ["a"]}}, {"tags": ["a"]}),
    ("anymail's global", {"ANYMAIL": {"SEND_DEFAULTS": {"tags": ["g"]}}}, {"tags": ["g"]}),
    ("anymail's flat name", {"ANYMAIL_SEND_DEFAULTS": {"track_opens": True}}, {"track_opens": True}),
    (
        "anymail's Postmark ones win key by key over its global ones",
        {
            "ANYMAIL": {
                "SEND_DEFAULTS": {"tags": ["g"], "track_opens": True},
                "POSTMARK_SEND_DEFAULTS": {"tags": ["p"]},
            }
        },
        {"tags": ["p"], "track_opens": True},
    ),
    (
        "ours win over anymail's Postmark ones",
        {"POSTMARK_SEND_DEFAULTS": {"tags": ["o"]}, "ANYMAIL": {"POSTMARK_SEND_DEFAULTS": {"tags": ["p"]}}},
        {"tags": ["o"]},
    ),
    (
        "unknown keys are left out (check E012)",
        {"POSTMARK_SEND_DEFAULTS": {"tag": "x", "tags": ["a"]}},
        {"tags": ["a"]},
    ),
    ("None counts as unset", {"POSTMARK_SEND_DEFAULTS": {"tags": None}}, {}),
]


@pytest.mark.parametrize(("values", "expected"), [c[1:] for c in SETTINGS], ids=[c[0] for c in SETTINGS])
def test_send_defaults_settings(values, expected):
    with override_settings(**values):
        assert expected == app_settings.SEND_DEFAULTS


def test_send_defaults_end_to_end(postmark_sandbox):
    defaults = {"tags": ["newsletter"], "metadata": {"site": "a"}, "track_opens": True}
    with override_settings(POSTMARK_SEND_DEFAULTS=defaults):
        plain = EmailMessage("Hi", "B", FROM, ["a@example.com"])
        own = make(metadata={"user": "7"}, track_opens=False)
        assert PostmarkBackend().send_messages([plain, own]) == 2
    first, second = postmark_sandbox.messages
    assert (first["Tag"], first["Metadata"], first["TrackOpens"]) == ("newsletter", {"site": "a"}, True)
    assert (second["Tag"], second["Metadata"], second["TrackOpens"]) == (
        "newsletter",
        {"site": "a", "user": "7"},
        False,
    )


# -- IGNORE_RECIPIENT_STATUS ----------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        {"POSTMARK_IGNORE_RECIPIENT_STATUS": True},
        {"ANYMAIL": {"IGNORE_RECIPIENT_STATUS": True}},
        {"ANYMAIL_IGNORE_RECIPIENT_STATUS": True},
    ],
    ids=["ours", "ANYMAIL dict", "ANYMAIL_ name"],
)
def test_ignore_recipient_status_settings(name):
    assert app_settings.IGNORE_RECIPIENT_STATUS is False
    with override_settings(**name):
        assert app_settings.IGNORE_RECIPIENT_STATUS is True


def test_ours_wins_over_anymail_s_setting():
    with override_settings(POSTMARK_IGNORE_RECIPIENT_STATUS=False, ANYMAIL_IGNORE_RECIPIENT_STATUS=True):
        assert app_settings.IGNORE_RECIPIENT_STATUS is False


def test_ignore_recipient_status_end_to_end(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    refused = EmailMessage("Hi", "B", FROM, ["gone@example.com"])
    with pytest.raises(PostmarkRecipientsRefused):
        PostmarkBackend().send_messages([refused])
    refused = EmailMessage("Hi", "B", FROM, ["gone@example.com"])
    good = EmailMessage("Hi", "B", FROM, ["ok@example.com"])
    with override_settings(POSTMARK_IGNORE_RECIPIENT_STATUS=True):
        assert PostmarkBackend().send_messages([refused, good]) == 1
    assert refused.postmark_status.recipients["gone@example.com"].status == "rejected"
    assert isinstance(refused.postmark_status.error, PostmarkRecipientsRefused)
    assert good.postmark_status.status == {"sent"}


def test_ignore_recipient_status_still_raises_other_refusals(postmark_sandbox):
    message = EmailMessage("Hi", "B", FROM, ["ok@example.com"])
    message.esp_extra = {"MessageStream": "no-such-stream"}
    with override_settings(POSTMARK_IGNORE_RECIPIENT_STATUS=True), pytest.raises(PostmarkAPIError) as caught:
        PostmarkBackend().send_messages([message])
    assert not isinstance(caught.value, PostmarkRecipientsRefused)
    assert caught.value.error_code == 1235


# -- merge_data without a template ------------------------------------------------------------


def test_empty_merge_data_without_template_is_one_message_per_recipient():
    prepared = build_payload(make(to=["a@example.com", "Bob <bob@example.com>"], merge_data={}))
    assert prepared.endpoint == ENDPOINT_EMAIL
    assert [item.data for item in prepared.items] == [
        {"From": FROM, "To": "a@example.com", "Subject": "Hi", "TextBody": "Body"},
        {"From": FROM, "To": "Bob <bob@example.com>", "Subject": "Hi", "TextBody": "Body"},
    ]


@pytest.mark.parametrize(
    ("attributes", "feature"),
    [
        ({"merge_data": {"a@example.com": {"name": "A"}}}, "merge_data without template_id"),
        ({"merge_global_data": {"name": "A"}}, "merge_global_data without template_id"),
    ],
)
def test_merge_values_without_template_are_unsupported(attributes, feature):
    # Postmark ignores TemplateModel without a template: the values would go nowhere.
    with pytest.raises(PostmarkUnsupportedFeature, match=feature):
        build_payload(make(**attributes))


def test_merge_data_without_template_end_to_end(postmark_sandbox):
    message = make(to=["a@example.com", "b@example.com"], merge_data={})
    assert PostmarkBackend().send_messages([message]) == 1
    assert [request.path for request in postmark_sandbox.requests] == ["/email/batch"]
    assert [stored["To"] for stored in postmark_sandbox.messages] == ["a@example.com", "b@example.com"]
    ids = {message.postmark_status.recipients[a].message_id for a in ("a@example.com", "b@example.com")}
    assert len(ids) == 2


# -- values JSON cannot hold --------------------------------------------------------------------

UNSERIALIZABLE = [
    ("a header", {"extra_headers": {"X-Price": Decimal("12.5")}}, "Headers['X-Price']"),
    ("a tag", {"tags": [Decimal("19.99")]}, "Tag"),
    ("a metadata value", {"metadata": {"total": Decimal("1")}}, "Metadata['total']"),
    ("a date in metadata", {"metadata": {"when": datetime.date(2026, 1, 1)}}, "Metadata['when']"),
    (
        "a merge header",
        {"to": ["a@example.com"], "merge_headers": {"a@example.com": {"X-N": Decimal(2)}}},
        "Headers['X-N']",
    ),
    ("esp_extra", {"esp_extra": {"Custom": {1, 2}}}, "Custom"),
    ("a lone surrogate", {"metadata": {"k": "\udc80"}}, "Metadata['k']"),
]


@pytest.mark.parametrize(
    ("attributes", "field"), [c[1:] for c in UNSERIALIZABLE], ids=[c[0] for c in UNSERIALIZABLE]
)
def test_unserializable_values_are_named(attributes, field):
    with pytest.raises(PostmarkSerializationError) as caught:
        build_payload(make(**attributes))
    assert caught.value.field == field
    assert isinstance(caught.value, TypeError)
    assert field in str(caught.value)
    assert "Don't know how to send this data to Postmark" in str(caught.value)


def test_numbers_and_booleans_stay_json_values():
    [item] = build_payload(make(extra_headers={"X-Num": 123, "X-Flag": True}, tags=[7])).items
    assert item.data["Headers"] == [{"Name": "X-Num", "Value": 123}, {"Name": "X-Flag", "Value": True}]
    assert item.data["Tag"] == 7


def test_unserializable_value_makes_no_request(postmark_sandbox):
    message = make(extra_headers={"X-Price": Decimal("12.5")})
    with pytest.raises(PostmarkSerializationError):
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["ok@example.com"]), message])
    assert postmark_sandbox.requests == []
    assert message.postmark_status.status == {"failed"}
