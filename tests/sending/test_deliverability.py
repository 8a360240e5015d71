"""The desk's calls to Postmark (suppressions, reactivation, message details, search, statistics) over
real HTTP against the sandbox: typed values, refusals as PostmarkError subclasses naming Postmark's
ErrorCode and Message, one request each, and the token never in a log or an error."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkAPIError, PostmarkError, PostmarkSuppressionRefused
from postmark_admin.sandbox.records import eastern_now
from postmark_admin.sending import deliverability
from postmark_admin.sending.deliverability import SearchFilters

FROM = "shop@example.com"


def send(*to, stream=None, tag=None, html=None, metadata=None):
    message = EmailMessage("Your order", "Hello, see https://shop.example.com/o/1", FROM, list(to))
    if stream:
        message.message_stream = stream
    if tag:
        message.tags = [tag]
    if metadata:
        message.metadata = metadata
    if html:
        message.content_subtype = "html"
        message.body = html
        message.track_opens = True
        message.track_clicks = True
    assert PostmarkBackend().send_messages([message]) == 1


def sent_ids(sandbox):
    return [message["MessageID"] for message in sandbox.messages]


# -- suppressions and reactivation ----------------------------------------------------------------


def test_suppressions_of_an_address_on_a_stream(postmark_sandbox):
    send("hardbounce@example.com")
    send("spamcomplaint@example.com")
    postmark_sandbox.clear()
    [suppression] = deliverability.suppressions("HardBounce@example.com", "outbound")
    assert suppression == deliverability.Suppression(
        email_address="hardbounce@example.com",
        reason="HardBounce",
        origin="Recipient",
        created_at=suppression.created_at,
        stream="outbound",
    )
    assert suppression.created_at is not None and suppression.created_at.tzinfo is not None
    assert suppression.can_reactivate
    assert deliverability.suppressions("hardbounce@example.com", "broadcast") == []
    assert {s.email_address for s in deliverability.suppressions()} == {
        "hardbounce@example.com",
        "spamcomplaint@example.com",
    }
    [request] = postmark_sandbox.requests[:1]
    assert (request.path, request.query["EmailAddress"]) == (
        "/message-streams/outbound/suppressions/dump",
        "HardBounce@example.com",
    )
    assert len(postmark_sandbox.requests) == 3  # one request per call


def test_reactivate_then_send_again(postmark_sandbox):
    send("hardbounce@example.com")
    result = deliverability.reactivate("hardbounce@example.com", "outbound")
    assert result == deliverability.SuppressionResult("hardbounce@example.com", "Deleted", None)
    assert deliverability.suppressions("hardbounce@example.com") == []
    assert postmark_sandbox.bounces[0]["Inactive"] is False
    send("hardbounce@example.com")  # accepted again (and bounces again: the sandbox's rule)
    assert len(postmark_sandbox.messages) == 2


def test_a_spam_complaint_cannot_be_reactivated(postmark_sandbox, caplog):
    send("spamcomplaint@example.com")
    [suppression] = deliverability.suppressions("spamcomplaint@example.com")
    assert not suppression.can_reactivate
    with caplog.at_level(logging.DEBUG), pytest.raises(PostmarkSuppressionRefused) as refused:
        deliverability.reactivate("spamcomplaint@example.com")
    error = refused.value
    assert isinstance(error, PostmarkError)
    assert (error.address, error.reactivating, error.error_code) == ("spamcomplaint@example.com", True, 1406)
    assert error.message == "You do not have the required authority to change this suppression."
    assert "ErrorCode 1406" in str(error) and "required authority" in str(error)
    assert deliverability.suppressions("spamcomplaint@example.com") == [suppression]
    assert postmark_sandbox.token not in caplog.text and postmark_sandbox.token not in str(error)


def test_suppress_and_its_refusal(postmark_sandbox):
    assert deliverability.suppress("Manual@example.com", "broadcast").status == "Suppressed"
    assert [s.reason for s in deliverability.suppressions(stream="broadcast")] == ["ManualSuppression"]
    with pytest.raises(PostmarkSuppressionRefused) as refused:
        deliverability.suppress("not an address")
    assert (refused.value.error_code, refused.value.reactivating) == (1408, False)


def test_an_unknown_stream_is_postmarks_refusal(postmark_sandbox):
    with pytest.raises(PostmarkAPIError) as refused:
        deliverability.suppressions("a@example.com", "nope")
    assert (refused.value.status_code, refused.value.error_code) == (422, 1226)


@pytest.mark.parametrize("value", ["", ".", ".."])
def test_path_segments_that_could_name_another_path_are_refused(postmark_sandbox, value):
    with pytest.raises(ValueError):
        deliverability.message_details(value)
    with pytest.raises(ValueError):
        deliverability.reactivate("a@example.com", value)
    assert postmark_sandbox.requests == []


def test_odd_characters_are_quoted_into_one_segment(postmark_sandbox):
    with pytest.raises(PostmarkAPIError) as refused:
        deliverability.message_details("../../server")
    assert refused.value.error_code == 701
    assert postmark_sandbox.requests[0].path.startswith("/messages/outbound/")


# -- message details and search ------------------------------------------------------------------------


def test_message_details_with_events(postmark_sandbox):
    send("Ann <ann@example.com>", html='<p><a href="https://shop.example.com/o/1">Order</a></p>', tag="order")
    [message_id] = sent_ids(postmark_sandbox)
    details = deliverability.message_details(message_id)
    assert (details.message.message_id, details.message.tag, details.message.to) == (
        message_id,
        "order",
        ("ann@example.com",),
    )
    assert details.message.status == "Sent" and details.message.received_at is not None
    assert "Order" in details.html_body
    assert [event.type for event in details.events] == ["Delivered", "Opened", "LinkClicked"]
    assert details.events[2].details["Link"] == "https://shop.example.com/o/1"
    assert {event.recipient for event in details.events} == {"ann@example.com"}


def test_unknown_message_is_701(postmark_sandbox):
    with pytest.raises(PostmarkAPIError) as missing:
        deliverability.message_details("00000000-0000-4000-8000-000000000000")
    assert (missing.value.status_code, missing.value.error_code) == (422, 701)


def test_outbound_search(postmark_sandbox):
    send("ann@example.com", tag="a", metadata={"user": "7"})
    send("bob@example.com", tag="b")
    send("ann@example.com", stream="broadcast")
    first, second, third = sent_ids(postmark_sandbox)
    page = deliverability.outbound_search()
    assert (page.total_count, [m.message_id for m in page.messages]) == (2, [second, first])
    assert [
        m.message_id
        for m in deliverability.outbound_search(SearchFilters(recipient="ANN@example.com")).messages
    ] == [first]
    assert [m.message_id for m in deliverability.outbound_search(stream="broadcast").messages] == [third]
    assert [
        m.message_id for m in deliverability.outbound_search(SearchFilters(metadata={"user": "7"})).messages
    ] == [first]
    today = eastern_now().date()
    later = SearchFilters(fromdate=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5))
    assert deliverability.outbound_search(later).total_count == 0
    assert (
        deliverability.outbound_search(SearchFilters(fromdate=today, todate=today, tag="a")).total_count == 1
    )
    one = deliverability.outbound_search(count=1, offset=1)
    assert (one.total_count, [m.message_id for m in one.messages]) == (2, [first])
    with pytest.raises(PostmarkAPIError) as refused:
        deliverability.outbound_search(count=501)
    assert refused.value.error_code == 700


# -- statistics ---------------------------------------------------------------------------------------


def test_outbound_stats_and_days(postmark_sandbox):
    send("ann@example.com", "bob@example.com", html='<a href="https://x.example.com/">x</a>')
    send("hardbounce@example.com")
    send("spamcomplaint@example.com", stream="broadcast")
    today = eastern_now().date()
    stats = deliverability.outbound_stats("outbound", today, today)
    assert (stats.sent, stats.bounced, stats.spam_complaints, stats.bounce_rate) == (3, 1, 0, 33.333)
    assert (stats.opens, stats.unique_opens, stats.total_clicks, stats.tracked) == (2, 2, 2, 2)
    everywhere = deliverability.outbound_stats(None)
    assert (everywhere.sent, everywhere.spam_complaints, everywhere.spam_complaints_rate) == (4, 1, 25.0)
    assert deliverability.outbound_stats("outbound", today + dt.timedelta(days=1)).sent == 0
    assert deliverability.outbound_days("outbound", today - dt.timedelta(days=7), today) == [
        deliverability.DayCounts(today, sent=3, bounced=1)
    ]
    stats_requests = [r for r in postmark_sandbox.requests if r.path.startswith("/stats/")]
    assert len(stats_requests) == 5
    assert stats_requests[0].query["fromdate"] == today.isoformat()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.datetime(2024, 5, 1, 10, 0, 0), "2024-05-01T10:00:00"),
        (dt.datetime(2024, 5, 1, 14, 0, 0, 123, tzinfo=dt.UTC), "2024-05-01T10:00:00"),
    ],
)
def test_query_dates_are_postmarks_eastern_time(value, expected):
    assert deliverability.query_date(value) == expected


@pytest.mark.parametrize("answer", [None, [], "Bad gateway", 5])
def test_an_answer_that_is_not_an_object_is_an_api_error(answer):
    with pytest.raises(PostmarkAPIError) as raised:
        deliverability.require_object(answer)
    assert raised.value.response == answer
