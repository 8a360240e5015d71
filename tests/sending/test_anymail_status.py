"""What a sent message's status holds under django-anymail's names, end to end through the sandbox.

``esp_response`` is the ``requests.Response`` of the call that carried the message (code written for
anymail calls ``.json()`` and reads ``.status_code``); Postmark's parsed result objects are ``results``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkAPIError, PostmarkTransportError
from postmark_admin.testing import override_postmark_settings

FROM = "from@example.com"


@pytest.fixture
def backend(postmark_sandbox):
    return PostmarkBackend()


def test_esp_response_is_the_response_of_a_single_send(backend, postmark_sandbox):
    message = EmailMessage("Hi", "Body", FROM, ["to@example.com"])
    assert backend.send_messages([message]) == 1
    status = message.anymail_status
    assert isinstance(status.esp_response, requests.Response)
    assert status.esp_response.status_code == 200
    assert status.esp_response.json()["MessageID"] == status.message_id
    assert status.results == [status.esp_response.json()]


def test_a_batch_shares_the_batch_call_s_response(backend, postmark_sandbox):
    messages = [EmailMessage("Hi", "Body", FROM, [f"to{i}@example.com"]) for i in range(3)]
    assert backend.send_messages(messages) == 3
    [request] = postmark_sandbox.requests
    assert request.path == "/email/batch"
    response = messages[0].anymail_status.esp_response
    assert all(message.anymail_status.esp_response is response for message in messages)
    answers = response.json()
    assert [message.anymail_status.results for message in messages] == [[answer] for answer in answers]
    assert [answer["MessageID"] for answer in answers] == [m.anymail_status.message_id for m in messages]


def test_merge_data_results_are_one_per_recipient(backend, postmark_sandbox):
    message = EmailMessage("Hi", "Body", FROM, ["a@example.com", "b@example.com"])
    message.merge_data = {}  # one message object per recipient, in one batch call
    assert backend.send_messages([message]) == 1
    status = message.anymail_status
    assert [result["To"] for result in status.results] == ["a@example.com", "b@example.com"]
    assert status.esp_response.json() == status.results


def test_a_refused_message_keeps_the_422_response(backend, postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    message = EmailMessage("Hi", "Body", FROM, ["gone@example.com"])
    assert PostmarkBackend(fail_silently=True).send_messages([message]) == 0
    status = message.anymail_status
    assert status.esp_response.status_code == 422
    assert status.results == [status.esp_response.json()]
    assert status.esp_response.json()["ErrorCode"] == 406


def test_no_response_when_the_call_failed(backend, postmark_sandbox):
    postmark_sandbox.fail_next(status=500, error_code=0, count=1)
    message = EmailMessage("Hi", "Body", FROM, ["to@example.com"])
    with pytest.raises(PostmarkAPIError):
        backend.send_messages([message])
    # postmark_status keeps each recipient's status: after a 500 it may have been sent.
    assert message.postmark_status.status == {"unknown"}
    assert message.postmark_status.recipients["to@example.com"].status == "unknown"
    # anymail_status has the initial values anymail documents "if the send call failed".
    status = message.anymail_status
    assert (status.esp_response, status.results, status.status) == (None, [], None)
    assert (status.message_id, status.recipients, status.accepted) == (None, {}, False)
    assert status.error is message.postmark_status.error


def test_a_message_refused_before_any_request_has_anymail_s_initial_status(postmark_sandbox):
    message = EmailMessage("Hi", "Body", FROM, ["to@example.com"])
    message.metadata = {"k" * 21: "too long a key"}
    assert PostmarkBackend(fail_silently=True).send_messages([message]) == 0
    assert postmark_sandbox.requests == []
    assert message.postmark_status.status == {"failed"}
    assert (message.anymail_status.status, message.anymail_status.recipients) == (None, {})
    assert message.anymail_status.error is message.postmark_status.error


def test_refused_recipients_keep_their_status_under_anymail_s_name(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    message = EmailMessage("Hi", "Body", FROM, ["gone@example.com"])
    assert PostmarkBackend(fail_silently=True).send_messages([message]) == 0
    # As with anymail: Postmark answered for each recipient, so the statuses are reported.
    assert message.anymail_status is message.postmark_status
    assert message.anymail_status.recipients["gone@example.com"].status == "rejected"


def test_no_response_when_nothing_answered(backend, postmark_sandbox):
    postmark_sandbox.fail_next(drop=True, count=5)
    message = EmailMessage("Hi", "Body", FROM, ["to@example.com"])
    with pytest.raises(PostmarkTransportError):
        backend.send_messages([message])
    assert (message.anymail_status.esp_response, message.anymail_status.results) == (None, [])


@pytest.fixture
def odd_answer() -> Iterator[dict[str, object]]:
    """A loopback HTTP server answering every POST with ``state["answer"]`` (200): an answer the
    sandbox, being Postmark-shaped, never gives. ``state["paths"]`` lists the paths it was sent."""
    state: dict[str, object] = {"answer": None, "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            state["paths"].append(self.path)  # type: ignore[attr-defined]
            body = json.dumps(state["answer"]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with override_postmark_settings(
            server_token="token", api_url=f"http://127.0.0.1:{server.server_port}"
        ):
            yield state
    finally:
        server.shutdown()
        server.server_close()


def test_a_batch_answer_without_a_result_per_message_is_matched_by_to(odd_answer):
    # A 200 that is not one result per message: what it names is used, the rest is unknown
    # (Postmark took the call), rather than the whole batch reported refused (and maybe resent).
    odd_answer["answer"] = [
        {"ErrorCode": 0, "Message": "OK", "To": "b@example.com", "MessageID": "id-b"},
        {"ErrorCode": 0, "Message": "OK", "To": "nobody@example.com", "MessageID": "id-x"},
        {"ErrorCode": 0, "Message": "OK", "To": "nobody@example.com", "MessageID": "id-y"},
    ]
    messages = [EmailMessage("Hi", "Body", FROM, [to]) for to in ("a@example.com", "B <b@example.com>")]
    assert PostmarkBackend().send_messages(messages) == 2
    assert odd_answer["paths"] == ["/email/batch"]
    first, second = (message.postmark_status for message in messages)
    assert (first.status, first.results, first.error) == ({"unknown"}, [], None)
    assert second.recipients["b@example.com"].status == "sent"
    assert (second.message_id, second.results) == ("id-b", [odd_answer["answer"][0]])


def test_a_batch_answered_with_a_refusal_object_is_still_refused(odd_answer):
    odd_answer["answer"] = {"ErrorCode": 410, "Message": "Too many messages in the batch."}
    messages = [EmailMessage("Hi", "Body", FROM, [to]) for to in ("a@example.com", "b@example.com")]
    with pytest.raises(PostmarkAPIError) as raised:
        PostmarkBackend().send_messages(messages)
    assert raised.value.error_code == 410
    assert [message.postmark_status.status for message in messages] == [{"failed"}] * 2
