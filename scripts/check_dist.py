#!/usr/bin/env python3
"""Build the sdist and the wheel, and test them as a user gets them.

    python3 scripts/check_dist.py                       # the Django this Python gets by default
    python3 scripts/check_dist.py --django 6.1          # pin a Django series in the clean virtualenv
    python3 scripts/check_dist.py -- -m "not browser"   # anything after -- goes to pytest

1. ``python -m build`` makes both into a temporary folder (the ``build`` tool lives in .venv/dist-tools).
2. The wheel must hold the package's templates, static files, locale catalogs, migrations and py.typed,
   every one that the checkout has, and nothing outside the package; the sdist must hold the tests
   (conftest.py files, settings, payloads), the docs, the example site and the changelog.
3. A clean virtualenv (.venv/dist-pyX.Y[-djangoS], made anew each run) gets the wheel alone, with its
   declared dependencies only: ``pip check`` passes and, outside any checkout, every module of the package
   imports and ``migrate`` and ``check`` run. Then the wheel's ``dev``, ``rq``, ``db`` and ``wagtail`` extras (the test tools).
4. The suite runs from the unpacked sdist, whose own copy of the package is removed first, so that every
   test, and every process a test starts, imports the installed wheel (a test run checks which it got).

PostgreSQL runs take DATABASE_URL, as scripts/test.py does.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import venv
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import DJANGO_SERIES, ROOT, ensure_venv, venv_python

PACKAGE = "postmark_admin"
#: Folders of the package whose every file the wheel must carry (those the checkout has).
DATA_FOLDERS = ("templates", "static", "locale", "migrations")
#: The languages docs/admin.rst promises: their catalogs, source and compiled, must be in the wheel.
LANGUAGES = ("de", "es", "fr", "nl")
CATALOGS = tuple(
    f"{PACKAGE}/locale/{language}/LC_MESSAGES/django.{suffix}"
    for language in LANGUAGES
    for suffix in ("po", "mo")
)
#: What the sdist must carry for its suite to run.
SDIST_REQUIRED = (
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "tests/conftest.py",
    "tests/settings.py",
    "tests/urls.py",
    "tests/webhooks/conftest.py",
    "tests/sandbox/conftest.py",
    "tests/sending/conftest.py",
    "tests/workers/conftest.py",
    "tests/worker_settings.py",
    "tests/webhooks/payloads",
    "docs/conf.py",
    "docs/index.rst",
    "docs/quickstart.rst",
    "example/manage.py",
)
#: The smoke test of the bare install: run outside any checkout, with the wheel's dependencies only.
SMOKE = """
import importlib, importlib.util, pkgutil, sys
import django
from django.conf import settings
settings.configure(
    SECRET_KEY="check-dist-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    INSTALLED_APPS=["django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
                    "django.contrib.sessions", "django.contrib.messages", "solo", "postmark_admin"],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
                "OPTIONS": {"context_processors": ["django.template.context_processors.request",
                    "django.contrib.auth.context_processors.auth",
                    "django.contrib.messages.context_processors.messages"]}}],
    MIDDLEWARE=["django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "django.contrib.messages.middleware.MessageMiddleware"],
    ROOT_URLCONF="postmark_admin.urls", USE_TZ=True,
)
django.setup()
import postmark_admin
skipped = ("postmark_admin.wagtail", "postmark_admin.wagtail_hooks", "postmark_admin.sandbox.pytest_plugin")
if not any(importlib.util.find_spec(name) for name in ("django.tasks", "django_tasks")):
    skipped += ("postmark_admin.sending.queued",)  # queued sending needs the Tasks framework ([tasks] extra)
for module in pkgutil.walk_packages(postmark_admin.__path__, "postmark_admin."):
    if not module.name.startswith(skipped):
        importlib.import_module(module.name)
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("check")
print(postmark_admin.__file__)
"""


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def fail(message: str) -> None:
    sys.exit(f"check_dist: {message}")


def call(*args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None) -> str:
    done = subprocess.run([str(arg) for arg in args], cwd=cwd, env=env, capture_output=True, text=True)
    if done.returncode:
        fail(f"{' '.join(map(str, args))} exited {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build(outdir: Path) -> tuple[Path, Path]:
    tools = ensure_venv("dist-tools", ["build>=1.2"])
    say("building the sdist and the wheel")
    call(tools, "-m", "build", "--outdir", outdir, ROOT)
    [sdist] = outdir.glob("*.tar.gz")
    [wheel] = outdir.glob("*.whl")
    return sdist, wheel


def checkout_data_files() -> set[str]:
    files = set()
    for folder in DATA_FOLDERS:
        for path in (ROOT / PACKAGE / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(ROOT).as_posix())
    return files


def check_wheel(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    required = {f"{PACKAGE}/py.typed", *CATALOGS, *checkout_data_files()}
    for kind in ("templates", "static", "locale", "migrations"):
        if not any(name.startswith(f"{PACKAGE}/{kind}/") for name in required):
            fail(f"the checkout has no {PACKAGE}/{kind}/: run this from a full checkout")
    missing = sorted(required - names)
    if missing:
        fail(f"{wheel.name} lacks {len(missing)} file(s): " + ", ".join(missing))
    dist_info = "-".join(wheel.name.split("-")[:2]) + ".dist-info/"
    strays = sorted(name for name in names if not name.startswith((f"{PACKAGE}/", dist_info)))
    if strays:
        fail(f"{wheel.name} holds files outside the package: " + ", ".join(strays[:10]))
    counts = {kind: sum(name.startswith(f"{PACKAGE}/{kind}/") for name in names) for kind in DATA_FOLDERS}
    say(
        f"{wheel.name}: {len(names)} files; "
        + ", ".join(f"{kind} {n}" for kind, n in counts.items())
        + f", py.typed; catalogs {', '.join(LANGUAGES)} (.po and .mo)"
    )


def check_sdist(sdist: Path) -> None:
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
    missing = [
        name
        for name in (*SDIST_REQUIRED, *CATALOGS)
        if name not in names and not any(n.startswith(f"{name}/") for n in names)
    ]
    if missing:
        fail(f"{sdist.name} lacks: " + ", ".join(missing))
    tests = sum(name.startswith("tests/") and name.endswith(".py") for name in names)
    payloads = sum(name.startswith("tests/webhooks/payloads/") for name in names)
    say(
        f"{sdist.name}: {len(names)} entries; {tests} test modules, {payloads} payload entries, docs, example"
    )


def clean_venv(name: str) -> Path:
    venv_dir = ROOT / ".venv" / name
    say(f"creating the clean virtualenv {venv_dir.relative_to(ROOT)}")
    venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    return venv_python(venv_dir)


def user_env() -> dict[str, str]:
    """The environment without anything that could put the checkout's package on the path."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "DJANGO_SETTINGS_MODULE")
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--django", choices=sorted(DJANGO_SERIES), help="Django series for the clean virtualenv"
    )
    parser.add_argument("pytest_args", nargs="*", help="arguments for pytest (put them after --)")
    options = parser.parse_args()
    django = [DJANGO_SERIES[options.django]] if options.django else []

    with tempfile.TemporaryDirectory(prefix="postmark-admin-dist-") as temp:
        temp_dir = Path(temp)
        sdist, wheel = build(temp_dir / "dist")
        check_wheel(wheel)
        check_sdist(sdist)

        version = f"py{sys.version_info.major}.{sys.version_info.minor}"
        python = clean_venv(
            "-".join(filter(None, ["dist", version, options.django and f"django{options.django}"]))
        )
        pip = [python, "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
        say(f"installing {wheel.name} alone, with its declared dependencies")
        call(*pip, wheel, *django, cwd=temp_dir, env=user_env())
        call(python, "-m", "pip", "check", cwd=temp_dir, env=user_env())
        outside = temp_dir / "outside"
        outside.mkdir()
        imported = call(python, "-c", SMOKE, cwd=outside, env=user_env()).strip().splitlines()[-1]
        say(f"bare install: every module imports, migrate and check run ({imported})")

        say("installing the wheel's test tools (its dev, rq, db and wagtail extras)")
        call(*pip, f"{wheel}[dev,rq,db,wagtail]", *django, cwd=temp_dir, env=user_env())

        with tarfile.open(sdist) as archive:
            archive.extractall(temp_dir / "sdist", filter="data")
        [source] = (temp_dir / "sdist").iterdir()
        # The sdist's copy of the package would shadow the wheel (pytest puts the rootdir on sys.path,
        # and the tests' subprocesses start in it): remove it, so that only the installed wheel is there.
        shutil.rmtree(source / PACKAGE)
        site = call(
            python,
            "-c",
            "import postmark_admin, sys; print(postmark_admin.__file__)",
            cwd=source,
            env=user_env(),
        )
        if not Path(site.strip()).is_relative_to(python.parent.parent):
            fail(f"the suite would import {site.strip()}, not the wheel installed in the clean virtualenv")
        say(f"running the suite from the unpacked {source.name} against {site.strip()}")
        return subprocess.call(
            [str(python), "-m", "pytest", "-p", "no:cacheprovider", *options.pytest_args],
            cwd=source,
            env=user_env(),
        )


if __name__ == "__main__":
    sys.exit(main())
