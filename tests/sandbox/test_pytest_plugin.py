"""The pytest plugin as a site's test suite meets it: docs/sandbox.rst's example in a throwaway project.

The example file the docs include (tests/docs_examples/test_sandbox_example.py) is copied into a new
project with its own settings, as a user's suite would have it: MAILERS (Django 6.1) or EMAIL_BACKEND,
the test runner's locmem swap in place, and the fixtures found through the installed plugin. pytest runs
it in a subprocess; both tests must pass.
"""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import django
import pytest

import postmark_admin
from tests.conftest import ROOT

EXAMPLE = ROOT / "tests" / "docs_examples" / "test_sandbox_example.py"

SETTINGS = """\
SECRET_KEY = "throwaway-project-secret-key-not-for-production"
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.admin",
    "django.contrib.sessions",
    "django.contrib.messages",
    "solo",
    "postmark_admin",
]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}
USE_TZ = True
"""

MAIL_SETTINGS = {
    "mailers": 'MAILERS = {"default": {"BACKEND": "postmark_admin.backends.PostmarkBackend"}}\n',
    "email_backend": 'EMAIL_BACKEND = "postmark_admin.backends.PostmarkBackend"\n',
}


def plugin_is_installed() -> bool:
    """Whether the pytest11 entry point is registered (the package is installed, not only on the path)."""
    return any(
        entry.value == "postmark_admin.sandbox.pytest_plugin"
        for entry in importlib.metadata.entry_points(group="pytest11")
    )


@pytest.mark.parametrize("form", ["mailers", "email_backend"])
def test_the_docs_example_passes_in_a_new_project(tmp_path, form):
    if form == "mailers" and django.VERSION < (6, 1):
        pytest.skip("MAILERS is Django 6.1's")
    pytest.importorskip("pytest_django")
    (tmp_path / "site_settings.py").write_text(SETTINGS + MAIL_SETTINGS[form])
    (tmp_path / "pytest.ini").write_text(
        textwrap.dedent("""\
            [pytest]
            DJANGO_SETTINGS_MODULE = site_settings
            pythonpath = .
            """)
    )
    (tmp_path / "test_welcome.py").write_text(EXAMPLE.read_text())
    env = {name: value for name, value in os.environ.items() if not name.startswith(("POSTMARK_", "DJANGO_"))}
    env["PYTHONPATH"] = str(Path(postmark_admin.__file__).resolve().parent.parent)
    # The entry point is how a user's pytest finds the fixtures; name the module only when the package
    # is importable without being installed (a bare checkout on PYTHONPATH).
    plugin = [] if plugin_is_installed() else ["-p", "postmark_admin.sandbox.pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, "test_welcome.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout, done.stdout
