"""The recipient state machine (desk/status.py), table-tested: every status times every event type."""

from __future__ import annotations

import itertools

import pytest

from postmark_admin.desk.status import ORDER, RANK, TARGET, RecipientState, advance, fold, statuses_below
from postmark_admin.webhooks.events import EventType

S = RecipientState
E = EventType

#: What each event type moves a recipient to; None: nothing (the event says nothing final about it).
EXPECTED_TARGET = {
    E.QUEUED: S.QUEUED,
    E.SENT: S.SENT,
    E.DELIVERED: S.DELIVERED,
    E.OPENED: S.OPENED,
    E.CLICKED: S.CLICKED,
    E.UNSUBSCRIBED: S.UNSUBSCRIBED,
    E.BOUNCED: S.BOUNCED,
    E.REJECTED: S.BOUNCED,
    E.FAILED: S.BOUNCED,
    E.COMPLAINED: S.COMPLAINED,
    E.DEFERRED: None,  # a transient bounce: Postmark retries, a delivery may follow
    E.AUTORESPONDED: None,
    E.SUBSCRIBED: None,
    E.INBOUND: None,
    E.INBOUND_FAILED: None,
    E.UNKNOWN: None,
}

#: The forward order, written out (docs/desk.rst has the same table).
EXPECTED_ORDER = [
    S.QUEUED,
    S.SENT,
    S.DELIVERED,
    S.OPENED,
    S.CLICKED,
    S.UNSUBSCRIBED,
    S.BOUNCED,
    S.COMPLAINED,
    S.REFUSED,
]


def test_every_event_type_and_status_is_in_the_tables():
    assert set(EXPECTED_TARGET) == set(EventType)
    assert list(ORDER) == EXPECTED_ORDER
    assert set(ORDER) == set(RecipientState)


@pytest.mark.parametrize(("current", "event_type"), list(itertools.product(RecipientState, EventType)))
def test_advance(current, event_type):
    target = EXPECTED_TARGET[event_type]
    expected = (
        target
        if target is not None and EXPECTED_ORDER.index(target) > EXPECTED_ORDER.index(current)
        else current
    )
    assert advance(current, event_type) == expected
    # The SQL of the webhook path applies the same rule: it matches exactly the statuses advance() moves.
    if target is not None:
        assert (current in statuses_below(target)) == (expected != current)


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([E.DELIVERED, E.OPENED, E.OPENED, E.CLICKED], S.CLICKED),
        ([E.BOUNCED, E.OPENED], S.BOUNCED),  # a later open does not hide a bounce
        ([E.BOUNCED, E.DELIVERED], S.BOUNCED),  # a delivery does not undo a bounce
        ([E.DELIVERED, E.BOUNCED], S.BOUNCED),
        ([E.DEFERRED, E.DELIVERED], S.DELIVERED),  # a transient bounce then a delivery: delivered
        ([E.DEFERRED], S.SENT),
        ([E.DELIVERED, E.COMPLAINED, E.OPENED], S.COMPLAINED),
        ([E.OPENED, E.DELIVERED], S.OPENED),  # an open that outran its delivery event
        ([E.CLICKED, E.UNSUBSCRIBED, E.SUBSCRIBED], S.UNSUBSCRIBED),
    ],
)
def test_a_status_only_moves_forward(events, expected):
    assert fold(S.SENT, events) == expected
    assert fold(S.SENT, reversed(events)) == expected  # the order of arrival does not matter


def test_a_refusal_is_final_and_an_unknown_status_ranks_lowest():
    assert all(advance(S.REFUSED, event_type) == S.REFUSED for event_type in EventType)
    assert advance("hand-written", E.DELIVERED) == S.DELIVERED
    assert RANK[S.QUEUED] == 0
    assert set(TARGET) == {str(event) for event, target in EXPECTED_TARGET.items() if target}
