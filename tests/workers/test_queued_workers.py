"""Queued sending on real workers: 10,000 messages drained by two workers, and a worker killed mid-batch.

Every message is accounted for from two independent records: the task backend's (each task's
status and result, following ``retried_as``) and the sandbox's (how often each message reached it).
"""

from __future__ import annotations

import collections
import math
import signal
import time
from typing import Any

import pytest

from postmark_admin.backends import QueuedPostmarkBackend
from postmark_admin.sending.batching import MAX_BATCH_MESSAGES

from .conftest import (
    WORKER_MESSAGES,
    Workers,
    backend_params,
    numbered_messages,
    received_counts,
    task_result,
)

pytestmark = [pytest.mark.workers, pytest.mark.django_db(transaction=True)]

#: What became of a message whose task never finished: its worker died; it may or may not have been sent.
UNFINISHED = "unfinished"


def enqueue(backend: str, count: int) -> list[str]:
    """Queue ``count`` numbered messages through QueuedPostmarkBackend; returns the task ids in order."""
    from django.conf import settings

    messages = numbered_messages(count)
    sender = QueuedPostmarkBackend(task_backend=backend, queue_name=settings.TEST_TASK_QUEUE)
    assert sender.send_messages(messages) == count
    return list(dict.fromkeys(task_id for message in messages for task_id in message.postmark_task_ids))


def account(backend: str, task_ids: list[str]) -> tuple[dict[int, list[str]], list[Any]]:
    """Each message's outcomes, attempt after attempt, from the task backend's records; and every result.

    A task that did not finish (its worker was killed) left no outcome: its messages are ``unfinished``.
    """
    history: dict[int, list[str]] = collections.defaultdict(list)
    results = []
    pending = list(task_ids)
    while pending:
        result = task_result(backend, pending.pop(0))
        results.append(result)
        if str(result.status) != "SUCCESSFUL":
            for ref in result.kwargs["refs"]:
                history[ref].append(UNFINISHED)
            continue
        value = result.return_value
        for outcome in value["messages"]:
            history[outcome["ref"]].append(outcome["outcome"])
        if value["retried_as"]:
            pending.append(value["retried_as"])
    return dict(history), results


@pytest.mark.parametrize("backend", backend_params())
def test_two_workers_send_every_message_exactly_once(backend, workers: Workers, postmark_sandbox):
    task_ids = enqueue(backend, WORKER_MESSAGES)
    assert len(task_ids) == math.ceil(WORKER_MESSAGES / MAX_BATCH_MESSAGES)
    assert postmark_sandbox.messages == []  # nothing is sent by the caller

    workers.wait(workers.start(2))

    counts = received_counts(postmark_sandbox)
    assert set(counts) == set(range(WORKER_MESSAGES)), workers.output()
    assert set(counts.values()) == {1}
    assert len(postmark_sandbox.requests) == len(task_ids)  # one batch call per task, none repeated
    history, results = account(backend, task_ids)
    assert {str(result.status) for result in results} == {"SUCCESSFUL"}
    assert history == {seq: ["sent"] for seq in range(WORKER_MESSAGES)}
    for result in results:
        assert all(outcome["message_id"] for outcome in result.return_value["messages"])


@pytest.mark.parametrize("backend", backend_params())
def test_a_worker_killed_mid_batch_loses_nothing_and_duplicates_nothing(
    backend, workers: Workers, postmark_sandbox
):
    count = 4 * MAX_BATCH_MESSAGES
    task_ids = enqueue(backend, count)
    # The first batch call is answered 503 (Postmark accepted nothing: the task is retried); every call
    # takes half a second, so the worker is in the middle of the second batch when it is killed.
    workers.env["POSTMARK_WORKER_MAX_RETRIES"] = "0"
    postmark_sandbox.latency = 0.5
    postmark_sandbox.fail_next(503, 100, path="/email/batch")

    (doomed,) = workers.start(1)
    deadline = time.monotonic() + 120
    while len(postmark_sandbox.requests) < 2:
        assert doomed.poll() is None, workers.output()
        assert time.monotonic() < deadline, "the worker never reached its second batch"
        time.sleep(0.01)
    doomed.send_signal(signal.SIGKILL)  # kill -9, in the middle of the second batch call
    doomed.wait()
    workers.wait(workers.start(2))

    history, results = account(backend, task_ids)
    counts = received_counts(postmark_sandbox)
    report = collections.Counter(" -> ".join(outcomes) for outcomes in history.values())
    print(f"\n{backend}: what became of {count} messages:", dict(report))

    assert set(history) == set(range(count)), "a message has no record: silently lost"
    assert max(counts.values()) == 1, "a message reached Postmark twice"
    assert report == {
        "sent": 2 * MAX_BATCH_MESSAGES,  # sent once
        "retried -> sent": MAX_BATCH_MESSAGES,  # not sent (503), retried, then sent once
        UNFINISHED: MAX_BATCH_MESSAGES,  # the killed worker's batch: flagged, not retried
    }
    # Every message reached the sandbox once, the killed worker's batch included: the sandbox had
    # the request before the kill and accepted it. Only the worker never learnt it, which is why those
    # are flagged rather than retried: a retry would have sent them twice.
    assert set(counts) == set(range(count))
    unfinished = [result for result in results if str(result.status) != "SUCCESSFUL"]
    assert len(unfinished) == 1 and str(unfinished[0].status) in {"RUNNING", "FAILED"}
