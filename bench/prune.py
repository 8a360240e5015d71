"""Retention at scale: the two prune commands on millions of rows, on PostgreSQL and SQLite.

Run it from the repository root::

    python3 scripts/bench.py prune                              # PostgreSQL (10M events), then SQLite (1M)
    python3 scripts/bench.py prune --only sqlite --events 200000 --messages 50000
    python3 scripts/bench.py prune --only postgresql --batch-size 5000 20000

For each database, in a child process (Django's settings are configured once per process):

1. **Events.** Fills ``postmark_admin_webhookevent`` with ``--events`` rows (one INSERT ... SELECT over a
   generated series per million; on PostgreSQL the secondary indexes are dropped for the fill and rebuilt,
   then VACUUM ANALYZE, as a table autovacuum keeps), spread over 60 days so half are older than 30 days;
   prints the table's size per row; then runs ``manage.py postmark_prune_events --older-than 30d`` (through
   ``call_command``) and prints its total time, rows/s, the longest transaction (how long its locks are
   held), the WAL it wrote and the table's size after. Meanwhile a thread inserts webhook events, one
   durable INSERT at a time, as the webhook view does: its rate and worst latency during the prune are
   printed beside the same figures measured for a few seconds before it.
2. **The message log.** Empties the tables, fills ``--messages`` sent messages (two recipients and three
   webhook events each, half older than 90 days, bodies kept 30 days), then times
   ``manage.py postmark_prune_log --older-than 90d`` the same way.

With several ``--batch-size`` values, each size gets its own fill and run (the rounds alternate between
sizes when ``--rounds`` > 1). PostgreSQL is read from ``BENCH_POSTGRES_URL`` (default
``postgres://postgres@127.0.0.1:5432/postgres``); the script creates and drops its own database
(``retention_bench``) there. SQLite's file is a temporary one, deleted after the run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from io import StringIO
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "retention_bench"
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
DAY = 24 * 3600
CHUNK = 1_000_000


def say(text: str) -> None:
    print(text, flush=True)


# -- the fills: INSERT ... SELECT over a generated series -------------------------------------------


def series(vendor: str, start: int, stop: int) -> str:
    if vendor == "postgresql":
        return f"generate_series({start}, {stop - 1}) AS s(x)"
    return (
        f"(WITH RECURSIVE s(x) AS (SELECT {start} UNION ALL SELECT x + 1 FROM s WHERE x < {stop - 1}) "
        "SELECT x FROM s)"
    )


def moment(vendor: str, seconds_ago: str) -> str:
    if vendor == "postgresql":
        return f"(now() - make_interval(secs => {seconds_ago}))"
    return f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || ({seconds_ago}) || ' seconds')"


def events_sql(vendor: str, start: int, stop: int, total: int, span_days: int, prefix: str = "e") -> str:
    """Events ``start``..``stop - 1`` of ``total``, received evenly over the last ``span_days``, oldest first."""
    step = span_days * DAY / max(total, 1)
    json = "'{}'::jsonb" if vendor == "postgresql" else "'{}'"
    build = "jsonb_build_object" if vendor == "postgresql" else "json_object"
    at = moment(vendor, f"({total} - x) * {step}")
    recipients = max(total // 50, 1)
    return (
        "INSERT INTO postmark_admin_webhookevent (dedupe_key, event_type, record_type, reject_reason, "
        "recipient, message_id, message_stream, tag, occurred_at, received_at, bounce_id, metadata, "
        "description, mta_response, user_agent, click_url, payload) SELECT "
        f"'{prefix}-' || x, CASE x % 3 WHEN 0 THEN 'delivered' WHEN 1 THEN 'opened' ELSE 'clicked' END, "
        "CASE x % 3 WHEN 0 THEN 'Delivery' WHEN 1 THEN 'Open' ELSE 'Click' END, '', "
        f"'user' || (x % {recipients}) || '@example.com', 'msg-' || (x / 3), 'outbound', "
        f"'tag-' || (x % 100), {at}, {at}, NULL, {json}, '', '', '', '', "
        f"{build}('RecordType', 'Delivery', 'MessageID', 'msg-' || (x / 3), "
        f"'Recipient', 'user' || (x % {recipients}) || '@example.com', 'Tag', 'tag-' || (x % 100)) "
        f"FROM {series(vendor, start, stop)}"
    )


def messages_sql(vendor: str, start: int, stop: int, total: int, span_days: int) -> list[str]:
    """Messages ``start``..``stop - 1`` (submitted over the last ``span_days``), two recipients and three
    events each; bodies kept 30 days after submission."""
    step = span_days * DAY / max(total, 1)
    ago = f"({total} - x) * {step}"
    at = moment(vendor, ago)
    expires = moment(vendor, f"{ago} - {30 * DAY}")
    json = "'{}'::jsonb" if vendor == "postgresql" else "'{}'"
    text = "repeat('Text body line. ', 12)" if vendor == "postgresql" else "printf('%.200c', 'x')"
    html = "repeat('<p>HTML body line.</p>', 30)" if vendor == "postgresql" else "printf('%.600c', 'h')"
    rows = series(vendor, start, stop)
    recipients = [
        "INSERT INTO postmark_admin_sentrecipient (message_id, address, address_key, kind, status, "
        f"status_at, last_event_type) SELECT 'msg-' || x, '{who}' || x || '@example.com', "
        f"'{who}' || x || '@example.com', 'to', 'delivered', {at}, 'delivered' FROM {rows}"
        for who in ("a", "b")
    ]
    events = (
        "INSERT INTO postmark_admin_webhookevent (dedupe_key, event_type, record_type, reject_reason, "
        "recipient, message_id, message_stream, tag, occurred_at, received_at, bounce_id, metadata, "
        "description, mta_response, user_agent, click_url, payload) SELECT "
        "'m-' || y, 'delivered', 'Delivery', '', 'a' || (y / 3) || '@example.com', 'msg-' || (y / 3), "
        f"'outbound', '', {at.replace('x', '(y / 3)')}, {at.replace('x', '(y / 3)')}, NULL, {json}, '', '', "
        f"'', '', {json} FROM {series(vendor, start * 3, stop * 3).replace('x', 'y')}"
    )
    message = (
        "INSERT INTO postmark_admin_sentmessage (message_id, stream, from_email, subject, tag, metadata, "
        "submitted_at, sent_via, error_code, postmark_message, text_body, html_body, bodies_expire_at) "
        f"SELECT 'msg-' || x, 'outbound', 'news@example.com', 'Newsletter ' || x, 'news', {json}, {at}, "
        f"'batch', 0, 'OK', {text}, {html}, {expires} FROM {rows}"
    )
    return [message, *recipients, events]


# -- the child: one database --------------------------------------------------------------------------


def configure(database: dict) -> None:
    import django
    from django.conf import settings

    sys.path.insert(0, str(ROOT))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        USE_TZ=True,
        TIME_ZONE="UTC",
        DATABASES={"default": database},
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "solo", "postmark_admin"],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        SILENCED_SYSTEM_CHECKS=["postmark_admin.W001"],
    )
    django.setup()


class Transactions:
    """Times every transaction on this thread's connection: from its first statement to its COMMIT's end
    (what a concurrent writer waiting on one of its row locks could wait at most)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.spans: list[float] = []
        self.started: float | None = None
        self.statements = 0

    def __call__(self, execute, sql, params, many, context):
        if self.connection.in_atomic_block and self.started is None:
            self.started = time.perf_counter()
        self.statements += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> Transactions:
        commit = self.connection.commit

        def timed_commit() -> None:
            commit()
            if self.started is not None:
                self.spans.append(time.perf_counter() - self.started)
                self.started = None

        self.connection.commit = timed_commit
        self.wrapper = self.connection.execute_wrapper(self)
        self.wrapper.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.wrapper.__exit__(*exc)
        del self.connection.commit


class Inserter(threading.Thread):
    """Inserts webhook events on its own connection, one autocommitted INSERT at a time, recording each
    one's latency, until stopped: the webhook view's write while the prune runs."""

    def __init__(self, label: str) -> None:
        super().__init__(daemon=True)
        self.label = label
        self.latencies: list[float] = []
        self.stop = threading.Event()
        self.errors = 0

    def run(self) -> None:
        from django.db import connection
        from django.utils import timezone

        from postmark_admin.models import WebhookEvent

        n = 0
        try:
            while not self.stop.is_set():
                n += 1
                started = time.perf_counter()
                try:
                    WebhookEvent.objects.create(
                        dedupe_key=f"live-{self.label}-{n}",
                        event_type="delivered",
                        record_type="Delivery",
                        message_id=f"live-{n}",
                        received_at=timezone.now(),
                        payload={"n": n},
                    )
                except Exception:  # a SQLite "database is locked" past its timeout, counted
                    self.errors += 1
                self.latencies.append(time.perf_counter() - started)
                time.sleep(0.002)  # ~ a few hundred webhooks/s, not a tight loop on 2 cores
        finally:
            connection.close()

    def summary(self, seconds: float) -> str:
        if not self.latencies:
            return "no inserts"
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (
            f"{len(ordered)} inserts ({len(ordered) / seconds:.0f}/s), median "
            f"{statistics.median(ordered) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, "
            f"max {ordered[-1] * 1000:.1f} ms, {self.errors} failed"
        )


def run_live(seconds: float, label: str) -> str:
    inserter = Inserter(label)
    inserter.start()
    time.sleep(seconds)
    inserter.stop.set()
    inserter.join()
    return inserter.summary(seconds)


def scalar(sql: str):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def execute(*statements: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


TABLES = ["postmark_admin_webhookevent", "postmark_admin_sentmessage", "postmark_admin_sentrecipient"]


def sizes(vendor: str, tables: list[str]) -> dict[str, tuple[int, int]]:
    """(rows, bytes on disk with indexes and TOAST) per table; SQLite's from the dbstat table."""
    result = {}
    for table in tables:
        rows = scalar(f"SELECT count(*) FROM {table}")
        if vendor == "postgresql":
            size = scalar(f"SELECT pg_total_relation_size('{table}')")
        else:
            size = scalar(
                "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = "
                f"'{table}' OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = '{table}')"
            )
        result[table] = (rows, size)
    return result


def print_sizes(vendor: str, tables: list[str], when: str) -> None:
    for table, (rows, size) in sizes(vendor, tables).items():
        per_row = f"{size / rows:,.0f} B/row" if rows else "-"
        say(f"    {when:<7} {table:<32} {rows:>12,} rows {size / 2**20:>10,.1f} MiB  {per_row}")


def fill(vendor: str, statements: list[str], label: str) -> None:
    from django.db import connection

    started = time.perf_counter()
    dropped: list[str] = []
    if vendor == "postgresql":
        # Secondary indexes (not those behind a constraint) are rebuilt after the fill: much faster.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = ANY(%s) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)",
                [TABLES],
            )
            indexes = cursor.fetchall()
            for name, definition in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
                dropped.append(definition)
            cursor.execute("SET synchronous_commit = off")
    for sql in statements:
        execute(sql)
    if vendor == "postgresql":
        execute("SET maintenance_work_mem = '256MB'", *dropped, "SET synchronous_commit = on")
        execute(*(f"VACUUM (ANALYZE) {table}" for table in TABLES))
    else:
        execute("ANALYZE")
    say(f"    filled {label} in {time.perf_counter() - started:.0f} s")


def prune(vendor: str, command: list[str], label: str, live_seconds: float) -> float:
    from django.core.management import call_command
    from django.db import connection

    baseline = run_live(live_seconds, f"{label}-before")
    say(f"    webhook inserts before the prune ({live_seconds:.0f} s): {baseline}")
    wal_before = scalar("SELECT pg_current_wal_lsn()") if vendor == "postgresql" else None
    inserter = Inserter(label)
    out = StringIO()
    inserter.start()
    with Transactions(connection) as transactions:
        started = time.perf_counter()
        call_command(*command, stdout=out)
        seconds = time.perf_counter() - started
    inserter.stop.set()
    inserter.join()
    say(f"    $ manage.py {' '.join(command)}")
    for line in out.getvalue().splitlines():
        say(f"      {line}")
    spans = sorted(transactions.spans)
    say(
        f"    {seconds:.1f} s end to end, {len(spans)} transactions ({transactions.statements} statements); "
        f"transaction median {statistics.median(spans) * 1000 if spans else 0:.0f} ms, "
        f"longest {spans[-1] * 1000 if spans else 0:.0f} ms"
    )
    say(f"    webhook inserts during the prune: {inserter.summary(seconds)}")
    if wal_before is not None:
        wal = scalar(f"SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '{wal_before}')")
        say(f"    WAL written during the prune: {float(wal) / 2**20:,.0f} MiB")
    return seconds


def events_round(vendor: str, total: int, batch: int, live: float) -> None:
    execute(*(f"DELETE FROM {table}" for table in TABLES))
    say(f"  events: {total:,} rows over 60 days, batch size {batch}")
    fill(
        vendor,
        [events_sql(vendor, a, min(a + CHUNK, total), total, 60) for a in range(0, total, CHUNK)],
        "events",
    )
    print_sizes(vendor, TABLES[:1], "before")
    old = scalar(
        "SELECT count(*) FROM postmark_admin_webhookevent WHERE received_at < "
        + moment(vendor, str(30 * DAY))
    )
    seconds = prune(
        vendor, ["postmark_prune_events", "--older-than", "30d", "--batch-size", str(batch)], "ev", live
    )
    say(f"    => {old:,} events pruned at {old / seconds:,.0f} rows/s")
    print_sizes(vendor, TABLES[:1], "after")


def log_round(vendor: str, total: int, batch: int, live: float) -> None:
    execute(*(f"DELETE FROM {table}" for table in reversed(TABLES)))
    say(f"  message log: {total:,} messages over 180 days (2 recipients, 3 events each), batch size {batch}")
    statements = [
        sql
        for a in range(0, total, CHUNK // 4)
        for sql in messages_sql(vendor, a, min(a + CHUNK // 4, total), total, 180)
    ]
    fill(vendor, statements, "messages")
    print_sizes(vendor, TABLES, "before")
    seconds = prune(
        vendor, ["postmark_prune_log", "--older-than", "90d", "--batch-size", str(batch)], "log", live
    )
    say(
        f"    => {total // 2:,} messages (with {total:,} recipients, {total * 3 // 2:,} events) at "
        f"{total // 2 / seconds:,.0f} messages/s"
    )
    print_sizes(vendor, TABLES, "after")


def child(vendor: str, options: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    if options.delete_receiver:
        from django.db.models.signals import post_delete

        post_delete.connect(lambda sender, **kwargs: None, weak=False)
        say("  (a post_delete receiver for every model is connected)")
    version = connection.Database.sqlite_version if vendor == "sqlite" else scalar("SHOW server_version")
    say(f"== {vendor} {version}")
    events = options.sqlite_events if vendor == "sqlite" else options.events
    messages = options.sqlite_messages if vendor == "sqlite" else options.messages
    event_batches = options.batch_size or [5000]
    log_batches = options.log_batch_size or [1000]
    for _round in range(options.rounds):
        if events:
            for batch in event_batches:
                events_round(vendor, events, batch, options.live)
        if messages:
            for batch in log_batches:
                log_round(vendor, messages, batch, options.live)
    if vendor == "postgresql":
        for setting in (
            "autovacuum",
            "autovacuum_vacuum_scale_factor",
            "autovacuum_vacuum_cost_limit",
            "max_wal_size",
            "checkpoint_timeout",
        ):
            say(f"  {setting} = {scalar(f'SHOW {setting}')}")


# -- the parent -----------------------------------------------------------------------------------------


def _admin_connection(url):
    import psycopg

    parts = urlsplit(url)
    return psycopg.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        user=parts.username or "postgres",
        password=parts.password,
        dbname=parts.path.lstrip("/") or "postgres",
        autocommit=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    parser.add_argument("--events", type=int, default=10_000_000, help="events on PostgreSQL")
    parser.add_argument("--messages", type=int, default=2_000_000, help="sent messages on PostgreSQL")
    parser.add_argument("--sqlite-events", type=int, default=1_000_000)
    parser.add_argument("--sqlite-messages", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, nargs="+", help="postmark_prune_events --batch-size (5000)")
    parser.add_argument(
        "--log-batch-size", type=int, nargs="+", help="postmark_prune_log --batch-size (1000)"
    )
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--live", type=float, default=5.0, help="seconds of webhook inserts before each prune"
    )
    parser.add_argument(
        "--delete-receiver",
        action="store_true",
        help="connect a post_delete receiver for every model first (as audit-log apps do)",
    )
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    parser.add_argument("--database", help=argparse.SUPPRESS)
    options = parser.parse_args()

    if options.child:
        if options.child == "sqlite":
            database = {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": options.database,
                "OPTIONS": {
                    "timeout": 30,
                    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                },
            }
        else:
            parts = urlsplit(options.database)
            database = {
                "ENGINE": "django.db.backends.postgresql",
                "NAME": parts.path.lstrip("/"),
                "USER": parts.username or "postgres",
                "PASSWORD": parts.password or "",
                "HOST": parts.hostname or "127.0.0.1",
                "PORT": str(parts.port or 5432),
            }
        configure(database)
        child(options.child, options)
        return

    say(f"load average at the start: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    forwarded = [arg for arg in sys.argv[1:] if arg not in ("--only", "sqlite", "postgresql")]
    failed = False
    for vendor in ["postgresql", "sqlite"]:
        if options.only and vendor != options.only:
            continue
        if vendor == "postgresql":
            url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
            with _admin_connection(url) as admin:
                admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
                admin.execute(f"CREATE DATABASE {BENCH_DB}")
            target = urlsplit(url)._replace(path=f"/{BENCH_DB}").geturl()
            try:
                command = [sys.executable, __file__, *forwarded, "--child", vendor, "--database", target]
                failed |= subprocess.run(command, cwd=ROOT, check=False).returncode != 0
            finally:
                with _admin_connection(url) as admin:
                    admin.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        else:
            with tempfile.TemporaryDirectory(prefix="retention-bench-") as directory:
                target = str(Path(directory) / "prune.sqlite3")
                command = [sys.executable, __file__, *forwarded, "--child", vendor, "--database", target]
                failed |= subprocess.run(command, cwd=ROOT, check=False).returncode != 0
    say(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
