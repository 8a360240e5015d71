"""Pure parts of sending: Postmark result -> recipient statuses, and batch planning."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage

from postmark_admin.sending.batching import plan_chunks
from postmark_admin.sending.payload import build_payload
from postmark_admin.sending.status import PostmarkStatus, RecipientStatus, parse_result

TO = ("a@example.com", "B@example.com")
CC = ("c@example.com",)
INACTIVE_406 = (
    "You tried to send to recipient(s) that have been marked as inactive.\n"
    "Found inactive addresses: a@example.com, b@example.com.\n"
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint. "
)

CASES = [
    (
        "ok",
        {"To": "a@example.com", "MessageID": "m1", "ErrorCode": 0, "Message": "OK"},
        {"a@example.com": ("sent", "m1"), "B@example.com": ("sent", "m1"), "c@example.com": ("sent", "m1")},
        (True, False),
    ),
    (
        "delayed without ErrorCode",
        {"MessageID": "m2", "Message": "Message accepted, but delivery may be delayed."},
        {
            "a@example.com": ("queued", "m2"),
            "B@example.com": ("queued", "m2"),
            "c@example.com": ("queued", "m2"),
        },
        (True, False),
    ),
    (
        "partial success",
        {
            "MessageID": "m3",
            "ErrorCode": 0,
            "Message": "Message OK, but will not deliver to these inactive addresses: b@example.com. "
            "Inactive recipients are ones that have generated a hard bounce or a spam complaint.",
        },
        {
            "a@example.com": ("sent", "m3"),
            "B@example.com": ("rejected", None),
            "c@example.com": ("sent", "m3"),
        },
        (True, False),
    ),
    (
        "406 every recipient inactive",
        {"ErrorCode": 406, "Message": INACTIVE_406},
        {
            "a@example.com": ("rejected", None),
            "B@example.com": ("rejected", None),
            "c@example.com": ("failed", None),
        },
        (False, True),
    ),
    (
        "300 invalid recipient",
        {"ErrorCode": 300, "Message": "Invalid 'To' address: 'a@example.com'."},
        {
            "a@example.com": ("invalid", None),
            "B@example.com": ("failed", None),
            "c@example.com": ("failed", None),
        },
        (False, True),
    ),
    (
        "300 other field",
        {"ErrorCode": 300, "Message": "Invalid 'From' address: 'x'."},
        {
            "a@example.com": ("failed", None),
            "B@example.com": ("failed", None),
            "c@example.com": ("failed", None),
        },
        (False, False),
    ),
    (
        "unparseable answer",
        "oops",
        {
            "a@example.com": ("unknown", None),
            "B@example.com": ("unknown", None),
            "c@example.com": ("unknown", None),
        },
        (False, False),
    ),
]


@pytest.mark.parametrize(("result", "expected", "flags"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_parse_result(result, expected, flags):
    statuses, accepted, refused = parse_result(result, TO, CC)
    assert {k: (v.status, v.message_id) for k, v in statuses.items()} == expected
    assert (accepted, refused) == flags


def test_status_uses_anymail_names():
    status = PostmarkStatus({"a@x.org": RecipientStatus("sent", "1"), "b@x.org": RecipientStatus("rejected")})
    assert (status.message_id, status.status, status.accepted) == ("1", {"sent", "rejected"}, True)
    split = PostmarkStatus({"a@x.org": RecipientStatus("sent", "1"), "b@x.org": RecipientStatus("sent", "2")})
    assert split.message_id == {"1", "2"}
    assert PostmarkStatus().message_id is None


def prepared(count, token=None, template=False, body="B"):
    result = []
    for i in range(count):
        message = EmailMessage(
            "" if template else "S", "" if template else body, "f@example.com", [f"t{i}@x.org"]
        )
        if template:
            message.template_id = 1
        if token:
            message.esp_extra = {"server_token": token}
        result.append((i, build_payload(message)))
    return result


def test_chunks_of_500_messages():
    chunks = plan_chunks(prepared(1200))
    assert [(len(c.entries), c.path) for c in chunks] == [
        (500, "email/batch"),
        (500, "email/batch"),
        (200, "email/batch"),
    ]
    assert [e.message_index for e in chunks[2].entries] == list(range(1000, 1200))


def test_chunks_by_bytes():
    items = prepared(10, body="x" * 1000)
    size = items[0][1].items[0].size
    chunks = plan_chunks(items, max_bytes=size * 3 + 50)
    assert [len(c.entries) for c in chunks] == [3, 3, 3, 1]
    assert chunks[-1].path == "email"


def test_chunks_by_token_and_endpoint_and_bodies():
    items = (
        prepared(2)
        + [(2 + i, p) for i, p in prepared(2, template=True)]
        + [(4, prepared(1, token="t2")[0][1])]
    )
    chunks = plan_chunks(items)
    assert [(c.path, c.server_token.reveal() if c.server_token else None) for c in chunks] == [
        ("email/batch", None),
        ("email/batchWithTemplates", None),
        ("email", "t2"),
    ]
    assert chunks[0].body().startswith(b"[{") and chunks[0].body().endswith(b"}]")
    assert chunks[1].body().startswith(b'{"Messages":[{')
