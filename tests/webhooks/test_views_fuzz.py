"""Hostile and random bodies: never a 500, never a row from an invalid body."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from postmark_admin.models import WebhookEvent
from postmark_admin.webhooks.events import PayloadKind, RecordType, payload_kind

from .conftest import INBOUND_URL, TRACKING_URL, post
from .payloads import load

URLS = {PayloadKind.TRACKING: TRACKING_URL, PayloadKind.INBOUND: INBOUND_URL}

pytestmark = pytest.mark.django_db

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)
field_names = st.sampled_from(
    sorted(
        {
            key
            for name in ("bounce", "delivery", "open", "click", "subscription_change", "inbound_raw")
            for key in load(name)
        }
    )
)
record_types = st.sampled_from([*(record_type.value for record_type in RecordType), "", "Other", None, 1])
# Postmark-shaped objects with hostile values, mutated real payloads, and anything at all.
postmark_like = st.builds(
    lambda rt, fields: ({"RecordType": rt} if rt is not None else {}) | fields,
    record_types,
    st.dictionaries(field_names, json_values, max_size=12),
)
mutated = st.builds(
    lambda name, changes: load(name, **changes),
    st.sampled_from(
        ["bounce", "spam_complaint", "delivery", "open", "click", "subscription_change", "inbound"]
    ),
    st.dictionaries(field_names, json_values, max_size=5),
)
bodies = (
    st.binary(max_size=300)
    | st.text(max_size=300).map(str.encode)
    | json_values.map(lambda v: json.dumps(v).encode())
    | postmark_like.map(lambda v: json.dumps(v).encode())
    | mutated.map(lambda v: json.dumps(v).encode())
    # Escapes that decode to NUL and lone surrogates.
    | postmark_like.map(lambda v: json.dumps(v).replace("a", "\\u0000").replace("e", "\\ud800").encode())
)


def _expected_kind(body: bytes):
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        return None
    return payload_kind(value) if isinstance(value, dict) else None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies, url_kind=st.sampled_from(list(PayloadKind)))
def test_random_bodies(client, creds, body, url_kind):
    before = WebhookEvent.objects.count()
    response = post(client, URLS[url_kind], body, creds)
    after = WebhookEvent.objects.count()
    assert response.status_code in (200, 400), response.content
    if response.status_code == 400:
        assert after == before
    else:
        assert after - before in (0, 1)  # 0: a repeat of an event hypothesis already sent
    kind = _expected_kind(body)
    if kind is not None and b"NaN" not in body and b"Infinity" not in body:
        assert (response.status_code == 200) == (kind is url_kind)


@pytest.mark.parametrize(
    "body",
    [
        b"\x00" * 100,
        b"{" * 50000,
        b'{"RecordType": "Delivery", "Metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"RecordType": "Bounce", "ID": 99999999999999999999999}',
        b'{"RecordType": "Bounce", "ID": -1, "Type": {"$gt": ""}}',
        b'{"RecordType": "Delivery", "Recipient": "' + b"x" * 100000 + b'"}',
        b'{"RecordType": "Open", "ReceivedAt": "9999-12-31T23:59:59.9999999-14:00"}',
        b'{"RecordType": "Click", "Tag": "' + "\u00e9".encode() * 1500 + b'"}',
        b'{"RecordType": "Delivery", "Metadata": {"\\u0000": "\\udfff"}}',
        b'{"RecordType": "Delivery"}\n{"RecordType": "Delivery"}',
        b'\xef\xbb\xbf{"RecordType": "Delivery"}',
        b'{"RecordType": "Delivery", "x": 1.5e308, "y": -0.0}',
    ],
)
def test_hostile_bodies(client, creds, body):
    response = post(client, TRACKING_URL, body, creds)
    assert response.status_code in (200, 400)
    assert WebhookEvent.objects.count() == (1 if response.status_code == 200 else 0)
