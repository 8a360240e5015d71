"""The settings row cache: no query when warm, fresh after a commit, never stale after a rollback,
and a save in one process seen by another (shared cache: at once; local cache: within two seconds)."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from postmark_admin.config import row_cache as settings_cache
from postmark_admin.config.effective import effective_config
from postmark_admin.exceptions import PostmarkError, PostmarkSettingsUnavailable
from postmark_admin.models import PostmarkSettings, WebhookEvent
from tests.conftest import ROOT
from tests.database_down import (
    ALIAS,
    default_database_down,
    settings_database_down,
    settings_database_without_table,
)

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


needs_redis = pytest.mark.skipif(not _redis_available(), reason="no Redis server on 127.0.0.1:6379")


@pytest.fixture
def redis_cache(settings):
    """The default cache on Redis, under a key prefix of its own so runs never see each other's keys."""
    prefix = f"pma-test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    return settings.CACHES


def _save(**fields):
    row, _ = PostmarkSettings.objects.get_or_create(pk=1)
    for name, value in fields.items():
        setattr(row, name, value)
    row.save()


@pytest.mark.django_db
def test_warm_read_costs_no_query_with_local_cache(
    django_assert_num_queries, django_capture_on_commit_callbacks, clean_postmark_env
):
    with django_capture_on_commit_callbacks(execute=True):
        _save(message_stream="warm")
    effective_config()
    with django_assert_num_queries(0):
        for _ in range(100):
            assert effective_config().message_stream == "warm"


@needs_redis
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_warm_read_costs_no_query_with_redis(redis_cache, django_assert_num_queries, clean_postmark_env):
    _save(message_stream="redis-warm")
    settings_cache.clear()
    effective_config()
    with django_assert_num_queries(0):
        for _ in range(100):
            assert effective_config().message_stream == "redis-warm"


@pytest.mark.django_db(transaction=True)
def test_committed_save_is_seen_at_once_in_this_process(clean_postmark_env):
    _save(message_stream="before")
    assert effective_config().message_stream == "before"
    _save(message_stream="after")
    assert effective_config().message_stream == "after"


@pytest.mark.parametrize("cache", ["local", "redis"])
@pytest.mark.django_db(transaction=True)
def test_rolled_back_save_leaves_nothing_stale(cache, settings, clean_postmark_env, request):
    if cache == "redis":
        if not _redis_available():
            pytest.skip("no Redis server on 127.0.0.1:6379")
        request.getfixturevalue("redis_cache")
    _save(message_stream="committed")
    assert effective_config().message_stream == "committed"
    with pytest.raises(RuntimeError), transaction.atomic():
        _save(message_stream="rolled-back")
        # The saving thread sees its own uncommitted change...
        assert effective_config().message_stream == "rolled-back"
        raise RuntimeError
    # ...and nobody sees it once it is rolled back, cached or not.
    assert effective_config().message_stream == "committed"
    with CaptureQueriesContext(connection):
        assert effective_config().message_stream == "committed"


@pytest.mark.django_db(transaction=True)
def test_savepoint_rollback_inside_committed_transaction(clean_postmark_env):
    _save(message_stream="outer-start")
    with transaction.atomic():
        _save(message_stream="outer")
        with pytest.raises(RuntimeError), transaction.atomic():
            _save(message_stream="inner")
            raise RuntimeError
        assert effective_config().message_stream == "outer"
    assert effective_config().message_stream == "outer"


@pytest.mark.django_db
def test_uncommitted_save_is_read_uncached_until_commit(
    django_assert_num_queries, django_capture_on_commit_callbacks, clean_postmark_env
):
    """Inside the transaction that saved, reads bypass the cache; once it commits they are cached."""
    with django_capture_on_commit_callbacks(execute=True):
        _save(message_stream="pending")
        assert effective_config().message_stream == "pending"
    effective_config()
    with django_assert_num_queries(0):
        assert effective_config().message_stream == "pending"


@pytest.mark.django_db
def test_read_before_any_row_exists_creates_nothing(clean_postmark_env):
    config = effective_config()
    assert config.message_stream == "outbound"
    assert not PostmarkSettings.objects.exists()


# -- two real processes -----------------------------------------------------------------------


class Child:
    def __init__(self, caches: dict) -> None:
        db = dict(connection.settings_dict)
        child_db = {
            key: db[key] for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST", "PORT") if key in db
        }
        env = {
            **os.environ,
            "PMA_CHILD_SETTINGS": json.dumps({"DATABASES": {"default": child_db}, "CACHES": caches}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.config.config_reader"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        assert json.loads(self.process.stdout.readline()) == {"ready": True}

    def read(self) -> dict:
        self.process.stdin.write("read\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.write("quit\n")
        self.process.stdin.flush()
        self.process.wait(timeout=10)


@pytest.fixture
def child_factory():
    children = []

    def start(caches):
        child = Child(caches)
        children.append(child)
        return child

    yield start
    for child in children:
        child.close()


@needs_redis
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_save_seen_by_another_process_on_its_next_read(redis_cache, child_factory, clean_postmark_env):
    _save(message_stream="first", server_token="token-aaaa")
    child = child_factory(redis_cache)
    assert child.read() == {"message_stream": "first", "token_tail": "aaaa", "queries": 1}
    assert child.read()["queries"] == 0  # warm: the version token in Redis says the copy is current

    _save(message_stream="second", server_token="token-bbbb")
    # No sleep: the very next read sees the committed change.
    reply = child.read()
    assert (reply["message_stream"], reply["token_tail"]) == ("second", "bbbb")
    assert child.read()["queries"] == 0

    # A rolled-back save in this process never reaches the other one.
    with pytest.raises(RuntimeError), transaction.atomic():
        _save(message_stream="never")
        raise RuntimeError
    assert child.read()["message_stream"] == "second"


@pytest.mark.django_db(transaction=True)
def test_save_seen_by_another_process_within_two_seconds_with_local_cache(child_factory, clean_postmark_env):
    local = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    _save(message_stream="first")
    child = child_factory(local)
    assert child.read()["message_stream"] == "first"
    assert child.read()["queries"] == 0
    _save(message_stream="second")
    deadline = time.monotonic() + 2.0
    seen = child.read()["message_stream"]
    while seen != "second" and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = child.read()["message_stream"]
    assert seen == "second"


# -- a database that cannot answer is not a missing table (issue 11, item 3) ------------------------
# Real outages, nothing mocked: see tests/database_down.py. "default": the whole default database is
# unreachable; "routed": only the database a router sends the settings row to.

UNREACHABLE = ["default", "routed"]


@contextmanager
def database_down(where, directory):
    with (default_database_down if where == "default" else settings_database_down)(directory):
        yield


@pytest.mark.parametrize("where", UNREACHABLE)
@pytest.mark.django_db(transaction=True)
def test_unreachable_database_raises_instead_of_falling_back(where, tmp_path, settings, clean_postmark_env):
    # settings.py holds other values: a silent fallback would send with them.
    settings.POSTMARK_SERVER_TOKEN = "token-from-settings-py"
    settings.POSTMARK_API_URL = "http://127.0.0.1:9/"
    with database_down(where, tmp_path), pytest.raises(PostmarkSettingsUnavailable) as raised:
        effective_config()
    message = str(raised.value)
    assert "could not be read from the database" in message
    assert "token-from-settings-py" not in message
    assert isinstance(raised.value, PostmarkError)
    assert isinstance(raised.value.__cause__, DatabaseError)
    # Once the database answers again, the row is read as usual.
    assert effective_config().server_token.reveal() == "token-from-settings-py"


@pytest.mark.parametrize("where", UNREACHABLE)
@pytest.mark.django_db(transaction=True)
def test_unreachable_database_is_not_cached_as_an_empty_row(where, tmp_path, clean_postmark_env):
    with database_down(where, tmp_path):
        for _ in range(2):
            with pytest.raises(PostmarkSettingsUnavailable):
                settings_cache.current_row()


def test_unreachable_database_inside_a_transaction_of_another_alias(tmp_path, db, clean_postmark_env):
    # The caller's transaction on the default database stays usable after the settings database failed.
    with settings_database_down(tmp_path), transaction.atomic():
        with pytest.raises(PostmarkSettingsUnavailable):
            effective_config()
        assert WebhookEvent.objects.count() == 0


def test_missing_table_reads_as_defaults_and_keeps_the_transaction_usable(tmp_path, db, clean_postmark_env):
    with settings_database_without_table(tmp_path):
        assert effective_config().message_stream == "outbound"  # autocommit
        settings_cache.clear()
        with transaction.atomic(using=ALIAS):
            assert effective_config().message_stream == "outbound"
            # PostgreSQL refuses every statement of an aborted transaction: this one must run.
            with connections[ALIAS].cursor() as cursor:
                cursor.execute("SELECT 1")
                assert cursor.fetchone() == (1,)


def test_error_message_names_the_database_and_pickles():
    error = PostmarkSettingsUnavailable("default", "OperationalError: connection refused")
    assert "'default'" in str(error) and "connection refused" in str(error)
    copy = pickle.loads(pickle.dumps(error))
    assert str(copy) == str(error)
