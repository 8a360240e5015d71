"""Cost of reading the effective configuration, as the backend and the webhook views do per request.

Run: python3 scripts/bench.py config [--reads 20000] [--cache redis|locmem]

Prints microseconds (wall and this process's CPU) per ``effective_config()`` call, and SQL queries
per call. The backend makes one call per ``send_messages()``, a webhook view one per request.
* warm, nothing changed: this process's copy of the row is current; with a shared cache (Redis on
  127.0.0.1:6379, the default when it answers) that takes one cache round trip per read;
* after the process's copy was dropped (the row is decrypted again);
* after every read a save elsewhere (worst case: the row is reloaded each time).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings


def configure(cache: dict) -> None:
    settings.configure(
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "solo", "postmark_admin"],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(Path(tempfile.mkdtemp()) / "bench.sqlite3"),
            }
        },
        CACHES={"default": cache},
        USE_TZ=True,
        DEFAULT_FROM_EMAIL="bench@example.com",
    )
    django.setup()


def measure(label: str, reads: int, before_each=None) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from postmark_admin.config.effective import effective_config

    effective_config()  # warm
    with CaptureQueriesContext(connection) as queries:
        started, started_cpu = time.perf_counter(), time.process_time()
        for _ in range(reads):
            if before_each is not None:
                before_each()
            effective_config().require_server_token()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
    print(
        f"{label:<48} {elapsed / reads * 1e6:9.2f} µs/read {cpu / reads * 1e6:9.2f} µs cpu/read "
        f"{len(queries) / reads:6.3f} queries/read"
    )


def redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except Exception:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=20000)
    parser.add_argument("--cache", choices=["redis", "locmem"], help="default: redis if it answers")
    args = parser.parse_args()

    shared = redis_available() if args.cache is None else args.cache == "redis"
    cache = (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": f"bench-{uuid.uuid4().hex}",
        }
        if shared
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    )
    configure(cache)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from postmark_admin.config import row_cache as settings_cache
    from postmark_admin.models import PostmarkSettings

    PostmarkSettings.objects.create(server_token="bench-token-0123456789", message_stream="outbound")
    print(f"cache: {'Redis (shared)' if shared else 'locmem (process-local)'}")
    measure("warm read", args.reads)
    measure("read after the process copy was dropped", max(args.reads // 20, 100), settings_cache.clear)

    def save_elsewhere() -> None:
        settings_cache.publish_change()  # what a committed save in another process does

    measure("read after every save elsewhere (worst case)", max(args.reads // 20, 100), save_elsewhere)


if __name__ == "__main__":
    main()
