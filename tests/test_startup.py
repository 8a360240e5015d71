"""No database access at import time, and migrate works on an empty database read early."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.conftest import ROOT


def _run(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_setup_and_import_without_a_database():
    # A PostgreSQL URL on a port where nothing listens: any query would fail loudly.
    result = _run(
        """
        import importlib, pkgutil, django
        django.setup()
        import postmark_admin
        for module in pkgutil.walk_packages(postmark_admin.__path__, "postmark_admin."):
            # Wagtail is optional; the sandbox is not part of the site's request path.
            if ".sandbox" in module.name or ".wagtail" in module.name:
                continue
            importlib.import_module(module.name)
        from django.core.management import call_command
        call_command("check")
        print("ok")
        """,
        {"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")


def test_migrate_on_empty_database_after_an_early_read(tmp_path):
    result = _run(
        """
        import django
        django.setup()
        from postmark_admin.config.effective import effective_config
        assert effective_config().message_stream == "outbound"   # read before the table exists
        from django.core.management import call_command
        call_command("migrate", verbosity=0)
        from postmark_admin.models import PostmarkSettings
        PostmarkSettings.objects.create(message_stream="after-migrate")
        assert effective_config().message_stream == "after-migrate"
        print("ok")
        """,
        {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
