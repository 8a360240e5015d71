"""Benchmark of the tracking webhook view.

Run: ``/work/venv311/bin/python bench/webhooks.py`` (from the repository root).

1. Per-event cost, in process, through Django's WSGI handler and the same middleware:
   our tracking view (which authenticates, normalizes and stores each event) on SQLite and
   on PostgreSQL, beside django-anymail's Postmark tracking view (which authenticates,
   normalizes and stores nothing). Each figure is the best of several rounds.
2. Load run: gunicorn (2 workers, gthread) on PostgreSQL, 20,000 Delivery webhooks of which
   half are repeats, posted over loopback by a bounded pool of client threads with
   ``requests`` sessions; checks that there is no error and exactly 10,000 events stored.

PostgreSQL: 127.0.0.1:5432, user postgres, trust auth (``BENCH_PG`` overrides the URL). The
script creates and drops its own databases. Options: ``--events N`` (per round, part 1),
``--load-events N`` (distinct events, part 2), ``--skip-load``.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
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
    database = {**environ.Env.db_url_config(database_url), "CONN_MAX_AGE": None}
    if os.environ.get("BENCH_SYNC_OFF"):
        # Bench only: shows what the durable commit (WAL flush) costs. Never do this in production:
        # Postmark does not resend an event it got a 200 for.
        database["OPTIONS"] = {"options": "-c synchronous_commit=off"}
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
    )
    django.setup()


def __getattr__(name: str) -> Any:
    # The URLconf is built on first use, after configure(): importing this module stays free.
    if name == "urlpatterns":
        from anymail.webhooks.postmark import PostmarkTrackingWebhookView
        from django.urls import include, path

        return [
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


def child_micro(database_url: str, events: int, rounds: int) -> None:
    configure(database_url)
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application

    from postmark_admin.models import WebhookEvent

    call_command("migrate", verbosity=0)
    handler = get_wsgi_application()
    statuses: list[str] = []

    def start_response(status: str, headers: Any) -> None:
        statuses.append(status)

    def run(path: str, first: int) -> float:
        bodies = [delivery(first + i) for i in range(events)]
        environs = [_environ(path, body) for body in bodies]
        statuses.clear()
        started = time.perf_counter()
        for environ in environs:
            for _ in handler(environ, start_response):
                pass
        elapsed = time.perf_counter() - started
        bad = [s for s in statuses if not s.startswith("200")]
        if bad:
            raise SystemExit(f"{path}: {len(bad)} non-200 answers, e.g. {bad[0]}")
        return elapsed / events

    results: dict[str, float] = {"ours": float("inf"), "anymail": float("inf")}
    run("/postmark/tracking/", 10**7)  # warm-up: connections, URL resolver, settings cache
    run("/anymail/postmark/tracking/", 10**7)
    for round_number in range(rounds):
        results["ours"] = min(results["ours"], run("/postmark/tracking/", round_number * events))
        results["anymail"] = min(
            results["anymail"], run("/anymail/postmark/tracking/", round_number * events)
        )
    stored = WebhookEvent.objects.count()
    expected = events * (rounds + 1)
    if stored != expected:
        raise SystemExit(f"stored {stored} events, expected {expected}")
    print(json.dumps(results))


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


def micro(database: str, events: int, rounds: int, sync_off: bool = False) -> dict[str, float]:
    if database == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            return json.loads(_child("micro", f"sqlite:///{tmp}/bench.sqlite3", str(events), str(rounds)))
    url = create_db("postmark_admin_bench_micro")
    env = {**os.environ, **({"BENCH_SYNC_OFF": "1"} if sync_off else {})}
    try:
        return json.loads(_child("micro", url, str(events), str(rounds), env=env))
    finally:
        drop_db("postmark_admin_bench_micro")


# -- part 2: gunicorn load run --------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def load_run(distinct: int, client_threads: int) -> dict[str, Any]:
    import psycopg
    import requests

    name = "postmark_admin_bench_load"
    url = create_db(name)
    env = {**os.environ, "BENCH_DATABASE_URL": url}
    _child("migrate", url, env=env)
    port = _free_port()
    gunicorn = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("gunicorn")),
            "--chdir",
            str(ROOT / "bench"),
            "--workers",
            "2",
            "--worker-class",
            "gthread",
            "--threads",
            "4",
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "webhooks:wsgi_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    base = f"http://127.0.0.1:{port}/postmark/tracking/"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.head(base, timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or gunicorn.poll() is not None:
                raise SystemExit("gunicorn did not start")
            time.sleep(0.2)
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
        elapsed = time.perf_counter() - started
        with psycopg.connect(url) as conn:
            stored = conn.execute("SELECT count(*) FROM postmark_admin_webhookevent").fetchone()[0]
        return {
            "requests": len(order),
            "distinct": distinct,
            "errors": len(errors),
            "error_sample": errors[:3],
            "stored": stored,
            "seconds": elapsed,
            "client_threads": client_threads,
        }
    finally:
        gunicorn.terminate()
        gunicorn.wait(timeout=30)
        drop_db(name)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--load-events", type=int, default=10_000)
    parser.add_argument("--client-threads", type=int, default=16)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "micro":
            child_micro(rest[0], int(rest[1]), int(rest[2]))
        elif kind == "migrate":
            configure(rest[0])
            from django.core.management import call_command

            call_command("migrate", verbosity=0)
        return

    print(f"Per-event cost, {args.events} distinct Delivery webhooks per round, best of {args.rounds} rounds")
    print(f"{'view':<44}{'database':<12}{'us/event':>10}{'events/s':>10}")
    figures = {}
    for database in ("sqlite", "postgresql", "pg-nosync"):
        figures[database] = result = micro(
            database.replace("pg-nosync", "postgresql"), args.events, args.rounds, database == "pg-nosync"
        )
        for label, key in (
            ("postmark_admin tracking (stores)", "ours"),
            ("anymail Postmark tracking (no storage)", "anymail"),
        ):
            cost = result[key]
            print(f"{label:<44}{database:<12}{cost * 1e6:>10.0f}{1 / cost:>10.0f}")
    for database, result in figures.items():
        print(f"ratio ours/anymail on {database}: {result['ours'] / result['anymail']:.2f}x")
    print("(pg-nosync: PostgreSQL with synchronous_commit=off, for this benchmark only: the difference to")
    print(" 'postgresql' is the cost of flushing each event durably before answering Postmark.)")

    if args.skip_load:
        return
    print()
    print(
        f"Load run: gunicorn 2 workers (gthread, 4 threads each) on PostgreSQL, {2 * args.load_events} "
        f"deliveries ({args.load_events} distinct, each sent twice, shuffled), {args.client_threads} client threads"
    )
    result = load_run(args.load_events, args.client_threads)
    print(
        f"requests {result['requests']}  errors {result['errors']} {result['error_sample'] or ''} "
        f"stored {result['stored']} (expected {result['distinct']})  "
        f"{result['seconds']:.1f} s  {result['requests'] / result['seconds']:.0f} requests/s  "
        f"{result['stored'] / result['seconds']:.0f} stored events/s"
    )
    if result["errors"] or result["stored"] != result["distinct"]:
        raise SystemExit("load run FAILED")


if __name__ == "__main__":
    main()
