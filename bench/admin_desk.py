"""How the deliverability desk scales: 1,000 messages / 5,000 events against 1,000,000 / 5,000,000.

Run it from the repository root::

    python3 scripts/bench.py desk                                  # SQLite, then PostgreSQL
    python3 scripts/bench.py desk --only sqlite --messages 1000 100000

For each database it fills the sent-message log and the events table (one INSERT ... SELECT over a
generated series per table and chunk: ``generate_series`` on PostgreSQL, a recursive CTE on SQLite; the
indexes are dropped for the fill and built again after it, as a bulk load does), then times three
desk pages through Django's test client as a logged-in superuser: the message page of one message,
the recipient page of one address and the dashboard. Each page is timed cold (its first view after the
fill: for the dashboard that includes building the rollup of closed hours) and warm (the median of
several views after it). The recipient page's suppression lookup and the dashboard's statistics go to
a Postmark sandbox in its own process (the settings row points at it), the same at every size. It
prints the ratios largest/smallest and the query plan (EXPLAIN) of each page's slowest queries at the
largest size.

Every message has one recipient and five events (a delivery or a bounce, opens, a click; one in 25
bounces, one in 1,000 complains), spread over the last 90 days; every address gets about 20 messages
whatever the size, as on a site that grows by gaining recipients. PostgreSQL is read from
``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``); the script creates and
drops its own database there, named by ``BENCH_DESK_DB`` (default ``postmark_admin_bench_desk``).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from admin_events import (
    DEFAULT_POSTGRES,
    ROOT,
    _admin_connection,
    _server_version,
    configure,
)

BENCH_DB = os.environ.get("BENCH_DESK_DB", "postmark_admin_bench_desk")
EVENTS_PER_MESSAGE = 5
MESSAGES_PER_ADDRESS = 20
RUNS = 7
TOKEN = "bench-desk-token"
SPAN_SECONDS = 90 * 24 * 3600
CHUNK = 250_000
TABLES = ("postmark_admin_webhookevent", "postmark_admin_sentrecipient", "postmark_admin_sentmessage")
#: The dashboard's rollup (emptied with the rest, so the first view after a fill is cold).
ROLLUP_TABLES = ("postmark_admin_deskrollup", "postmark_admin_deskrollupperiod")


def _series(vendor: str, start: int, stop: int, name: str = "x") -> str:
    """Rows ``name`` = start .. stop - 1."""
    if vendor == "postgresql":
        return f"generate_series({start}, {stop - 1}) AS s({name})"
    return (
        f"(WITH RECURSIVE s({name}) AS (SELECT {start} UNION ALL SELECT {name} + 1 FROM s "
        f"WHERE {name} < {stop - 1}) SELECT {name} FROM s)"
    )


def _moment(vendor: str, seconds_ago: str) -> str:
    if vendor == "postgresql":
        return f"(now() - make_interval(secs => {seconds_ago}))"
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ({seconds_ago}) || ' seconds')"


def _json(vendor: str) -> str:
    return "'{}'::jsonb" if vendor == "postgresql" else "'{}'"


def fill_statements(vendor: str, start: int, stop: int, total: int) -> list[str]:
    """The INSERTs adding messages ``start`` to ``stop - 1`` of ``total``, with their recipient and events.

    Message x was submitted ``(total - x) * step`` seconds ago (step: 90 days / total), so every size
    covers the same 90 days, newest last; its events follow it by 0, 10, 20, 30 and 40 minutes.
    """
    step = SPAN_SECONDS / max(total, 1)
    addresses = max(total // MESSAGES_PER_ADDRESS, 1)
    ago = f"(({total} - x) * {step})"
    stream = "CASE WHEN x % 10 = 0 THEN 'broadcast' ELSE 'outbound' END"
    status = "CASE WHEN x % 25 = 0 THEN 'bounced' WHEN x % 1000 = 7 THEN 'complained' ELSE 'clicked' END"
    message = (
        "INSERT INTO postmark_admin_sentmessage (message_id, stream, from_email, subject, tag, metadata, "
        "submitted_at, sent_via, error_code, postmark_message, text_body, html_body, bodies_expire_at) "
        f"SELECT 'msg-' || x, {stream}, 'shop@example.com', 'Your order ' || x, 'tag-' || (x % 100), "
        f"{_json(vendor)}, {_moment(vendor, ago)}, 'single', 0, 'OK', '', '', NULL "
        f"FROM {_series(vendor, start, stop)}"
    )
    recipient = (
        "INSERT INTO postmark_admin_sentrecipient (message_id, address, address_key, kind, status, "
        "status_at, last_event_type) "
        f"SELECT 'msg-' || x, 'User' || (x % {addresses}) || '@Example.com', "
        f"'user' || (x % {addresses}) || '@example.com', 'to', {status}, {_moment(vendor, ago)}, {status} "
        f"FROM {_series(vendor, start, stop)}"
    )
    n = EVENTS_PER_MESSAGE
    # Event e is the (e % 5)-th event of message e / 5 + 1.
    x, j = f"(e / {n} + 1)", f"(e % {n})"
    event_type = (
        f"CASE WHEN {j} = 0 THEN CASE WHEN {x} % 25 = 0 THEN 'bounced' ELSE 'delivered' END "
        f"WHEN {j} = 1 THEN CASE WHEN {x} % 25 = 0 THEN 'bounced' ELSE 'opened' END "
        f"WHEN {j} = 3 THEN 'clicked' "
        f"WHEN {j} = 4 AND {x} % 1000 = 7 THEN 'complained' ELSE 'opened' END"
    )
    record_type = (
        f"CASE WHEN {j} = 0 THEN CASE WHEN {x} % 25 = 0 THEN 'Bounce' ELSE 'Delivery' END "
        f"WHEN {j} = 1 THEN CASE WHEN {x} % 25 = 0 THEN 'SubscriptionChange' ELSE 'Open' END "
        f"WHEN {j} = 3 THEN 'Click' "
        f"WHEN {j} = 4 AND {x} % 1000 = 7 THEN 'SpamComplaint' ELSE 'Open' END"
    )
    event_ago = f"(({total} - {x}) * {step} - {j} * 600)"
    moment = _moment(vendor, f"CASE WHEN {event_ago} > 0 THEN {event_ago} ELSE 0 END")
    series = _series(vendor, (start - 1) * n, (stop - 1) * n, "e")
    event = (
        "INSERT INTO postmark_admin_webhookevent (dedupe_key, event_type, record_type, reject_reason, "
        "recipient, message_id, message_stream, tag, occurred_at, received_at, bounce_id, metadata, "
        "description, mta_response, user_agent, click_url, payload) "
        f"SELECT 'bench-' || e, {event_type}, {record_type}, '', "
        f"'user' || ({x} % {addresses}) || '@example.com', 'msg-' || {x}, "
        f"CASE WHEN {x} % 10 = 0 THEN 'broadcast' ELSE 'outbound' END, 'tag-' || ({x} % 100), "
        f"{moment}, {moment}, NULL, {_json(vendor)}, '', '', '', "
        f"CASE WHEN {j} = 3 THEN 'https://example.com/orders/' || {x} ELSE '' END, {_json(vendor)} "
        f"FROM {series}"
    )
    return [message, recipient, event]


# -- the child: one database -------------------------------------------------------------------------


class Sandbox:
    """``python -m postmark_admin.sandbox`` (plain HTTP on loopback) in its own process."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "postmark_admin.sandbox", "--token", TOKEN],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        banner = self.process.stdout.readline()
        found = re.search(r"(http://\S+/)", banner)
        if not found:
            self.stop()
            raise SystemExit(f"the sandbox did not start as expected: {banner!r}")
        self.url = found.group(1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _indexes() -> list[tuple[type, object]]:
    """The indexes (and, on PostgreSQL, unique constraints) a bulk fill drops and builds again.

    Not ``pm_sent_message_id``: the recipients' foreign key needs it. SQLite keeps its unique
    constraints, which are part of its CREATE TABLE.
    """
    from django.db import connection

    from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent

    found: list[tuple[type, object]] = []
    for model in (SentMessage, SentRecipient, WebhookEvent):
        found += [(model, index) for index in model._meta.indexes]
        if connection.vendor == "postgresql":
            found += [(model, c) for c in model._meta.constraints if c.name != "pm_sent_message_id"]
    return found


def fill(size: int) -> float:
    """Empty the desk's tables, fill ``size`` messages, rebuild the indexes; the seconds it took.

    The indexes go by plain SQL: Django's SQLite schema editor would copy the whole table to drop or
    add a constraint.
    """
    from django.db import connection, models

    started = time.perf_counter()
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        for table in (*TABLES, *ROLLUP_TABLES):
            if table in tables:
                cursor.execute(f"DELETE FROM {table}")
        for model, item in _indexes():
            if isinstance(item, models.Index):
                cursor.execute(f"DROP INDEX {item.name}")
            else:
                cursor.execute(f"ALTER TABLE {model._meta.db_table} DROP CONSTRAINT {item.name}")
        for start in range(1, size + 1, CHUNK):
            for statement in fill_statements(connection.vendor, start, min(start + CHUNK, size + 1), size):
                cursor.execute(statement)
    with connection.schema_editor() as editor:
        for model, item in _indexes():
            editor.execute(item.create_sql(model, editor))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def time_page(client, url: str, params: dict) -> tuple[float, float, list[dict], int]:
    """(cold seconds, warm median seconds, the queries of one warm view, their number)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    started = time.perf_counter()
    response = client.get(url, params)
    cold = time.perf_counter() - started
    assert response.status_code == 200, (url, response.status_code)
    client.get(url, params)  # warm-up after the first view
    timings = []
    for _run in range(RUNS):
        started = time.perf_counter()
        client.get(url, params)
        timings.append(time.perf_counter() - started)
    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    return cold, statistics.median(timings), list(queries.captured_queries), len(queries.captured_queries)


def pages(size: int) -> list[tuple[str, str, dict]]:
    from django.urls import reverse

    from postmark_admin.models import SentMessage

    message = SentMessage.objects.get(message_id=f"msg-{size // 2}")
    return [
        ("message page", reverse("admin:postmark_admin_sentmessage_change", args=[message.pk]), {}),
        (
            "recipient page",
            reverse("admin:postmark_admin_sentmessage_recipient"),
            {"address": "User7@example.com"},
        ),
        ("dashboard", reverse("admin:postmark_admin_sentmessage_dashboard"), {}),
    ]


def explain(queries: list[dict], vendor: str, limit: int = 2) -> None:
    from django.db import connection

    relevant = [q for q in queries if "postmark_admin_" in q["sql"] and "solo" not in q["sql"]]
    for query in sorted(relevant, key=lambda q: -float(q["time"]))[:limit]:
        print(f"    -- {float(query['time']) * 1000:.1f} ms: {query['sql'][:400]}")
        prefix = "EXPLAIN QUERY PLAN " if vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cursor:
            try:
                cursor.execute(prefix + query["sql"])
            except Exception as error:  # a query whose logged form cannot be re-run as is
                print(f"       (no plan: {type(error).__name__})")
                continue
            for row in cursor.fetchall():
                print("       " + str(row[-1] if vendor == "sqlite" else row[0]))


def child(vendor: str, sizes: list[int]) -> None:
    if vendor == "sqlite":
        path = Path(tempfile.gettempdir()) / f"postmark-admin-bench-desk-{os.getpid()}.sqlite3"
        path.unlink(missing_ok=True)
        database = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(path)}
    else:
        url = urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))
        database = {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": BENCH_DB,
            "USER": url.username or "postgres",
            "PASSWORD": url.password or "",
            "HOST": url.hostname or "127.0.0.1",
            "PORT": url.port or 5432,
        }
        with _admin_connection(url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
            admin.execute(f"CREATE DATABASE {BENCH_DB}")
    configure(database)

    from django.contrib.auth.models import User
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from postmark_admin.models import PostmarkSettings

    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", "bench@example.com", "pw")
    client = Client()
    client.force_login(user)
    sandbox = Sandbox()
    row = PostmarkSettings.get_solo()
    row.server_token = TOKEN
    row.api_url = sandbox.url
    row.save()
    load = os.getloadavg()
    print(
        f"{connection.vendor} ({connection.Database.__name__} {_server_version(connection)}), "
        f"sandbox at {sandbox.url}, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        flush=True,
    )
    figures: dict[int, dict[str, tuple[float, float, list[dict], int]]] = {}
    try:
        for size in sizes:
            seconds = fill(size)
            print(
                f"  filled {size:,} messages, {size * EVENTS_PER_MESSAGE:,} events in {seconds:.1f} s",
                flush=True,
            )
            cache.clear()  # Postmark's statistics are fetched again on the first view, at every size
            figures[size] = {}
            for name, url, params in pages(size):
                cold, warm, queries, count = time_page(client, url, params)
                figures[size][name] = (cold, warm, queries, count)
                print(
                    f"  {size:>10,} messages  {name:<15} cold {cold * 1000:8.1f} ms   warm {warm * 1000:8.1f} ms"
                    f"  ({count} queries)",
                    flush=True,
                )
        smallest, largest = sizes[0], sizes[-1]
        print(f"  ratio {largest:,} / {smallest:,} messages (target: warm x1.5 at most):")
        for name in figures[largest]:
            small, large = figures[smallest][name], figures[largest][name]
            print(f"    {name:<15} cold x{large[0] / small[0]:.2f}   warm x{large[1] / small[1]:.2f}")
        print(f"  query plans at {largest:,} messages (a warm view's slowest queries):")
        for name in figures[largest]:
            print(f"  [{name}]")
            explain(figures[largest][name][2], connection.vendor)
    finally:
        sandbox.stop()
        connection.close()
        if vendor == "postgres":
            with _admin_connection(urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES))) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        else:
            Path(database["NAME"]).unlink(missing_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    parser.add_argument(
        "--messages",
        type=int,
        nargs="+",
        default=[1_000, 1_000_000],
        help=f"log sizes in messages, ascending ({EVENTS_PER_MESSAGE} events each)",
    )
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, sorted(arguments.messages))
        return
    failed = False
    for vendor in [arguments.only] if arguments.only else ["sqlite", "postgres"]:
        command = [sys.executable, __file__, "--child", vendor, "--messages", *map(str, arguments.messages)]
        failed |= subprocess.run(command, cwd=ROOT, check=False).returncode != 0
        print(flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
