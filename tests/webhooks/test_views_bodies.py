"""Bodies that are not valid UTF-8 or nest too deeply: a 400 that says so, nothing stored, never a 5xx."""

from __future__ import annotations

import pytest

from postmark_admin.models import WebhookEvent
from postmark_admin.webhooks import body as body_parsing

from .conftest import INBOUND_URL, TRACKING_URL, post

pytestmark = pytest.mark.django_db

MAX_JSON_DEPTH = 32  # the limit as promised; body_parsing.MAX_JSON_DEPTH is checked below

_DELIVERY = b'{"RecordType": "Delivery", "MessageID": "m-1", "Recipient": "a@example.com", "Tag": "%s"}'


@pytest.mark.parametrize(
    "raw",
    [
        b"welcome\xed\xa0\x80",  # a lone high surrogate, encoded (CESU-style) as raw bytes
        b"welcome\xed\xbf\xbf",  # a lone low surrogate
        b"\xed\xa0\xbd\xed\xb8\x80",  # a surrogate pair encoded as two 3-byte sequences
        b"\xc0\x80",  # overlong NUL
        b"\xe0\x80\xaf",  # overlong "/"
        b"\xff\xfe",  # bytes that never occur in UTF-8
        b"caf\xe9",  # Latin-1, not UTF-8
        b"\xe2\x82",  # a truncated sequence
        b"\xf4\x90\x80\x80",  # above U+10FFFF
    ],
)
@pytest.mark.parametrize("url", [TRACKING_URL, INBOUND_URL])
def test_invalid_utf8_is_refused(client, creds, raw, url):
    body = _DELIVERY % raw
    if url == INBOUND_URL:
        body = b'{"RecordType": "Inbound", "MessageID": "i-1", "Subject": "' + raw + b'"}'
    response = post(client, url, body, creds)
    assert response.status_code == 400
    assert "not valid UTF-8" in response.content.decode()
    assert WebhookEvent.objects.count() == 0


def test_escaped_lone_surrogates_are_still_replaced(client, creds):
    response = post(client, TRACKING_URL, _DELIVERY % b"welcome\\ud800", creds)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().payload["Tag"] == "welcome\ufffd"


def test_utf8_bom_is_accepted(client, creds):
    response = post(client, TRACKING_URL, b"\xef\xbb\xbf" + _DELIVERY % b"caf\xc3\xa9", creds)
    assert response.status_code == 200
    assert WebhookEvent.objects.get().payload["Tag"] == "caf\u00e9"


def _nested(depth: int, opener: bytes = b"[", closer: bytes = b"]", leaf: bytes = b"") -> bytes:
    """A Delivery whose body nests ``depth`` levels in all (the top object is level 1)."""
    inner = depth - 1
    return (
        b'{"RecordType": "Delivery", "MessageID": "m-1", "Metadata": '
        + opener * inner
        + leaf
        + closer * inner
        + b"}"
    )


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1001, 5000, 100000])
@pytest.mark.parametrize(("opener", "closer", "leaf"), [(b"[", b"]", b""), (b'{"a": ', b"}", b"1")])
def test_too_deep_is_refused_naming_the_limit(client, creds, depth, opener, closer, leaf):
    response = post(client, TRACKING_URL, _nested(depth, opener, closer, leaf), creds)
    assert response.status_code == 400
    assert f"nested deeper than {MAX_JSON_DEPTH} levels" in response.content.decode()
    assert WebhookEvent.objects.count() == 0


def test_the_limit_is_the_documented_one():
    assert body_parsing.MAX_JSON_DEPTH == MAX_JSON_DEPTH


def test_nesting_up_to_the_limit_is_stored(client, creds):
    response = post(client, TRACKING_URL, _nested(MAX_JSON_DEPTH), creds)
    assert response.status_code == 200
    assert WebhookEvent.objects.count() == 1
