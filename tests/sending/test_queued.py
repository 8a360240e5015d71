"""QueuedPostmarkBackend and the send_prepared task, in this process.

The "default" task backend runs each task at once in the calling process (the Tasks framework's
ImmediateBackend) and "dummy" only keeps what was enqueued; tests/workers/ drives real workers.
"""

from __future__ import annotations

import importlib
import importlib.util
import json

import django
import pytest
from django.core.mail import EmailMessage
from django.test import override_settings

from postmark_admin.backends import QueuedPostmarkBackend
from postmark_admin.exceptions import PostmarkConfigurationError, PostmarkInvalidMessage, PostmarkQueueError

if not any(importlib.util.find_spec(name) for name in ("django.tasks", "django_tasks")):
    pytest.skip("needs the Tasks framework (the [tasks] extra on Django 5.2)", allow_module_level=True)

from postmark_admin.sending import queued as tasks

FROM = "from@example.com"
pytestmark = pytest.mark.django_db


def _messages(count: int, **kwargs) -> list[EmailMessage]:
    return [EmailMessage("Hi", f"Body {i}", FROM, [f"to{i}@example.com"], **kwargs) for i in range(count)]


@pytest.fixture
def dummy_tasks(settings):
    """A task backend that keeps what is enqueued and runs nothing."""
    settings.TASKS = {
        **settings.TASKS,
        "dummy": {"BACKEND": f"{tasks.tasks_module().__name__}.backends.dummy.DummyBackend"},
    }
    backend = tasks.tasks_module().task_backends["dummy"]
    backend.clear()
    return backend


@pytest.fixture
def finished():
    """Every task result finished in this process, in order (the framework's task_finished signal)."""
    signals = importlib.import_module(tasks.tasks_module().__name__ + ".signals")
    results = []

    def receiver(sender, task_result, **kwargs):
        results.append(task_result)

    signals.task_finished.connect(receiver)
    yield results
    signals.task_finished.disconnect(receiver)


def test_an_invalid_message_raises_in_the_caller_and_nothing_is_queued(postmark_sandbox, dummy_tasks):
    backend = QueuedPostmarkBackend(task_backend="dummy")
    bad = EmailMessage("Hi", "Body", FROM, [])  # no recipient
    with pytest.raises(PostmarkInvalidMessage):
        backend.send_messages([*_messages(2), bad])
    assert dummy_tasks.results == []


def test_one_task_per_batch_with_json_arguments_and_no_token(postmark_sandbox, dummy_tasks):
    messages = _messages(1200)
    assert QueuedPostmarkBackend(task_backend="dummy").send_messages(messages) == 1200
    assert [len(result.kwargs["refs"]) for result in dummy_tasks.results] == [500, 500, 200]
    for result in dummy_tasks.results:
        encoded = json.dumps([result.args, result.kwargs])  # JSON, no EmailMessage
        assert postmark_sandbox.token not in encoded
    first = dummy_tasks.results[0].kwargs
    body = json.loads(first["body"])  # what Postmark gets
    assert body[0] == {
        "From": FROM,
        "To": "to0@example.com",
        "Subject": "Hi",
        "TextBody": "Body 0",
    }
    assert len(body) == 500 and body[499]["To"] == "to499@example.com"
    assert first["recipients"][:2] == [[["to0@example.com"], []], [["to1@example.com"], []]]
    assert first["refs"] == list(range(500)) and dummy_tasks.results[1].kwargs["refs"][0] == 500
    assert first["templated"] is False and first["options"] == {} and first["mailer"] is None
    assert messages[700].postmark_task_ids == (dummy_tasks.results[1].id,)
    assert len(json.dumps(first)) < 200 * 500  # small: the JSON Postmark gets, its recipients, a number
    assert postmark_sandbox.requests == []


def test_the_worker_sends_and_records_each_message(postmark_sandbox):
    messages = _messages(3)
    assert QueuedPostmarkBackend().send_messages(messages) == 3
    (result,) = messages[0].postmark_task_results
    assert str(result.status) == "SUCCESSFUL"
    value = result.return_value
    sent_ids = [message["MessageID"] for message in postmark_sandbox.messages]
    assert [outcome["message_id"] for outcome in value["messages"]] == sent_ids
    assert [outcome["outcome"] for outcome in value["messages"]] == ["sent"] * 3
    assert value["counts"]["sent"] == 3 and value["attempt"] == 1 and value["retried_as"] is None
    assert value["messages"][1]["recipients"] == {"to1@example.com": ["sent", sent_ids[1]]}


def test_a_refused_message_is_recorded_with_postmarks_error(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    messages = [*_messages(1), EmailMessage("Hi", "B", FROM, ["gone@example.com"])]
    QueuedPostmarkBackend().send_messages(messages)
    outcomes = messages[0].postmark_task_results[0].return_value["messages"]
    assert [outcome["outcome"] for outcome in outcomes] == ["sent", "refused"]
    assert outcomes[1]["error_code"] == 406
    assert outcomes[1]["recipients"] == {"gone@example.com": ["rejected", None]}


@override_settings(POSTMARK_MAX_RETRIES=0)
def test_a_batch_postmark_cannot_have_accepted_is_retried_as_a_new_task(postmark_sandbox, finished):
    postmark_sandbox.fail_next(503, 100, path="/email/batch")
    QueuedPostmarkBackend().send_messages(_messages(2))
    first, second = sorted(finished, key=lambda result: result.return_value["attempt"])
    assert first.return_value["retried_as"] == second.id
    assert first.return_value["counts"]["retried"] == 2 and first.return_value["http_status"] == 503
    assert second.return_value["counts"]["sent"] == 2 and second.return_value["attempt"] == 2
    assert len(postmark_sandbox.requests) == 2 and len(postmark_sandbox.messages) == 2


@override_settings(POSTMARK_MAX_RETRIES=0)
def test_a_refused_connection_is_retried(finished, settings):
    # Nothing listens on port 9: the request never left, so a retry is safe (and fails again here).
    settings.POSTMARK_TASK_MAX_ATTEMPTS = 2
    from postmark_admin.testing import override_postmark_settings

    with override_postmark_settings(server_token="t", api_url="http://127.0.0.1:9/"):
        QueuedPostmarkBackend().send_messages(_messages(1))
    by_attempt = sorted(finished, key=lambda result: result.return_value["attempt"])
    assert [result.return_value["messages"][0]["outcome"] for result in by_attempt] == ["retried", "failed"]


@override_settings(POSTMARK_MAX_RETRIES=0, POSTMARK_TASK_MAX_ATTEMPTS=3)
def test_retries_stop_after_the_last_attempt(postmark_sandbox, finished):
    postmark_sandbox.fail_next(429, 429, path="/email/batch", count=5)
    QueuedPostmarkBackend().send_messages(_messages(2))
    attempts = sorted((result.return_value["attempt"], result.return_value["counts"]) for result in finished)
    assert [(attempt, counts["retried"], counts["failed"]) for attempt, counts in attempts] == [
        (1, 2, 0),
        (2, 2, 0),
        (3, 0, 2),
    ]
    assert len(postmark_sandbox.requests) == 3 and postmark_sandbox.messages == []


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500, "error_code": 0},  # Postmark's fault: the message was usually not sent, maybe was
        {"drop": True, "after_processing": True},  # accepted, then the connection broke
        {"drop": True},  # the connection broke before an answer
    ],
)
def test_an_ambiguous_failure_is_recorded_and_never_retried(postmark_sandbox, finished, fault):
    postmark_sandbox.fail_next(path="/email/batch", **fault)
    QueuedPostmarkBackend().send_messages(_messages(2))
    (result,) = finished
    assert [outcome["outcome"] for outcome in result.return_value["messages"]] == ["ambiguous"] * 2
    assert result.return_value["retried_as"] is None
    assert result.return_value["messages"][0]["recipients"] == {"to0@example.com": ["unknown", None]}
    assert len(postmark_sandbox.requests) == 1
    assert len(postmark_sandbox.messages) == (2 if fault.get("after_processing") else 0)


def test_a_definite_failure_is_recorded_and_not_retried(postmark_sandbox, finished):
    postmark_sandbox.fail_next(401, 10, "Bad token.", path="/email/batch")
    QueuedPostmarkBackend().send_messages(_messages(2))
    (result,) = finished
    assert result.return_value["counts"]["failed"] == 2 and result.return_value["error_code"] == 10


def test_a_server_token_argument_is_refused_outside_mailers(dummy_tasks):
    backend = QueuedPostmarkBackend(server_token="secret-token-123", task_backend="dummy")
    with pytest.raises(PostmarkConfigurationError, match="secrets never go into the task queue") as caught:
        backend.send_messages(_messages(1))
    assert "secret-token-123" not in str(caught.value) and "secret-token-123" not in repr(backend)
    assert dummy_tasks.results == []


def test_a_message_with_its_own_server_token_is_refused(postmark_sandbox, dummy_tasks):
    message = _messages(1)[0]
    message.esp_extra = {"server_token": "other-server-token"}  # type: ignore[attr-defined]
    with pytest.raises(PostmarkConfigurationError, match="esp_extra") as caught:
        QueuedPostmarkBackend(task_backend="dummy").send_messages([message])
    assert caught.value.email_message is message
    assert dummy_tasks.results == []


def test_non_secret_options_travel_and_the_worker_uses_them(postmark_sandbox, dummy_tasks):
    backend = QueuedPostmarkBackend(task_backend="dummy", api_url=postmark_sandbox.url, timeout=7.0)
    backend.send_messages(_messages(1))
    assert dummy_tasks.results[0].kwargs["options"] == {"api_url": postmark_sandbox.url, "timeout": 7.0}
    config = tasks.worker_config(
        None, {"api_url": "http://127.0.0.1:9/", "timeout": 7.0, "server_token": "x"}
    )
    assert (config.api_url, config.timeout) == ("http://127.0.0.1:9/", 7.0)
    assert config.server_token.reveal() == postmark_sandbox.token  # never from the task


def test_the_worker_reads_a_mailers_token_from_its_own_settings(postmark_sandbox):
    mailers = {"news": {"BACKEND": "x", "OPTIONS": {"server_token": "news-token", "queue_name": "email"}}}
    with override_settings(MAILERS=mailers):
        config = tasks.worker_config("news", {})
    assert config.server_token.reveal() == "news-token"


def test_the_queue_name_and_task_backend_come_from_the_options_or_settings(
    postmark_sandbox, dummy_tasks, settings
):
    settings.POSTMARK_TASK_BACKEND = "dummy"
    QueuedPostmarkBackend().send_messages(_messages(1))
    assert dummy_tasks.results[0].task.queue_name == "default"
    with pytest.raises(PostmarkConfigurationError, match="Queue 'mail' is not valid"):
        QueuedPostmarkBackend(queue_name="mail").send_messages(_messages(1))


@pytest.mark.skipif(
    importlib.util.find_spec("django_tasks_rq") is None,
    reason="django-tasks-rq is not installed ([rq] extra)",
)
def test_a_task_backend_that_cannot_queue_raises_a_queue_error(postmark_sandbox, settings):
    settings.TASKS = {
        **settings.TASKS,
        "down": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["postmark-test-unreachable"]},
    }
    with pytest.raises(PostmarkQueueError, match="0 of 2 messages were queued") as caught:
        QueuedPostmarkBackend(task_backend="down", queue_name="postmark-test-unreachable").send_messages(
            _messages(2)
        )
    assert caught.value.queued == 0
    quiet = QueuedPostmarkBackend(
        task_backend="down", queue_name="postmark-test-unreachable", fail_silently=True
    )
    assert quiet.send_messages(_messages(2)) == 0
    assert postmark_sandbox.requests == []


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS is Django 6.1's")
def test_a_mailers_server_token_reaches_the_worker_through_its_alias(postmark_sandbox):
    from django.core.mail import send_mail

    from postmark_admin.testing import override_postmark_settings

    options = {
        "server_token": postmark_sandbox.token,
        "api_url": postmark_sandbox.url,
        "task_backend": "default",
    }
    mailers = {"default": {"BACKEND": "postmark_admin.backends.QueuedPostmarkBackend", "OPTIONS": options}}
    with override_postmark_settings(server_token="not-this-one"), override_settings(MAILERS=mailers):
        assert send_mail("Hi", "Body", FROM, ["to@example.com"]) == 1
    (request,) = postmark_sandbox.requests
    assert request.headers["X-Postmark-Server-Token"] == postmark_sandbox.token


def test_an_answer_that_says_nothing_about_the_messages_is_ambiguous():
    batch = tasks.QueuedBatch.from_task(
        "[]", [[["a@example.com"], []], [["b@example.com"], []]], [0, 1], False
    )
    outcome = tasks.outcome_of_answer(batch, 200, [{"ErrorCode": 0, "MessageID": "x"}], attempt=1)
    assert [item["outcome"] for item in outcome.outcomes] == ["ambiguous", "ambiguous"]
    assert outcome.outcomes[0]["recipients"] == {"a@example.com": ["unknown", None]}
    # Another number of results than messages: each result that names a message's To is its own.
    named = [{"ErrorCode": 0, "Message": "OK", "To": "B <b@example.com>", "MessageID": "id-b"}]
    outcome = tasks.outcome_of_answer(batch, 200, named, attempt=1)
    assert [item["outcome"] for item in outcome.outcomes] == ["ambiguous", "sent"]
    assert outcome.outcomes[0]["recipients"] == {"a@example.com": ["unknown", None]}
    assert outcome.outcomes[1]["recipients"] == {"b@example.com": ["sent", "id-b"]}
    assert outcome.outcomes[1]["message_id"] == "id-b"
    single = tasks.QueuedBatch.from_task("{}", [[["a@example.com"], []]], [0], False)
    assert tasks.outcome_of_answer(single, 200, None, attempt=1).outcomes[0]["outcome"] == "ambiguous"
    refused = tasks.outcome_of_answer(single, 422, {"ErrorCode": 300, "Message": "Invalid"}, attempt=1)
    assert refused.outcomes[0]["outcome"] == "refused" and refused.outcomes[0]["error_code"] == 300
    whole = tasks.outcome_of_answer(batch, 422, {"ErrorCode": 410, "Message": "Too many"}, attempt=1)
    assert [item["outcome"] for item in whole.outcomes] == ["refused", "refused"]
    assert whole.error_code == 410


@override_settings(POSTMARK_MAX_RETRIES=0)
def test_post_send_fires_once_per_message_for_its_final_outcome_only(postmark_sandbox):
    from postmark_admin import signals

    received = []

    def receiver(sender, message, status, **kwargs):
        received.append(
            (message["ref"], message["outcome"], status.recipients[f"to{message['ref']}@example.com"])
        )

    postmark_sandbox.fail_next(503, 100, path="/email/batch")
    signals.post_send.connect(receiver)
    try:
        QueuedPostmarkBackend().send_messages(_messages(2))
    finally:
        signals.post_send.disconnect(receiver)
    # The first attempt (503, retried as a new task) is not final: only the retry's outcome is sent.
    assert [(ref, outcome, status.status) for ref, outcome, status in received] == [
        (0, "sent", "sent"),
        (1, "sent", "sent"),
    ]
    assert {status.message_id for *_, status in received} == {
        m["MessageID"] for m in postmark_sandbox.messages
    }


def test_pre_send_can_cancel_a_queued_message_in_the_caller(postmark_sandbox, dummy_tasks):
    from postmark_admin import signals

    def receiver(sender, message, **kwargs):
        assert sender is QueuedPostmarkBackend
        if message.to == ["to1@example.com"]:
            raise signals.CancelSend("not this one")

    signals.pre_send.connect(receiver)
    try:
        assert QueuedPostmarkBackend(task_backend="dummy").send_messages(_messages(3)) == 2
    finally:
        signals.pre_send.disconnect(receiver)
    (result,) = dummy_tasks.results
    assert [entry["To"] for entry in json.loads(result.kwargs["body"])] == [
        "to0@example.com",
        "to2@example.com",
    ]
