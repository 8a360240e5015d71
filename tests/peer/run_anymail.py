#!/usr/bin/env python3
"""Run django-anymail's own Postmark tests against postmark_admin; fetches nothing.

    ANYMAIL_TESTS_DIR=/path/to/django-anymail python3 tests/peer/run_anymail.py [pytest args]
    python3 tests/peer/run_anymail.py --anymail-dir /path/to/django-anymail -q
    python3 tests/peer/run_anymail.py --reference    # the same tests against anymail itself

The folder is a checkout of anymail's repository (its sdist does not ship the tests); see
docs/migrating.rst for how to get one. anymail itself must be importable (the ``peer`` extra:
``pip install -e '.[peer]'``). The last line printed is ``peer suite: <passed> passed, <failed>
failed, <errors> errors``. pytest collects one helper of anymail's (``test_file_content``) as a test that
errors, against anymail itself too.
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


def reference_settings(directory: Path) -> str:
    """anymail's own test settings for this Django (its runtests.py picks them the same way)."""
    import django

    found = []
    for path in (directory / "tests" / "test_settings").glob("settings_*_*.py"):
        version = tuple(int(part) for part in path.stem.split("_")[1:3])
        if version <= django.VERSION[:2]:
            found.append((version, path.stem))
    return "tests.test_settings." + max(found)[1]


def command(
    directory: Path, pytest_args: list[str], *, reference: bool = False
) -> tuple[list[str], dict[str, str]]:
    """The pytest command and environment that run anymail's tests in ``directory`` with our plugin
    (``reference``: against anymail itself, with its own settings and no plugin)."""
    env = dict(os.environ)
    # Our worktree first (postmark_admin), then the adapter's modules; anymail's own `tests`
    # package comes from the checkout, which pytest puts first on sys.path as the rootdir.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), str(HERE), env.get("PYTHONPATH")]))
    env["DJANGO_SETTINGS_MODULE"] = reference_settings(directory) if reference else "peer_settings"
    env.pop("DATABASE_URL", None)
    plugin = [] if reference else ["-p", "peer_plugin"]
    args = [
        sys.executable,
        "-m",
        "pytest",
        *plugin,
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


def counts(output: str) -> dict[str, int]:
    """``{"passed": n, "failed": n, "errors": n}`` from pytest's summary line."""
    summary = output.strip().splitlines()[-1] if output.strip() else ""
    found = {word: int(number) for number, word in re.findall(r"(\d+) (\w+)", summary)}
    return {
        "passed": found.get("passed", 0),
        "failed": found.get("failed", 0),
        "errors": found.get("errors", 0) + found.get("error", 0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--anymail-dir", help="django-anymail checkout (default: $ANYMAIL_TESTS_DIR)")
    parser.add_argument("--reference", action="store_true", help="run the tests against anymail itself")
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (put them after --)")
    options = parser.parse_args()
    directory = anymail_dir(options.anymail_dir)
    if directory is None:
        print("No django-anymail checkout: set ANYMAIL_TESTS_DIR or --anymail-dir.", file=sys.stderr)
        return 2
    args, env = command(directory, options.pytest_args, reference=options.reference)
    result = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True)
    sys.stdout.write(result.stdout)
    sys.stderr.write(result.stderr)
    found = counts(result.stdout)
    label = "anymail itself" if options.reference else "peer suite"
    print(f"{label}: {found['passed']} passed, {found['failed']} failed, {found['errors']} errors")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
