#!/usr/bin/env python3
"""Run django-anymail's own Postmark tests against postmark_admin; fetches nothing.

    ANYMAIL_TESTS_DIR=/path/to/django-anymail python3 tests/peer/run_anymail.py [pytest args]
    python3 tests/peer/run_anymail.py --anymail-dir /path/to/django-anymail -q

The folder is a checkout of anymail's repository (its sdist does not ship the tests); see
docs/migrating.rst for how to get one. anymail itself must be importable (the ``peer`` extra:
``pip install -e '.[peer]'``). The last line printed is ``peer suite: <passed> passed of <total>``.
Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
#: anymail's Postmark test modules (their helpers are imported by them).
TEST_FILES = (
    "tests/test_postmark_backend.py",
    "tests/test_postmark_webhooks.py",
    "tests/test_postmark_inbound.py",
)


def anymail_dir(given: str | None) -> Path | None:
    """The checkout to run, from the option or ``ANYMAIL_TESTS_DIR``; None when there is none."""
    value = given or os.environ.get("ANYMAIL_TESTS_DIR")
    if not value:
        return None
    path = Path(value).expanduser().resolve()
    return path if all((path / name).is_file() for name in TEST_FILES) else None


def command(directory: Path, pytest_args: list[str]) -> tuple[list[str], dict[str, str]]:
    """The pytest command and environment that run anymail's tests in ``directory`` with our plugin."""
    env = dict(os.environ)
    # Our worktree first (postmark_admin), then the adapter's modules; anymail's own `tests`
    # package comes from the checkout, which pytest puts first on sys.path as the rootdir.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(HERE), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = "peer_settings"
    env.pop("DATABASE_URL", None)
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-p",
        "peer_plugin",
        "-p",
        "no:cacheprovider",
        "-o",
        "addopts=",
        "--rootdir",
        str(directory),
        *pytest_args,
        *TEST_FILES,
    ]
    return args, env


def passed_count(output: str) -> tuple[int, int]:
    """(passed, total) from pytest's summary line."""
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    counts = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    total = sum(counts.get(word, 0) for word in ("passed", "failed", "error", "errors", "skipped"))
    return counts.get("passed", 0), total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--anymail-dir", help="django-anymail checkout (default: $ANYMAIL_TESTS_DIR)")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (put them after --)")
    options = parser.parse_args()
    directory = anymail_dir(options.anymail_dir)
    if directory is None:
        print("No django-anymail checkout: set ANYMAIL_TESTS_DIR or --anymail-dir.", file=sys.stderr)
        return 2
    args, env = command(directory, options.pytest_args)
    result = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    passed, total = passed_count(result.stdout)
    print(f"peer suite: {passed} passed of {total}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
