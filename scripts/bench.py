#!/usr/bin/env python3
"""Run a benchmark in its own virtualenv, with the services it needs.

    python3 scripts/bench.py send                  # sending: postmark_admin vs django-anymail vs postmarker
    python3 scripts/bench.py webhooks              # the tracking view, then gunicorn load runs (PostgreSQL, wrk)
    python3 scripts/bench.py admin --only sqlite   # the events changelist at 1,000 and 1,000,000 rows
    python3 scripts/bench.py desk --only sqlite    # the desk's pages at 1,000 and 1,000,000 messages
    python3 scripts/bench.py config                # one effective-configuration read (Redis if it runs)
    python3 scripts/bench.py queued                # 1 and 2 RQ workers beside in-process sending (Redis)
    python3 scripts/bench.py prune                 # the prune commands on 10M events / 2M messages (PostgreSQL)
    python3 scripts/bench.py send --messages 200   # anything after the name goes to bench/<name>.py
    python3 scripts/bench.py send --help           # each benchmark's options

The virtualenv is .venv/bench-pyX.Y, with the dev, bench and rq extras (django-anymail, postmarker,
django-tasks-rq).
Each benchmark starts its own sandbox, servers and databases. PostgreSQL (webhooks, admin, desk, prune) is
expected on 127.0.0.1:5432 as user postgres; Redis (config, queued) on 127.0.0.1:6379. When one is not running
and this machine has it installed (Debian's postgresql or redis-server; PostgreSQL needs root), it is started
for the run and stopped after it. Without PostgreSQL, ``admin --only sqlite``, ``desk --only sqlite`` and
``prune --only sqlite`` still run.
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import DJANGO_SERIES, ROOT, ensure_venv, run

BENCHMARKS = {
    "send": "bench/send.py",
    "webhooks": "bench/webhooks.py",
    "admin": "bench/admin_events.py",
    "desk": "bench/admin_desk.py",
    "config": "bench/config.py",
    "queued": "bench/queued.py",
    "prune": "bench/prune.py",
}


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(check: Callable[[], bool], seconds: float = 30) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.5)
    return False


@contextmanager
def postgres() -> Iterator[None]:
    """PostgreSQL on 127.0.0.1:5432 for the run: the running one, or Debian's cluster started for it."""
    if listening(5432):
        yield
        return
    clusters = sorted(Path("/etc/postgresql").glob("*/main")) if Path("/etc/postgresql").is_dir() else []
    if not (clusters and shutil.which("pg_ctlcluster") and os.geteuid() == 0):
        sys.exit(
            "scripts/bench.py: this benchmark needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth), "
            "and none runs or can be started here (Debian: apt-get install postgresql; run as root). "
            "`python3 scripts/bench.py admin --only sqlite` needs none."
        )
    version = clusters[-1].parent.name
    command = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main"]
    say(f"starting PostgreSQL {version} for the run")
    subprocess.run([*command, "start"], check=True)
    try:
        if not wait_until(lambda: listening(5432)):
            sys.exit("scripts/bench.py: PostgreSQL did not start listening on 127.0.0.1:5432")
        yield
    finally:
        say(f"stopping PostgreSQL {version}")
        subprocess.run([*command, "stop"], check=False)


@contextmanager
def redis() -> Iterator[None]:
    """Redis on 127.0.0.1:6379 for the run when redis-server is installed; the benchmark skips it otherwise."""
    server = shutil.which("redis-server")
    if listening(6379) or not server:
        if not server and not listening(6379):
            say(
                "no Redis on 127.0.0.1:6379 and no redis-server installed: the shared-cache figure is skipped"
            )
        yield
        return
    say("starting redis-server on 127.0.0.1:6379 for the run")
    process = subprocess.Popen(
        [server, "--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: listening(6379), 10)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def ensure_wrk() -> None:
    """wrk (a C load generator) for the webhooks load runs: Debian's package, installed as root when missing.

    Without it, bench/webhooks.py skips its wrk runs and says why.
    """
    if shutil.which("wrk"):
        return
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        say("wrk is not installed and cannot be installed here (Debian, as root: apt-get install wrk)")
        return
    say("installing wrk (apt-get install wrk) for the load runs")
    command = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode:
        subprocess.run(["apt-get", "update", "-q"], check=False, stdout=subprocess.DEVNULL)
        if subprocess.run(command, check=False, stdout=subprocess.DEVNULL).returncode:
            say("apt-get install wrk failed: the wrk runs are skipped")


def needs_postgres(name: str, args: list[str]) -> bool:
    if name == "webhooks":
        return "BENCH_PG" not in os.environ
    if name in ("admin", "desk", "prune"):
        only_sqlite = "--only=sqlite" in args or any(
            first == "--only" and second == "sqlite" for first, second in itertools.pairwise(args)
        )
        return not only_sqlite and "BENCH_POSTGRES_URL" not in os.environ
    return False


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter, add_help=True
    )
    parser.add_argument("--django", choices=sorted(DJANGO_SERIES), help="Django series to benchmark with")
    parser.add_argument("name", choices=sorted(BENCHMARKS), help="the benchmark to run")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="options of bench/<name>.py")
    options = parser.parse_args()

    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    name = "-".join(filter(None, ["bench", version, options.django and f"django{options.django}"]))
    django = [DJANGO_SERIES[options.django]] if options.django else []
    python = ensure_venv(name, ["-e.[dev,bench,rq]", *django])
    with ExitStack() as services:
        if "--help" not in options.args and "-h" not in options.args:
            if needs_postgres(options.name, options.args):
                services.enter_context(postgres())
            if options.name in ("config", "queued"):
                services.enter_context(redis())
            if options.name == "webhooks" and "--skip-load" not in options.args:
                ensure_wrk()
        say(f"running {BENCHMARKS[options.name]} {' '.join(options.args)}".rstrip())
        return run(python, str(ROOT / BENCHMARKS[options.name]), *options.args)


if __name__ == "__main__":
    sys.exit(main())
