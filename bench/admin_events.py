"""How the webhook events admin scales: 1,000 rows against 1,000,000, on SQLite and PostgreSQL.

Run it from the repository root::

    python3 scripts/bench.py admin                             # SQLite, then PostgreSQL
    python3 scripts/bench.py admin --only sqlite --rows 1000 100000

For each database it fills the table (one INSERT ... SELECT over a generated series), then
times three admin pages through Django's test client: the changelist, a filter by event type and
a search by recipient (median of several runs, after a warm-up), and prints the query plan
(EXPLAIN) of the slowest queries of each page at the largest size. PostgreSQL is read from
``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432/postgres``); the script creates
and drops its own database there (``BENCH_ADMIN_DB``, default ``postmark_admin_bench``). Each database runs in a child process, because Django's
settings can be configured once per process.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("BENCH_ADMIN_DB", "postmark_admin_bench")
DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432/postgres"
PAGES = [
    ("changelist", {}),
    ("filter event_type=bounced", {"event_type__exact": "bounced"}),
    ("search recipient", {"q": "user7@example.com"}),
]
RUNS = 7

#: Where (row number x -> values) the generated rows come from; the same for both databases.
EVENT_TYPES = [
    "delivered",
    "delivered",
    "delivered",
    "opened",
    "clicked",
    "bounced",
    "complained",
    "unsubscribed",
]
RECORD_TYPES = [
    "Delivery",
    "Delivery",
    "Delivery",
    "Open",
    "Click",
    "Bounce",
    "SpamComplaint",
    "SubscriptionChange",
]
#: The rows cover the last 90 days, newest last, whatever their number.
SPAN_SECONDS = 90 * 24 * 3600


def _case(values: list[str], expression: str) -> str:
    branches = " ".join(f"WHEN {index} THEN '{value}'" for index, value in enumerate(values))
    return f"CASE {expression} % {len(values)} {branches} END"


def fill_sql(vendor: str, start: int, stop: int, total: int) -> str:
    """One INSERT ... SELECT adding rows ``start`` to ``stop - 1`` of ``total`` (received_at spread evenly)."""
    columns = (
        "dedupe_key, event_type, record_type, reject_reason, recipient, message_id, message_stream, tag, "
        "occurred_at, received_at, bounce_id, metadata, description, mta_response, user_agent, click_url, payload"
    )
    step = SPAN_SECONDS / max(total, 1)
    # Every recipient has about 50 events whatever the table size, as on a real site that grows by
    # gaining recipients: a search by recipient then finds the same number of rows at every size.
    recipients = max(total // 50, 1)
    if vendor == "postgresql":
        series = f"generate_series({start}, {stop - 1}) AS s(x)"
        concat = "||"
        moment = f"now() - make_interval(secs => ({total} - x) * {step})"
        json = "'{}'::jsonb"
        payload = f"jsonb_build_object('RecordType', 'Delivery', 'Recipient', 'user' || (x % {recipients}) || '@example.com')"
    else:
        series = (
            f"(WITH RECURSIVE s(x) AS (SELECT {start} UNION ALL SELECT x + 1 FROM s WHERE x < {stop - 1}) "
            "SELECT x FROM s)"
        )
        concat = "||"
        moment = f"strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (({total} - x) * {step}) || ' seconds')"
        json = "'{}'"
        payload = f"json_object('RecordType', 'Delivery', 'Recipient', 'user' || (x % {recipients}) || '@example.com')"
    return (
        f"INSERT INTO postmark_admin_webhookevent ({columns}) SELECT "
        f"'bench-' {concat} x, {_case(EVENT_TYPES, 'x')}, {_case(RECORD_TYPES, 'x')}, '', "
        f"'user' {concat} (x % {recipients}) {concat} '@example.com', 'msg-' {concat} (x / 3), "
        f"CASE WHEN x % 10 = 0 THEN 'broadcast' ELSE 'outbound' END, 'tag-' {concat} (x % 100), "
        f"{moment}, {moment}, NULL, {json}, '', '', '', '', {payload} FROM {series}"
    )


# -- the child: one database -------------------------------------------------------------------------


def configure(database: dict) -> None:
    import django
    from django.conf import settings

    sys.path.insert(0, str(ROOT))
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS=["*"],
        USE_TZ=True,
        TIME_ZONE="UTC",
        DATABASES={"default": database},
        INSTALLED_APPS=[
            "django.contrib.admin",
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.messages",
            "django.contrib.staticfiles",
            "solo",
            "postmark_admin",
        ],
        MIDDLEWARE=[
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.contrib.messages.middleware.MessageMiddleware",
        ],
        ROOT_URLCONF="tests.urls",
        TEMPLATES=[
            {
                "BACKEND": "django.template.backends.django.DjangoTemplates",
                "APP_DIRS": True,
                "OPTIONS": {
                    "context_processors": [
                        "django.template.context_processors.request",
                        "django.contrib.auth.context_processors.auth",
                        "django.contrib.messages.context_processors.messages",
                    ]
                },
            }
        ],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        STATIC_URL="/static/",
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"],
        SILENCED_SYSTEM_CHECKS=["postmark_admin.W001"],
    )
    django.setup()


def time_pages(client, label: str) -> dict[str, tuple[float, list[dict]]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    url = reverse("admin:postmark_admin_webhookevent_changelist")
    results = {}
    for name, params in PAGES:
        response = client.get(url, params)  # warm-up: templates, the settings row, the OS cache
        assert response.status_code == 200, response.status_code
        timings = []
        for _run in range(RUNS):
            started = time.perf_counter()
            client.get(url, params)
            timings.append(time.perf_counter() - started)
        with CaptureQueriesContext(connection) as queries:
            client.get(url, params)
        results[name] = (statistics.median(timings), list(queries.captured_queries))
        print(
            f"  {label:>10} rows  {name:<28} {statistics.median(timings) * 1000:8.1f} ms  "
            f"({len(queries.captured_queries)} queries)",
            flush=True,
        )
    return results


def explain(queries: list[dict], vendor: str, limit: int = 3) -> None:
    from django.db import connection

    relevant = [q for q in queries if "postmark_admin_webhookevent" in q["sql"]]
    for query in sorted(relevant, key=lambda q: -float(q["time"]))[:limit]:
        print(f"    -- {float(query['time']) * 1000:.1f} ms: {query['sql'][:300]}")
        prefix = "EXPLAIN QUERY PLAN " if vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cursor:
            try:
                cursor.execute(prefix + query["sql"])
            except Exception as error:  # a query whose logged form cannot be re-run as is
                print(f"       (no plan: {type(error).__name__})")
                continue
            for row in cursor.fetchall():
                print("       " + (row[-1] if vendor == "sqlite" else row[0]))


def child(vendor: str, sizes: list[int]) -> None:
    if vendor == "sqlite":
        path = Path(tempfile.gettempdir()) / f"postmark-admin-bench-{os.getpid()}.sqlite3"
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
        _recreate_postgres_database(url)
    configure(database)

    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    call_command("migrate", verbosity=0)
    user = User.objects.create_superuser("bench", "bench@example.com", "pw")
    client = Client()
    client.force_login(user)
    print(f"{connection.vendor} ({connection.Database.__name__} {_server_version(connection)})", flush=True)

    figures: dict[int, dict[str, tuple[float, list[dict]]]] = {}
    filled = 0
    for size in sizes:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # The row numbers restart for each size so that every size covers the same 90 days.
            cursor.execute("DELETE FROM postmark_admin_webhookevent")
            chunk = 250_000
            for start in range(1, size + 1, chunk):
                cursor.execute(fill_sql(connection.vendor, start, min(start + chunk, size + 1), size))
            cursor.execute("ANALYZE")
        filled = size
        print(f"  filled {filled:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        figures[size] = time_pages(client, f"{size:,}")

    smallest, largest = sizes[0], sizes[-1]
    print(f"  ratio {largest:,} / {smallest:,} rows:")
    for name, _params in PAGES:
        ratio = figures[largest][name][0] / figures[smallest][name][0]
        print(f"    {name:<28} x{ratio:.2f}")
    print(f"  query plans at {largest:,} rows (slowest queries on the events table):")
    for name, _params in PAGES:
        print(f"  [{name}]")
        explain(figures[largest][name][1], connection.vendor)
    connection.close()
    if vendor == "postgres":
        _drop_postgres_database(urlsplit(os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)))
    else:
        Path(database["NAME"]).unlink(missing_ok=True)


def _server_version(connection) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        return cursor.fetchone()[0]


def _admin_connection(url):
    import psycopg

    return psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password or None,
        dbname=url.path.lstrip("/") or "postgres",
        autocommit=True,
    )


def _recreate_postgres_database(url) -> None:
    with _admin_connection(url) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB}")
        connection.execute(f"CREATE DATABASE {BENCH_DB}")


def _drop_postgres_database(url) -> None:
    with _admin_connection(url) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sqlite", "postgres"], help="run one database only")
    parser.add_argument(
        "--rows", type=int, nargs="+", default=[1_000, 1_000_000], help="table sizes, ascending"
    )
    parser.add_argument("--child", choices=["sqlite", "postgres"], help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.child, sorted(arguments.rows))
        return
    failed = False
    for vendor in [arguments.only] if arguments.only else ["sqlite", "postgres"]:
        command = [sys.executable, __file__, "--child", vendor, "--rows", *map(str, arguments.rows)]
        failed |= subprocess.run(command, cwd=ROOT, check=False).returncode != 0
        print(flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
