"""Queued sending: messages/s through 1 and 2 RQ workers, beside sending in the calling process.

Run: python3 scripts/bench.py queued [--messages 10000] [--latency 10] [--rounds 3]

The sandbox runs in its own process over HTTPS with ``--latency`` ms per request, TCP connection and
TLS handshake, as in bench/send.py. Three ways to send the same ``--messages`` messages:

* in-process: one ``PostmarkBackend.send_messages()`` call (batches of 500, up to
  ``POSTMARK_MAX_CONCURRENT_REQUESTS`` in flight);
* 1 RQ worker and 2 RQ workers: ``QueuedPostmarkBackend.send_messages()`` maps and enqueues one
  task per batch of 500 on Redis; ``rqworker`` processes (RQ's SimpleWorker, started and warmed up
  before the clock) send them. The clock runs from the call until every task has finished, and the
  time the caller waited (mapping and enqueueing) is printed beside it.

Then ``--single`` one-message calls in a row, as web requests make them: the milliseconds the caller
waits per call (in-process, a Postmark round trip; queued, one enqueue).

Every round checks that the sandbox stored exactly the messages sent. The machine's load average is
printed with the figures: on a busy machine every figure is slower and noisier, and workers compete
with the sandbox and this process for the same cores.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("POSTMARK_BENCH_QUEUE", f"postmark-bench-{uuid.uuid4().hex[:8]}")
os.environ.setdefault("POSTMARK_BENCH_DATABASE", str(Path(tempfile.mkdtemp()) / "bench.sqlite3"))
os.environ["DJANGO_SETTINGS_MODULE"] = "queued_settings"

import django  # noqa: E402 (after the environment above)
from send import TOKEN, SandboxProcess, load, messages, summary  # noqa: E402


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    queue = os.environ["POSTMARK_BENCH_QUEUE"]
    command = [
        *(sys.executable, "-m", "django", "rqworker", queue),
        *("--worker-class", "rq.worker.SimpleWorker", "--job-class", "django_tasks_rq.backend.Job"),
    ]
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)  # RQ's warm shutdown: the current job ends first
    for worker in workers:
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


def wait_finished(results: list, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    pending = list(results)
    while pending:
        for result in list(pending):
            result.refresh()
            if result.is_finished:
                if str(result.status) != "SUCCESSFUL":
                    raise SystemExit(f"task {result.id} ended {result.status}: {result.errors}")
                pending.remove(result)
        if pending:
            if time.monotonic() > deadline:
                raise SystemExit(f"{len(pending)} tasks unfinished after {timeout} s")
            time.sleep(0.005)


def time_queued(count: int) -> tuple[float, float]:
    """``(seconds until every task finished, seconds the caller waited)`` for ``count`` messages."""
    from postmark_admin.backends import QueuedPostmarkBackend

    batch = messages(count)
    started = time.perf_counter()
    queued = QueuedPostmarkBackend().send_messages(batch)
    caller = time.perf_counter() - started
    if queued != count:
        raise SystemExit(f"queued {queued} messages, expected {count}")
    results = list({result.id: result for m in batch for result in m.postmark_task_results}.values())
    wait_finished(results)
    return time.perf_counter() - started, caller


def time_in_process(count: int) -> float:
    from postmark_admin.backends import PostmarkBackend

    batch = messages(count)
    started = time.perf_counter()
    sent = PostmarkBackend().send_messages(batch)
    elapsed = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"sent {sent} messages, expected {count}")
    return elapsed


def time_single(backend_class: type, count: int) -> tuple[float, list]:
    """Milliseconds the caller waits per one-message ``send_messages()`` call, ``count`` calls in a row.

    A web request sending one email: in-process that is a Postmark round trip; queued, one enqueue.
    Returns the task results too (none in-process), so the caller can wait for the workers.
    """
    batch = messages(count)
    backend = backend_class()
    started = time.perf_counter()
    for message in batch:
        if backend.send_messages([message]) != 1:
            raise SystemExit(f"{backend_class.__name__}: a message was not taken")
    elapsed = time.perf_counter() - started
    results = [result for message in batch for result in getattr(message, "postmark_task_results", ())]
    return elapsed / count * 1000, results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--latency", type=float, default=10.0, help="milliseconds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=50, help="one-message calls timed one after another")
    args = parser.parse_args()

    load_before = load()
    sandbox = SandboxProcess(args.latency)
    rows: dict[str, tuple[str, str, str]] = {}
    try:
        os.environ.update(
            {
                "REQUESTS_CA_BUNDLE": sandbox.ca_path,
                "POSTMARK_SERVER_TOKEN": TOKEN,
                "POSTMARK_API_URL": sandbox.url,
            }
        )
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "bench")])}

        expected = sandbox.stored()
        time_in_process(min(args.messages, 500))  # warm up: imports, connections
        expected += min(args.messages, 500)
        rates = []
        for _ in range(args.rounds):
            rates.append(args.messages / time_in_process(args.messages))
            expected += args.messages
        from postmark_admin.backends import PostmarkBackend, QueuedPostmarkBackend

        singles = [time_single(PostmarkBackend, args.single)[0] for _ in range(args.rounds)]
        expected += args.rounds * args.single
        rows["in-process"] = (summary(rates, "0", True)[1], "-", summary(singles, "2", False)[1])
        print("  measured in-process", file=sys.stderr)

        for count in (1, 2):
            workers = start_workers(count, env)
            try:
                time_queued(500 * count)  # every worker started, imported and connected
                expected += 500 * count
                rates, waits = [], []
                for _ in range(args.rounds):
                    total, caller = time_queued(args.messages)
                    rates.append(args.messages / total)
                    waits.append(caller * 1000)
                    expected += args.messages
                singles = []
                for _ in range(args.rounds):
                    per_call, results = time_single(QueuedPostmarkBackend, args.single)
                    wait_finished(results)
                    singles.append(per_call)
                    expected += args.single
            finally:
                stop_workers(workers)
            label = f"{count} RQ worker" + ("s" if count > 1 else "")
            rows[label] = (
                summary(rates, "0", True)[1],
                summary(waits, "0", False)[1],
                summary(singles, "2", False)[1],
            )
            print(f"  measured {label}", file=sys.stderr)
        stored = sandbox.stored()
        if stored != expected:
            raise SystemExit(f"the sandbox stored {stored} messages, expected {expected}")
    finally:
        sandbox.stop()
    load_after = load()

    print(
        f"{args.messages} messages per round; sandbox in its own process, HTTPS, {args.latency:g} ms latency "
        f"per request, TCP connection and TLS handshake; Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    print(f"Before: {load_before}\nAfter:  {load_after}")
    print(f"Median of {args.rounds} rounds (best; slowest..fastest).")
    print(
        f"{'sending':<16}{f'msg/s ({args.messages} in one call)':<36}{'ms the caller waited':<30}"
        f"{'ms per 1-message call':<30}"
    )
    for name, (rate_text, wait_text, single_text) in rows.items():
        print(f"{name:<16}{rate_text:<36}{wait_text:<30}{single_text:<30}")


if __name__ == "__main__":
    main()
