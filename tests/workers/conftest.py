"""Real task workers for queued sending: RQ's (django-tasks-rq, on the local Redis) and django-tasks-db's.

Workers are separate processes (``python -m django rqworker`` / ``db_worker``) with
``tests.worker_settings``: the test database, the sandbox's token and URL in their environment, the
run's own queue name. Every message carries ``Metadata["seq"]``, so the sandbox's records show how
often each one reached "Postmark".
"""

from __future__ import annotations

import collections
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent.parent
#: Messages the drain tests enqueue (``POSTMARK_TEST_WORKER_MESSAGES``; 10,000 by default).
WORKER_MESSAGES = int(os.environ.get("POSTMARK_TEST_WORKER_MESSAGES", "10000"))


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(settings.TEST_REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


def backend_params() -> list[Any]:
    """``"rq"`` and ``"db"``, each skipped with a reason when what it needs is missing."""
    no_tasks = (
        importlib.util.find_spec("django_tasks") is None and importlib.util.find_spec("django.tasks") is None
    )
    rq_reason = (
        "django-tasks-rq is not installed (the [tasks] extra)"
        if no_tasks or importlib.util.find_spec("django_tasks_rq") is None
        else None
    )
    if rq_reason is None and not _redis_available():
        rq_reason = f"no Redis server at {settings.TEST_REDIS_URL}"
    db_reason = (
        "django-tasks-db is not installed (the [tasks] extra)"
        if no_tasks or importlib.util.find_spec("django_tasks_db") is None
        else None
    )
    return [
        pytest.param(
            "rq", marks=[pytest.mark.redis, pytest.mark.skipif(rq_reason is not None, reason=rq_reason or "")]
        ),
        pytest.param("db", marks=[pytest.mark.skipif(db_reason is not None, reason=db_reason or "")]),
    ]


def worker_command(backend: str) -> list[str]:
    """A worker that drains the run's queue and exits (RQ's ``--burst``, db_worker's ``--batch``).

    RQ's SimpleWorker runs each job in the worker process itself: the default Worker forks a child per
    job, which a ``kill -9`` of the worker would not reach, and which starts each job with a new
    connection to Postmark.
    """
    queue = settings.TEST_TASK_QUEUE
    if backend == "rq":
        return [
            *(sys.executable, "-m", "django", "rqworker", queue, "--burst"),
            *("--worker-class", "rq.worker.SimpleWorker", "--job-class", "django_tasks_rq.backend.Job"),
        ]
    return [
        *(sys.executable, "-m", "django", "db_worker", "--backend", "db", "--queue-name", queue),
        *("--batch", "--no-startup-delay", "--interval", "0.05", "--no-reload"),
    ]


@dataclass
class Workers:
    """Worker processes started by one test; every one is gone when the test ends."""

    backend: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def start(self, count: int = 1) -> list[subprocess.Popen[bytes]]:
        started = [
            subprocess.Popen(
                worker_command(self.backend),
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(count)
        ]
        self.processes += started
        return started

    def wait(self, processes: Sequence[subprocess.Popen[bytes]], timeout: float = 300) -> None:
        """Wait until ``processes`` exit (they drain the queue, then stop); fail with their output otherwise."""
        deadline = time.monotonic() + timeout
        for process in processes:
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                self.stop()
                pytest.fail(
                    f"a {self.backend} worker did not drain the queue in {timeout} s:\n{self.output()}"
                )

    def output(self) -> str:
        chunks = []
        for process in self.processes:
            if process.poll() is not None and process.stdout is not None:
                chunks.append(process.stdout.read().decode(errors="replace")[-3000:])
        return "\n---\n".join(chunks)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
            process.wait()
            if process.stdout is not None:
                process.stdout.close()


@pytest.fixture
def workers(
    request: pytest.FixtureRequest, postmark_sandbox: Any, transactional_db: None
) -> Iterator[Workers]:
    """Workers for the backend the test is parametrized with, pointed at the sandbox and the test database."""
    backend = request.param if hasattr(request, "param") else request.node.callspec.params["backend"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.worker_settings",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "POSTMARK_WORKER_DATABASE": str(connection.settings_dict["NAME"]),
        "POSTMARK_SERVER_TOKEN": postmark_sandbox.token,
        "POSTMARK_API_URL": postmark_sandbox.url,
        "POSTMARK_TEST_TASK_QUEUE": settings.TEST_TASK_QUEUE,
    }
    running = Workers(backend, env)
    try:
        yield running
    finally:
        running.stop()
        if backend == "rq":
            import django_rq

            django_rq.get_queue(settings.TEST_TASK_QUEUE).empty()


def numbered_messages(count: int) -> list[EmailMessage]:
    """``count`` plain messages, each with ``Metadata["seq"]`` = its number."""
    messages = []
    for seq in range(count):
        message = EmailMessage("Queued", f"Message {seq}.", "from@example.com", [f"to{seq}@example.com"])
        message.metadata = {"seq": str(seq)}  # type: ignore[attr-defined]
        messages.append(message)
    return messages


def received_counts(sandbox: Any) -> collections.Counter[int]:
    """How many times the sandbox accepted each message, by its ``seq``."""
    return collections.Counter(int(message["Metadata"]["seq"]) for message in sandbox.messages)


def task_result(backend: str, task_id: str) -> Any:
    from postmark_admin.sending.queued import send_prepared

    return send_prepared.using(backend=backend, queue_name=settings.TEST_TASK_QUEUE).get_result(task_id)
