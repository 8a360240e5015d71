"""postmark_admin.sending.status: Postmark's result -> recipient statuses."""

from __future__ import annotations

import pytest

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
