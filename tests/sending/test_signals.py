"""pre_send and post_send: sent on every send path, a receiver may change or cancel a message."""

from __future__ import annotations

import logging

import pytest

from postmark_admin import signals
from postmark_admin.backends import PostmarkBackend
from postmark_admin.message import PostmarkMessage
from postmark_admin.sending.status import PostmarkStatus

FROM = "from@example.com"


@pytest.fixture
def calls():
    """(signal name, subject of the message, status or None) for every pre_send and post_send, in order."""
    seen: list[tuple[str, str, PostmarkStatus | None, dict]] = []

    def on_pre_send(sender, message, **kwargs):
        seen.append(("pre_send", message.subject, None, {"sender": sender, **kwargs}))

    def on_post_send(sender, message, status, **kwargs):
        seen.append(("post_send", message.subject, status, {"sender": sender, **kwargs}))

    signals.pre_send.connect(on_pre_send)
    signals.post_send.connect(on_post_send)
    yield seen
    signals.pre_send.disconnect(on_pre_send)
    signals.post_send.disconnect(on_post_send)


def _plain(subject: str, to: str = "to@example.com") -> PostmarkMessage:
    return PostmarkMessage(subject, "Body", FROM, [to])


def _templated(name: str, to: str = "to@example.com") -> PostmarkMessage:
    # The subject stays "" on the wire (a template message must not have one): it names the message here.
    message = PostmarkMessage(
        from_email=FROM, to=[to], template_id="welcome", merge_global_data={"name": name}
    )
    message.subject = ""
    message.extra_headers = {"X-Name": name}
    return message


@pytest.mark.parametrize(
    ("build", "count", "path"),
    [
        (lambda: [_plain("one")], 1, "/email"),
        (lambda: [_plain(f"m{i}") for i in range(3)], 3, "/email/batch"),
        (lambda: [_templated("one")], 1, "/email/withTemplate"),
        (lambda: [_templated(f"t{i}") for i in range(3)], 3, "/email/batchWithTemplates"),
    ],
    ids=["single", "batch", "template", "batch-with-templates"],
)
def test_both_signals_on_every_send_path(postmark_sandbox, calls, build, count, path):
    messages = build()
    backend = PostmarkBackend()
    assert backend.send_messages(messages) == count
    assert [request.path for request in postmark_sandbox.requests] == [path]
    # Every pre_send comes before the request (mapping starts after it), every post_send after the answer.
    assert [name for name, *_ in calls] == ["pre_send"] * count + ["post_send"] * count
    for (_, _, status, kwargs), message in zip(calls[count:], messages, strict=True):
        assert status is message.postmark_status
        assert status.status == {"sent"} and status.message_id
        assert kwargs == {
            "sender": PostmarkBackend,
            "signal": signals.post_send,
            "esp_name": "Postmark",
            "connection": backend,
        }


def test_a_receiver_changes_the_message_before_it_is_mapped(postmark_sandbox):
    def redirect(sender, message, **kwargs):
        message.to = ["redirected@example.com"]
        message.subject = "[staging] " + message.subject

    signals.pre_send.connect(redirect)
    try:
        assert PostmarkBackend().send_messages([_plain("Hi")]) == 1
    finally:
        signals.pre_send.disconnect(redirect)
    [stored] = postmark_sandbox.messages
    assert (stored["To"], stored["Subject"]) == ("redirected@example.com", "[staging] Hi")


def test_cancel_send_leaves_that_message_out(postmark_sandbox, calls):
    def cancel_second(sender, message, **kwargs):
        if message.subject == "m1":
            raise signals.CancelSend("blocked recipient")

    signals.pre_send.connect(cancel_second)
    try:
        messages = [_plain(f"m{i}", to=f"t{i}@example.com") for i in range(3)]
        assert PostmarkBackend().send_messages(messages) == 2
    finally:
        signals.pre_send.disconnect(cancel_second)
    assert [stored["To"] for stored in postmark_sandbox.messages] == ["t0@example.com", "t2@example.com"]
    cancelled = messages[1].postmark_status
    assert cancelled.cancelled and not cancelled.accepted and cancelled.status == set()
    assert [(name, subject) for name, subject, *_ in calls if name == "post_send"] == [
        ("post_send", "m0"),
        ("post_send", "m2"),
    ]


def test_cancelling_every_message_sends_nothing(postmark_sandbox, calls):
    def cancel(sender, message, **kwargs):
        raise signals.CancelSend

    signals.pre_send.connect(cancel)
    try:
        assert PostmarkBackend().send_messages([_plain("a"), _plain("b")]) == 0
    finally:
        signals.pre_send.disconnect(cancel)
    assert postmark_sandbox.requests == []
    assert [name for name, *_ in calls] == ["pre_send", "pre_send"]


def test_another_pre_send_error_stops_the_call_before_any_request(postmark_sandbox):
    def broken(sender, message, **kwargs):
        if message.subject == "m2":
            raise RuntimeError("receiver bug")

    signals.pre_send.connect(broken)
    try:
        with pytest.raises(RuntimeError, match="receiver bug"):
            PostmarkBackend().send_messages([_plain(f"m{i}") for i in range(3)])
    finally:
        signals.pre_send.disconnect(broken)
    assert postmark_sandbox.requests == []


def test_post_send_carries_failures_and_its_errors_are_logged_not_raised(postmark_sandbox, caplog):
    postmark_sandbox.inactive.add("gone@example.com")
    statuses = []

    def broken(sender, message, status, **kwargs):
        statuses.append(status)
        raise RuntimeError("receiver bug")

    signals.post_send.connect(broken)
    try:
        with caplog.at_level(logging.ERROR, logger="postmark_admin.sending"):
            sent = PostmarkBackend(fail_silently=True).send_messages(
                [_plain("ok"), _plain("refused", to="gone@example.com")]
            )
    finally:
        signals.post_send.disconnect(broken)
    assert sent == 1
    assert [status.status for status in statuses] == [{"sent"}, {"rejected"}]
    assert statuses[1].error is not None
    assert caplog.text.count("post_send receiver") == 2


def test_a_message_that_fails_mapping_silently_still_gets_post_send(postmark_sandbox, calls):
    bad = _plain("bad")
    bad.send_at = 1700000000  # unsupported: refused before any request
    assert PostmarkBackend(fail_silently=True).send_messages([bad]) == 0
    assert [(name, status.status if status else None) for name, _, status, _ in calls] == [
        ("pre_send", None),
        ("post_send", {"failed"}),
    ]
    assert postmark_sandbox.requests == []


def test_both_signals_on_the_bulk_path(postmark_sandbox, calls):
    def rename(sender, message, **kwargs):
        message.subject = "News for {{name}}"

    signals.pre_send.connect(rename)
    try:
        news = PostmarkMessage("News", "Body", FROM, ["a@example.com"], message_stream="broadcast")
        news.bulk = True
        assert PostmarkBackend().send_messages([news]) == 1
    finally:
        signals.pre_send.disconnect(rename)
    [request] = postmark_sandbox.requests
    assert request.path == "/email/bulk" and request.json_body["Subject"] == "News for {{name}}"
    assert [name for name, *_ in calls] == ["pre_send", "post_send"]
    status = calls[1][2]
    assert status is news.postmark_status and status.bulk_job is not None and status.status == {"queued"}
