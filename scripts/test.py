#!/usr/bin/env python3
"""Run the whole test suite in its own virtualenv.

    python3 scripts/test.py                      # SQLite, the Django this Python gets by default
    python3 scripts/test.py --django 5.2         # pin Django 5.2.x
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python3 scripts/test.py
    python3 scripts/test.py -- -k webhook -x     # anything after -- goes to pytest
    python3 scripts/test.py --no-wagtail         # without the [wagtail] extra (installed by default)

Browser tests drive Debian's Chromium (/usr/bin/chromium), and the catalogs' test runs makemessages, which
needs GNU gettext (xgettext). When either is missing and this runs as root with apt-get available, Debian's
package is installed; otherwise those tests are skipped with a reason.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import DJANGO_SERIES, ensure_venv, run


def apt_install(package: str) -> None:
    """``apt-get install package`` when this runs as root on a machine with apt-get; else nothing."""
    if shutil.which("apt-get") and hasattr(os, "geteuid") and os.geteuid() == 0:
        print(f"==> installing Debian's {package}", flush=True)
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", package], check=False, env=env)


def ensure_chromium() -> None:
    if Path("/usr/bin/chromium").exists():
        return
    apt_install("chromium")
    if not Path("/usr/bin/chromium").exists():
        print("==> /usr/bin/chromium is missing: browser tests will be skipped", flush=True)


def ensure_gettext() -> None:
    """GNU gettext for tests/test_locale.py, which runs makemessages to find strings not in the catalogs."""
    if shutil.which("xgettext") and shutil.which("msgmerge"):
        return
    apt_install("gettext")
    if not shutil.which("xgettext"):
        print("==> GNU gettext (xgettext) is missing: the makemessages test will be skipped", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--django", choices=sorted(DJANGO_SERIES), help="Django series to test against")
    parser.add_argument(
        "--no-wagtail",
        action="store_true",
        help="test without the [wagtail] extra (checks nothing imports it)",
    )
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (put them after --)")
    options = parser.parse_args()

    version = f"py{sys.version_info.major}.{sys.version_info.minor}"
    django = DJANGO_SERIES.get(options.django or "", "")
    # rq and db: the task workers of queued sending (tests/workers/), on every job.
    extras = "dev,rq,db" if options.no_wagtail else "dev,rq,db,wagtail"
    name = "-".join(
        filter(
            None,
            [
                "test",
                version,
                options.django and f"django{options.django}",
                options.no_wagtail and "nowagtail",
            ],
        )
    )
    python = ensure_venv(name, [f"-e.[{extras}]", *([django] if django else [])])
    ensure_chromium()
    ensure_gettext()
    return run(python, "-m", "pytest", *options.pytest_args)


if __name__ == "__main__":
    sys.exit(main())
