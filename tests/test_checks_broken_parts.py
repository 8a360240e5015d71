"""A broken cache or database is a check message, never a traceback (issue 12, item 6).

Each case runs ``manage.py check`` (``--deploy``) in a subprocess, as a user does, with a settings module
that breaks one real part: a Redis port where nothing listens, the ``redis`` package missing, the database
cache's table not created, a database that is down, a database not migrated yet.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import ROOT, free_port

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"


def manage_check(tmp_path, settings_code: str, *args: str, database_url: str | None = None):
    """``python -m django check *args`` with ``tests.settings`` plus ``settings_code``."""
    (tmp_path / "broken_settings.py").write_text(
        "from tests.settings import *  # noqa: F403\n" + textwrap.dedent(settings_code)
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("POSTMARK_", "ANYMAIL_"))},
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "broken_settings",
        # Not migrated: the settings row reads as empty (E001), which is no traceback either.
        "DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'site.sqlite3'}",
        "POSTMARK_SERVER_TOKEN": "token-from-the-environment",
        "POSTMARK_WEBHOOK_AUTHORIZATION": "hooks:password-from-the-environment",
    }
    result = subprocess.run(
        [sys.executable, "-m", "django", "check", *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert "token-from-the-environment" not in output and "password-from-the-environment" not in output
    return result.returncode, output


def test_redis_where_nothing_listens_is_e011(tmp_path):
    port = free_port()
    settings_code = f"""
        CACHES = {{"default": {{"BACKEND": "{REDIS_CACHE}", "LOCATION": "redis://127.0.0.1:{port}/0"}}}}
    """
    code, output = manage_check(tmp_path, settings_code)
    assert code == 0, output  # the ordinary checks make no connection: migrate and runserver still run
    code, output = manage_check(tmp_path, settings_code, "--deploy")
    assert code == 1
    assert "postmark_admin.E011" in output
    assert f"127.0.0.1:{port}" in output and "CACHES['default']['LOCATION']" in output
    assert "postmark_admin.E010" not in output and "postmark_admin.E008" not in output


def test_redis_cache_without_the_redis_package_is_e010(tmp_path):
    settings_code = f"""
        import sys
        sys.modules["redis"] = None  # as if the package were not installed: "import redis" fails
        # The test settings add the RQ apps when they are installed; a site without redis has neither.
        INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "django_rq"]
        TASKS = {{alias: spec for alias, spec in globals().get("TASKS", {{}}).items() if alias != "rq"}}
        CACHES = {{"default": {{"BACKEND": "{REDIS_CACHE}", "LOCATION": "redis://127.0.0.1:6379/0"}}}}
    """
    for args in ((), ("--deploy",)):
        code, output = manage_check(tmp_path, settings_code, *args)
        assert code == 1
        assert output.count("postmark_admin.E010") == 1, output
        assert 'pip install "django-postmark-admin[redis]"' in output
        assert "postmark_admin.E011" not in output


def test_a_cache_backend_that_cannot_be_imported_is_e010(settings):
    # In process: Django's own cache checks (caches.W003...) raise for such a backend before ours are reported.
    from postmark_admin.checks import check_cache

    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://x/0"}}
    [found] = check_cache()
    assert found.id == "postmark_admin.E010"
    assert "django_redis" in found.msg and "CACHES['default']['BACKEND']" in found.hint


def test_database_cache_without_its_table_is_e011(tmp_path):
    settings_code = """
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}}
    """
    code, output = manage_check(tmp_path, settings_code, "--deploy")
    assert code == 1
    assert "postmark_admin.E011" in output and "createcachetable" in output


def test_database_down_is_e008(tmp_path):
    pytest.importorskip("psycopg")
    code, output = manage_check(
        tmp_path, "", "--deploy", database_url=f"postgres://postgres@127.0.0.1:{free_port()}/none"
    )
    assert code == 1
    assert "postmark_admin.E008" in output and "DATABASES['default']" in output


def test_database_cache_and_database_down_are_both_reported(tmp_path):
    pytest.importorskip("psycopg")
    settings_code = """
        CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "cache"}}
    """
    code, output = manage_check(
        tmp_path, settings_code, "--deploy", database_url=f"postgres://postgres@127.0.0.1:{free_port()}/none"
    )
    assert code == 1
    assert "postmark_admin.E011" in output and "postmark_admin.E008" in output


def test_before_migrate_only_the_settings_are_missing(tmp_path):
    _, output = manage_check(
        tmp_path,
        'CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}',
        "--deploy",
    )
    # The environment's token counts; the missing table reads as an empty row: no Postmark error at all.
    assert "postmark_admin.E" not in output, output
