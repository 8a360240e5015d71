"""Benchmark of the tracking webhook view.

Run: ``python3 scripts/bench.py webhooks [options]`` (from the repository root).

1. Per-event cost, in process, through Django's WSGI handler and the same middleware:
   our tracking view (which authenticates, normalizes and stores each event) on SQLite and
   on PostgreSQL, beside django-anymail's Postmark tracking view (which authenticates,
   normalizes and stores nothing). Each figure is the best of several rounds.
2. Load runs: gunicorn (2 workers; gthread with 4 threads each, or ``--worker-class gthread sync``) on
   PostgreSQL, each on a fresh database, with two clients. ``python``: 20,000 Delivery webhooks of which
   half are repeats, posted over loopback by 16 client threads with ``requests`` sessions; checks that
   there is no error and exactly 10,000 events stored. ``wrk`` (C, Debian's package; skipped with the
   reason when it is missing): 15 s, 16 connections, every body posted twice in a row (the repeat
   usually at the same moment on another connection); checks that there is no error and that the events
   stored are half the requests, give or take those in flight when wrk stops. The client's own CPU
   shares the machine with the server: wrk spends far less of it than the Python client.

PostgreSQL: 127.0.0.1:5432, user postgres, trust auth (``BENCH_PG`` overrides the URL). The
script creates and drops its own databases (named after its process id, so that two runs at once
do not drop each other's). Options: ``--events N`` (per round, part 1),
``--load-events N`` (distinct events, python client), ``--skip-load``, ``--skip-micro``,
``--worker-class``, ``--workers``, ``--threads``, ``--client python wrk``, ``--wrk-seconds``,
``--wrk-connections``, ``--log off on linked`` (the load runs' sent-message log; ``on`` by default),
``--code PATH`` (benchmark another checkout's postmark_admin with this harness,
for before/after figures in one run: ``git worktree add ../before <commit>``).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")
USER, PASSWORD = "bench", "bench-password"
AUTH = "Basic " + __import__("base64").b64encode(f"{USER}:{PASSWORD}".encode()).decode()


# -- Django, configured by the child processes and by gunicorn --------------------------------------


def configure(database_url: str) -> None:
    """Minimal settings: both webhook apps, the same middleware for both views."""
    import django
    import environ
    from django.conf import settings

    sys.path.insert(0, str(ROOT))
    if os.environ.get("BENCH_CODE"):
        sys.path.insert(0, os.environ["BENCH_CODE"])  # --code: another checkout's postmark_admin
    database = {**environ.Env.db_url_config(database_url), "CONN_MAX_AGE": None}
    if os.environ.get("BENCH_SYNC_OFF"):
        # Bench only: shows what the durable commit (WAL flush) costs. Never do this in production:
        # Postmark does not resend an event it got a 200 for.
        database["OPTIONS"] = {"options": "-c synchronous_commit=off"}
    if os.environ.get("BENCH_PREPARED"):
        # A site's choice (Django's server_side_binding and psycopg's prepare_threshold): psycopg then
        # prepares the view's INSERT, which is the same text every time. Not for pgbouncer's transaction
        # pooling before pgbouncer 1.21.
        database["OPTIONS"] = {"server_side_binding": True, "prepare_threshold": 5}
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "solo",
            "anymail",
            "postmark_admin",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
        ],
        ROOT_URLCONF=__name__,
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        POSTMARK_WEBHOOK_AUTHORIZATION=f"{USER}:{PASSWORD}",
        ANYMAIL={"WEBHOOK_SECRET": f"{USER}:{PASSWORD}"},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        LOGGING={"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}},
        # --log: the load runs' sent-message log (on by default, as a site gets it); unset elsewhere.
        **(
            {"POSTMARK_LOG_MESSAGES": os.environ["BENCH_LOG"] != "off"} if os.environ.get("BENCH_LOG") else {}
        ),
    )
    django.setup()


def __getattr__(name: str) -> Any:
    # The URLconf is built on first use, after configure(): importing this module stays free.
    if name == "urlpatterns":
        from anymail.webhooks.postmark import PostmarkTrackingWebhookView
        from django.http import HttpResponse
        from django.urls import include, path
        from django.views.decorators.csrf import csrf_exempt

        return [
            # Django's own floor: the same handler and middleware, a view that reads nothing and stores nothing.
            path("bench/empty/", csrf_exempt(lambda request: HttpResponse(status=200))),
            path("postmark/", include("postmark_admin.urls")),
            path("anymail/postmark/tracking/", PostmarkTrackingWebhookView.as_view()),
        ]
    raise AttributeError(name)


def wsgi_app() -> Any:
    """gunicorn's app factory: ``gunicorn --chdir bench 'webhooks:wsgi_app()'``."""
    configure(os.environ["BENCH_DATABASE_URL"])
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


def delivery(index: int) -> bytes:
    return json.dumps(
        {
            "RecordType": "Delivery",
            "ServerID": 23,
            "MessageStream": "outbound",
            "MessageID": f"{index:08d}-6105-42a2-a16a-77a8eac79483",
            "Recipient": f"user{index}@example.com",
            "Tag": "welcome-email",
            "DeliveredAt": "2019-11-05T16:33:54.9070259Z",
            "Details": "smtp;250 2.0.0 OK",
            "Metadata": {"customer": str(index)},
        }
    ).encode()


# -- part 1: in-process per-event cost -----------------------------------------------------------------


def _environ(path: str, body: bytes) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": str(len(body)),
        "HTTP_AUTHORIZATION": AUTH,
        "wsgi.input": io.BytesIO(body),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "wsgi.version": (1, 0),
    }


def _timed(step: Any, items: Any) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) per item."""
    count = len(items)
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        step(item)
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


def _commit_floor(connection: Any, count: int, rounds: int) -> dict[str, list[float]]:
    """A bare one-column INSERT, committed, through the same Django connection: the database's floor."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_floor (id bigserial PRIMARY KEY)")

    def insert(_: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor DEFAULT VALUES")

    floor: dict[str, list[float]] = {"floor": [], "floor_nosync": []}
    for _ in range(rounds):
        floor["floor"].append(_timed(insert, range(count))[0])
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = off")
            floor["floor_nosync"].append(_timed(insert, range(count))[0])
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit = on")
    return floor


def _explain(connection: Any) -> str:
    """EXPLAIN (ANALYZE, BUFFERS, WAL) of the view's INSERT for one new Delivery, rolled back."""
    from datetime import UTC, datetime

    from django.db import transaction

    from postmark_admin.webhooks import storage
    from postmark_admin.webhooks.body import parse_body
    from postmark_admin.webhooks.events import normalize

    normalized = normalize(parse_body(delivery(10**8)))
    sql, parameters = storage.insert_statement(normalized, datetime.now(UTC), connection)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + sql, parameters)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        transaction.set_rollback(True)
    return plan


def _diagnostics(run: Any, connection: Any, rounds: int) -> dict[str, list[float]]:
    """Our view with its INSERT replaced: by nothing (the Python cost), then by ``SELECT 1`` (one round trip)."""
    from postmark_admin.webhooks import views
    from postmark_admin.webhooks.storage import Inserted

    def select_one(normalized: Any, using: str | None = None) -> Inserted:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return Inserted(None, None, connection.alias)  # type: ignore[arg-type]

    real = views.insert_event
    found: dict[str, list[float]] = {"no_storage": [], "select_one": []}
    try:
        for round_number in range(rounds):
            views.insert_event = lambda normalized, using=None: Inserted(None, None, connection.alias)  # type: ignore[assignment,arg-type]
            found["no_storage"].append(run("/postmark/tracking/", 10**8 + round_number * 10**5)[0])
            views.insert_event = select_one  # type: ignore[assignment]
            found["select_one"].append(run("/postmark/tracking/", 10**8 + round_number * 10**5)[0])
    finally:
        views.insert_event = real
    return found


def child_micro(database_url: str, events: int, rounds: int) -> None:
    configure(database_url)
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    from postmark_admin.models import WebhookEvent

    call_command("migrate", verbosity=0)
    handler = get_wsgi_application()
    statuses: list[str] = []

    def start_response(status: str, headers: Any) -> None:
        statuses.append(status)

    def request(environ: dict[str, Any]) -> None:
        for _ in handler(environ, start_response):
            pass

    def run(path: str, first: int) -> tuple[float, float]:
        # The same requests for both views: distinct Delivery bodies, built before the clock starts.
        environs = [_environ(path, delivery(first + i)) for i in range(events)]
        statuses.clear()
        cost = _timed(request, environs)
        bad = [s for s in statuses if not s.startswith("200")]
        if bad:
            raise SystemExit(f"{path}: {len(bad)} non-200 answers, e.g. {bad[0]}")
        return cost

    views = {"ours": "/postmark/tracking/", "anymail": "/anymail/postmark/tracking/"}
    for path in views.values():  # warm-up: connections, URL resolver, settings cache, code paths
        run(path, 10**7)
    results: dict[str, Any] = {f"{key}{kind}": [] for key in views for kind in ("", "_cpu")}
    for round_number in range(rounds):
        # Alternate which view goes first, so that neither always follows the other's garbage.
        order = list(views.items()) if round_number % 2 == 0 else list(views.items())[::-1]
        for key, path in order:
            wall, cpu = run(path, (round_number + 1) * events)
            results[key].append(wall)
            results[f"{key}_cpu"].append(cpu)
    stored = WebhookEvent.objects.count()
    expected = events * (rounds + 1)
    if stored != expected:
        raise SystemExit(f"stored {stored} events, expected {expected}")
    if connection.vendor == "postgresql":
        results.update(_diagnostics(run, connection, rounds))
    results.update(_commit_floor(connection, events, rounds))
    if connection.vendor == "postgresql":
        results["explain"] = _explain(connection)
    print(json.dumps(results))


# -- part 1b: instructions per event (callgrind), which the machine's load does not change ------------------

_ICOUNT_WARM = int(os.environ.get("BENCH_ICOUNT_WARM", "100"))


def child_icount(database_url: str, mode: str, count: int) -> None:
    """The same warm-up in every mode, then ``count`` requests of one view (or bare INSERTs), each one
    called by ``itertools.starmap``: callgrind counts only inside its ``starmap_next`` (see
    :func:`instructions`), which nothing in a request calls."""
    import itertools

    configure(database_url)
    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    from postmark_admin.config import row_cache

    # The settings row is re-read once a second of wall time: under valgrind on a busy machine that is
    # every few requests, and the count would follow the machine's load. Kept for the run instead.
    row_cache.LOCAL_TTL = 3600.0
    handler = get_wsgi_application()
    statuses: list[str] = []

    def request(path: str, index: int) -> None:
        for _ in handler(_environ(path, delivery(index)), lambda status, headers: statuses.append(status)):
            pass

    def insert(index: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_floor DEFAULT VALUES")

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_floor (id bigserial PRIMARY KEY)")
    from django.conf import settings

    # "ours": the sent-message log off (its default is on), the view as it was before the log;
    # "unlinked": the log on, but no event's recipient is in it (mail sent before the log existed);
    # "linked": the log on and every event's recipient logged.
    settings.POSTMARK_LOG_MESSAGES = mode in ("linked", "unlinked")
    # Events of their own per mode (the modes share one database; a repeat would store nothing).
    warm, first = {"linked": (3 * 10**7, 3 * 10**8), "unlinked": (2 * 10**7, 2 * 10**8)}.get(
        mode, (10**7, 10**8)
    )
    if mode == "linked":  # the log on, every event's recipient logged: a status UPDATE per event
        seed_log([*range(warm, warm + _ICOUNT_WARM), *range(first, first + count)])
    for index in range(_ICOUNT_WARM):
        request("/postmark/tracking/", warm + index)
        request("/anymail/postmark/tracking/", 10**7 + index)
        insert(index)
    paths = {
        "ours": "/postmark/tracking/",
        "linked": "/postmark/tracking/",
        "unlinked": "/postmark/tracking/",
        "empty": "/bench/empty/",
        "anymail": "/anymail/postmark/tracking/",
    }
    if mode == "floor":
        calls = [(insert, index) for index in range(count)]
    else:
        calls = [(request, paths[mode], first + index) for index in range(count)]
    for _ in itertools.starmap(lambda step, *arguments: step(*arguments), calls):
        pass
    if any(not status.startswith("200") for status in statuses):
        raise SystemExit(f"non-200 answers: {sorted(set(statuses))}")
    if mode == "linked":
        from postmark_admin.models import SentRecipient

        moved = SentRecipient.objects.filter(status="delivered").count()
        if moved != count + _ICOUNT_WARM:
            raise SystemExit(f"linked: {moved} recipients delivered, expected {count + _ICOUNT_WARM}")


def seed_log(indices: Any) -> None:
    """Sent-message log rows for the Delivery bodies of ``indices`` (status ``sent``), and the log on:
    each of those events then links to its recipient (one status UPDATE per new event)."""
    from django.conf import settings

    from postmark_admin.models import SentMessage, SentRecipient

    indices = list(indices)
    messages = SentMessage.objects.bulk_create(
        SentMessage(message_id=f"{index:08d}-6105-42a2-a16a-77a8eac79483", sent_via="single")
        for index in indices
    )
    SentRecipient.objects.bulk_create(
        SentRecipient(
            message=message,
            address=f"user{index}@example.com",
            address_key=f"user{index}@example.com",
            status="sent",
        )
        for message, index in zip(messages, indices, strict=True)
    )
    settings.POSTMARK_LOG_MESSAGES = True


def instructions(events: int) -> dict[str, float] | str:
    """Instructions per event of this process (not PostgreSQL's), from callgrind, collected only while
    the measured requests run (``--toggle-collect=starmap_next``). A reason string when valgrind is missing."""
    import re

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        return "valgrind is not installed (Debian: apt-get install valgrind)"
    name = f"postmark_admin_bench_icount_{os.getpid()}"
    url = create_db(name)
    counts = {}
    try:
        _child("migrate", url)
        for mode in ("ours", "unlinked", "linked", "anymail", "floor"):
            result = subprocess.run(
                [
                    valgrind,
                    "--tool=callgrind",
                    "--callgrind-out-file=/dev/null",
                    "--collect-atstart=no",
                    "--toggle-collect=starmap_next",
                    sys.executable,
                    str(Path(__file__).resolve()),
                    *("--child", "icount", url, mode, str(events)),
                ],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=False,
            )
            match = re.search(r"Collected : (\d+)", result.stderr)
            if result.returncode or match is None:
                raise SystemExit(f"callgrind run {mode} failed:\n{result.stdout}\n{result.stderr[-3000:]}")
            counts[mode] = int(match.group(1)) / events
    finally:
        drop_db(name)
    return counts


# -- PostgreSQL databases ------------------------------------------------------------------------------


def _pg(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def create_db(name: str) -> str:
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg(f'CREATE DATABASE "{name}"')
    return f"{PG}/{name}"


def drop_db(name: str) -> None:
    _pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _child(*args: str, env: dict[str, str] | None = None) -> str:
    env = env or dict(os.environ)
    result = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )
    if result.returncode:
        raise SystemExit(f"child {args[0]} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def micro(database: str, events: int, rounds: int, variant: str = "") -> dict[str, Any]:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return json.loads(_child("micro", f"sqlite:///{tmp}/bench.sqlite3", str(events), str(rounds)))
    name = f"postmark_admin_bench_micro_{os.getpid()}"
    url = create_db(name)
    env = {**os.environ, **({f"BENCH_{variant.upper()}": "1"} if variant else {})}
    try:
        return json.loads(_child("micro", url, str(events), str(rounds), env=env))
    finally:
        drop_db(name)


# -- part 2: gunicorn load runs ------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def gunicorn(url: str, worker_class: str, workers: int, threads: int) -> Iterator[str]:
    """gunicorn serving the bench's URLconf on ``url``'s database; yields the tracking URL."""
    import requests

    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        *("--chdir", str(ROOT / "bench"), "--workers", str(workers), "--worker-class", worker_class),
        *(("--threads", str(threads)) if worker_class == "gthread" else ()),
        *("--bind", f"127.0.0.1:{port}", "--log-level", "warning", "--backlog", "2048"),
        "webhooks:wsgi_app()",
    ]
    server = subprocess.Popen(command, env={**os.environ, "BENCH_DATABASE_URL": url}, cwd=ROOT)
    base = f"http://127.0.0.1:{port}/postmark/tracking/"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.head(base, timeout=5).status_code == 200:
                    break
            except requests.RequestException:  # not listening yet, or the first request still loading
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def python_client(base: str, distinct: int, client_threads: int) -> dict[str, Any]:
    """``requests`` sessions on a bounded pool of threads: every delivery twice, shuffled."""
    import requests

    bodies = [delivery(i) for i in range(distinct)]
    order = list(range(distinct)) * 2
    random.Random(4).shuffle(order)  # repeats arrive at random times, some at once
    lock = threading.Lock()
    position = 0
    errors: list[str] = []

    def worker() -> None:
        nonlocal position
        with requests.Session() as session:
            session.headers.update({"Authorization": AUTH, "Content-Type": "application/json"})
            while True:
                with lock:
                    if position >= len(order):
                        return
                    index = order[position]
                    position += 1
                try:
                    response = session.post(base, data=bodies[index], timeout=30)
                    if response.status_code != 200:
                        errors.append(f"HTTP {response.status_code}")
                except requests.RequestException as error:
                    errors.append(type(error).__name__)

    threads = [threading.Thread(target=worker) for _ in range(client_threads)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "requests": len(order),
        "distinct": (distinct, distinct),
        "errors": len(errors),
        "error_sample": errors[:3],
        "seconds": time.perf_counter() - started,
    }


# The delivery() body with its index left for Lua's string.format (a body of the same size and shape).
#: The wrk script (Lua), also for running wrk by hand: see its header.
WRK_SCRIPT = Path(__file__).with_name("webhooks.lua")


def wrk_client(base: str, seconds: int, connections: int, threads: int) -> dict[str, Any] | str:
    """wrk (C, from Debian's packages) posting Delivery bodies, each twice; a reason string when absent."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return "wrk is not installed (Debian: apt-get install wrk; scripts/bench.py installs it as root)"
    result = subprocess.run(
        [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "30s",
            "-s",
            str(WRK_SCRIPT),
            base,
        ],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "WEBHOOK_AUTH": AUTH},
    )
    line = next((line for line in result.stdout.splitlines() if line.startswith("WRK_RESULT")), None)
    if result.returncode or line is None:
        raise SystemExit(f"wrk failed:\n{result.stdout}\n{result.stderr}")
    requests_, status_errors, connect, socket_errors, timeouts, elapsed, p99 = line.split()[1:]
    count = int(requests_)
    return {
        "requests": count,
        # Requests in flight when wrk stops may or may not have been stored: the bounds of the count.
        "distinct": (count // 2 - connections, count // 2 + connections + threads),
        "errors": int(status_errors) + int(timeouts),
        "error_sample": [f"{int(status_errors)} non-200, {int(timeouts)} timeouts"]
        if int(status_errors)
        else [],
        "socket_errors": f"connect {connect}, read/write {socket_errors}",
        "seconds": float(elapsed),
        "p99_ms": int(p99) / 1000,
    }


#: ``--log linked``: the log holds the messages of the first this many Delivery bodies, more than either
#: client posts (10,000 distinct from the Python client; wrk's one thread about 600 a second).
_LINKED_SEED = 30000


def load_run(client: str, worker_class: str, log: str, args: argparse.Namespace) -> dict[str, Any] | str:
    """One load run on a fresh database: the client's figures, and the number of events stored.

    ``log``: ``off``, ``on`` (no event's message is in the log: every new event also pays the
    status UPDATE after its commit that finds no recipient) or ``linked`` (the log holds every
    event's message, as when the site sent them through the backend: one statement per new event).
    """
    import psycopg

    name = f"postmark_admin_bench_load_{os.getpid()}"
    url = create_db(name)
    os.environ["BENCH_LOG"] = log
    try:
        _child("migrate", url)
        if log == "linked":
            _child("seed", url, str(_LINKED_SEED))
        with gunicorn(url, worker_class, args.workers, args.threads) as base:
            if client == "wrk":
                result = wrk_client(base, args.wrk_seconds, args.wrk_connections, args.wrk_threads)
            else:
                result = python_client(base, args.load_events, args.client_threads)
        if isinstance(result, str):
            return result
        with psycopg.connect(url) as conn:
            result["stored"] = conn.execute("SELECT count(*) FROM postmark_admin_webhookevent").fetchone()[0]
        return result
    finally:
        drop_db(name)


def report_load(client: str, worker_class: str, log: str, args: argparse.Namespace) -> bool:
    """Run and print one load run; False when it failed (an error, or a stored count out of bounds)."""
    shape = f"{args.workers} x {worker_class}" + (
        f" ({args.threads} threads)" if worker_class == "gthread" else ""
    )
    label = f"{client:<7}{log:<7}{shape:<26}"
    result = load_run(client, worker_class, log, args)
    if isinstance(result, str):
        print(f"{label}skipped: {result}")
        return True
    low, high = result["distinct"]
    expected = str(low) if low == high else f"{max(low, 0)}..{high}"
    extra = (
        f"  p99 {result['p99_ms']:.1f} ms  sockets: {result['socket_errors']}" if "p99_ms" in result else ""
    )
    print(
        f"{label}{result['requests']:>8}{result['errors']:>7}{result['stored']:>8} (expected {expected})"
        f"{result['seconds']:>7.1f} s{result['requests'] / result['seconds']:>8.0f} req/s"
        f"{result['stored'] / result['seconds']:>7.0f} stored/s{extra}"
        + (f"  {result['error_sample']}" if result["error_sample"] else "")
    )
    return not result["errors"] and low <= result["stored"] <= high


def report_micro(args: argparse.Namespace) -> None:
    """Part 1: print the per-event figures of both views on each database variant."""
    print(
        f"Per-event cost: {args.events} distinct Delivery webhooks per round and view, the same WSGI handler,"
        f" middleware and requests for both views, {args.rounds} rounds after a warm-up round."
    )
    print("Wall time per event: best, median and worst round (the spread is this machine's noise);")
    print("cpu: this process's CPU time per event in the best round (waiting for the database excluded).")
    print(f"{'view':<40}{'database':<13}{'best':>7}{'median':>8}{'worst':>8}{'cpu':>6}{'events/s':>10}")
    variants = (
        ("sqlite", "sqlite", ""),
        ("postgresql", "postgresql", ""),
        ("pg-prepared", "postgresql", "prepared"),
        ("pg-nosync", "postgresql", "sync_off"),
    )
    figures = {}
    for label, database, variant in variants:
        if label not in args.databases:
            continue
        figures[label] = result = micro(database, args.events, args.rounds, variant)
        for name, key in (
            ("postmark_admin tracking (stores)", "ours"),
            ("anymail Postmark tracking (stores none)", "anymail"),
        ):
            walls = sorted(result[key])
            cpu = min(result[f"{key}_cpu"])
            print(
                f"{name:<40}{label:<13}{walls[0] * 1e6:>7.0f}{statistics.median(walls) * 1e6:>8.0f}"
                f"{walls[-1] * 1e6:>8.0f}{cpu * 1e6:>6.0f}{1 / walls[0]:>10.0f}"
            )
        for name, key in (
            ("  diagnostic: ours, INSERT skipped", "no_storage"),
            ("  diagnostic: ours, SELECT 1 instead", "select_one"),
        ):
            if key in result and variant == "":
                walls = sorted(result[key])
                print(
                    f"{name:<40}{label:<13}{walls[0] * 1e6:>7.0f}{statistics.median(walls) * 1e6:>8.0f}"
                    f"{walls[-1] * 1e6:>8.0f}"
                )
        floor = sorted(result["floor"])
        print(
            f"{'bare one-column INSERT + commit':<40}{label:<13}{floor[0] * 1e6:>7.0f}"
            f"{statistics.median(floor) * 1e6:>8.0f}{floor[-1] * 1e6:>8.0f}"
        )
        if result.get("floor_nosync") and variant != "sync_off":
            nosync = sorted(result["floor_nosync"])
            print(
                f"{'  the same, synchronous_commit=off':<40}{label:<13}{nosync[0] * 1e6:>7.0f}"
                f"{statistics.median(nosync) * 1e6:>8.0f}{nosync[-1] * 1e6:>8.0f}"
            )
    print()
    for label, result in figures.items():
        best = min(result["ours"]) / min(result["anymail"])
        median = statistics.median(result["ours"]) / statistics.median(result["anymail"])
        floor = min(result["floor"]) / min(result["anymail"])
        print(
            f"ratio ours/anymail on {label}: {best:.2f}x (best rounds), {median:.2f}x (medians); "
            f"the bare committed INSERT alone is {floor:.2f}x anymail's whole cost"
        )
    print("pg-prepared: OPTIONS server_side_binding=True, prepare_threshold=5 (a site's choice, see docs).")
    print("pg-nosync: synchronous_commit=off, for this benchmark only: what the durable commit costs.")
    print(
        "diagnostics: our view with the INSERT skipped (its Python cost) or replaced by SELECT 1 (the cost of"
    )
    print(" any database round trip on this machine); neither stores anything.")
    print()
    if "postgresql" in figures:
        print(
            "EXPLAIN (ANALYZE, BUFFERS, WAL) of the view's INSERT (PostgreSQL, one new Delivery, rolled back):"
        )
        print(figures["postgresql"]["explain"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--load-events", type=int, default=10_000)
    parser.add_argument("--client-threads", type=int, default=16)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-micro", action="store_true", help="no per-event timings")
    parser.add_argument(
        "--databases",
        nargs="+",
        default=["sqlite", "postgresql", "pg-prepared", "pg-nosync"],
        choices=["sqlite", "postgresql", "pg-prepared", "pg-nosync"],
        help="the per-event timings' databases",
    )
    parser.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count instructions per event (valgrind)",
    )
    parser.add_argument(
        "--worker-class",
        nargs="+",
        default=["gthread"],
        choices=["gthread", "sync", "gevent"],
        help="one load run each",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4, help="per gthread worker")
    parser.add_argument("--client", nargs="+", default=["python", "wrk"], choices=["python", "wrk"])
    parser.add_argument("--wrk-seconds", type=int, default=15)
    parser.add_argument("--wrk-connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument(
        "--code",
        help="benchmark the postmark_admin of another checkout (e.g. `git worktree add` of a commit)",
    )
    parser.add_argument(
        "--log",
        nargs="+",
        default=["on"],
        choices=["off", "on", "linked"],
        help="load runs: the sent-message log off, on (no event's message logged) or on with every message logged",
    )
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "micro":
            child_micro(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "icount":
            child_icount(rest[0], rest[1], int(rest[2]))
        elif kind == "migrate":
            configure(rest[0])
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        elif kind == "seed":
            configure(rest[0])
            seed_log(range(int(rest[1])))
        return

    if args.code:
        # The children and gunicorn import postmark_admin from there (configure() puts it first).
        os.environ["BENCH_CODE"] = str(Path(args.code).resolve())
    print(f"postmark_admin from {os.environ.get('BENCH_CODE') or ROOT}")
    if not args.skip_micro:
        report_micro(args)
    if args.instructions:
        print()
        print(
            f"Instructions per event in the benchmark's process (callgrind; PostgreSQL's own work excluded),"
            f" {args.instructions} events after the same warm-up, on PostgreSQL; unlike the times above, the"
            f" load of the machine does not change them."
        )
        counts = instructions(args.instructions)
        if isinstance(counts, str):
            print(f"skipped: {counts}")
        else:
            print(f"postmark_admin tracking, log off (stores){counts['ours'] / 1e3:8.0f} k")
            print(f"  log on, no event's recipient logged    {counts['unlinked'] / 1e3:8.0f} k")
            print(f"  log on, every event linked             {counts['linked'] / 1e3:8.0f} k")
            print(f"anymail Postmark tracking (stores none)  {counts['anymail'] / 1e3:8.0f} k")
            print(f"bare one-column INSERT + commit          {counts['floor'] / 1e3:8.0f} k")
            floor = counts["anymail"] + counts["floor"]
            print(f"ours / (anymail + bare INSERT)           {counts['ours'] / floor:8.2f}x")
            print(f"unlinked / ours                          {counts['unlinked'] / counts['ours']:8.2f}x")
            print(f"linked / ours                            {counts['linked'] / counts['ours']:8.2f}x")
    if args.skip_load:
        return
    print()
    print(
        f"Load runs: gunicorn on PostgreSQL, {args.workers} workers. python: {2 * args.load_events} Delivery"
        f" webhooks ({args.load_events} distinct, each sent twice, shuffled) from {args.client_threads} threads"
        f" with requests sessions. wrk: {args.wrk_seconds} s, {args.wrk_connections} connections on"
        f" {args.wrk_threads} threads, each body twice in a row. Every run on a fresh database."
    )
    print(f"{'client':<7}{'log':<7}{'workers':<26}{'requests':>8}{'errors':>7}{'stored':>8}")
    failed = []
    for worker_class in args.worker_class:
        for log in args.log:
            for client in args.client:
                if not report_load(client, worker_class, log, args):
                    failed.append(f"{client} on {worker_class}, log {log}")
    if failed:
        raise SystemExit(f"load run FAILED: {', '.join(failed)}")


if __name__ == "__main__":
    main()
