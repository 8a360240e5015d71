"""A settings cache that fails degrades to the database (issue 12, item 6): sending, the webhooks and a
save go on, with a real broken cache: a Redis port where nothing listens, or the redis package missing."""

from __future__ import annotations

import logging
import sys
import uuid

import pytest
from django.core.cache import caches
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config import row_cache
from postmark_admin.config.effective import effective_config
from postmark_admin.models import PostmarkSettings, WebhookEvent
from tests.conftest import ADMIN_TEST_WEBHOOK_PASSWORD, free_port
from tests.webhooks.conftest import TRACKING_URL, basic, post

from .test_row_cache import REDIS_URL, needs_redis

REDIS_CACHE = "django.core.cache.backends.redis.RedisCache"
DELIVERY = {
    "RecordType": "Delivery",
    "MessageID": "00000000-0000-0000-0000-000000000001",
    "Recipient": "to@example.com",
    "DeliveredAt": "2026-01-01T00:00:00Z",
    "MessageStream": "outbound",
}


@pytest.fixture(params=["port closed", "redis package missing"])
def broken_cache(request, settings, monkeypatch):
    """The settings cache is Redis, and broken: nothing listens on its port, or ``import redis`` fails."""
    location = f"redis://127.0.0.1:{free_port()}/0" if request.param == "port closed" else REDIS_URL
    if request.param == "redis package missing":
        monkeypatch.setitem(sys.modules, "redis", None)
    settings.CACHES = {"default": {"BACKEND": REDIS_CACHE, "LOCATION": location}}
    return request.param


@pytest.mark.django_db(transaction=True)
def test_reads_come_from_the_database_and_the_failure_is_logged_once(
    broken_cache, clean_postmark_env, caplog, django_assert_max_num_queries
):
    PostmarkSettings.objects.create(message_stream="from-the-row")
    row_cache.clear()
    # Read once, then this process's copy for a second.
    with (
        caplog.at_level(logging.WARNING, logger="postmark_admin.config.row_cache"),
        django_assert_max_num_queries(1),
    ):
        for _ in range(20):
            assert effective_config().message_stream == "from-the-row"
    [record] = caplog.records
    assert "reading the settings from the database instead" in record.getMessage()


@pytest.mark.django_db(transaction=True)
def test_a_save_while_the_cache_fails_is_no_error(broken_cache, clean_postmark_env):
    row = PostmarkSettings.objects.create(message_stream="before")
    assert effective_config().message_stream == "before"
    row.message_stream = "after"
    row.save()  # publishing the change to the cache fails: the save stands
    assert effective_config().message_stream == "after"


@pytest.mark.django_db(transaction=True)
def test_webhooks_are_stored_while_the_cache_fails(broken_cache, client, clean_postmark_env):
    # The credentials are in the row, so reading it is needed: from the database, since the cache fails.
    PostmarkSettings.objects.create(webhook_username="hookuser", webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD)
    row_cache.clear()
    response = post(client, TRACKING_URL, DELIVERY, auth=basic("hookuser", ADMIN_TEST_WEBHOOK_PASSWORD))
    assert response.status_code == 200
    assert WebhookEvent.objects.filter(recipient="to@example.com").count() == 1
    assert post(client, TRACKING_URL, DELIVERY, auth=basic("hookuser", "wrong")).status_code == 401


@pytest.mark.django_db(transaction=True)
def test_sending_goes_on_while_the_cache_fails(broken_cache, clean_postmark_env):
    from postmark_admin.sandbox import Sandbox

    with Sandbox(token="row-token") as sandbox:
        PostmarkSettings.objects.create(server_token="row-token", api_url=sandbox.url)
        row_cache.clear()
        sent = PostmarkBackend().send_messages(
            [EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])]
        )
        assert sent == 1
        assert len(sandbox.messages) == 1


@needs_redis
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_save_made_during_the_outage_is_published_when_the_cache_answers(settings, clean_postmark_env):
    working = {"BACKEND": REDIS_CACHE, "LOCATION": REDIS_URL, "KEY_PREFIX": f"pma-test-{uuid.uuid4().hex}"}
    settings.CACHES = {"default": working}
    row = PostmarkSettings.objects.create(message_stream="before")
    assert effective_config().message_stream == "before"
    version_before = caches["default"].get(row_cache.VERSION_KEY)
    assert version_before is not None

    settings.CACHES = {"default": {**working, "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    row.message_stream = "after"
    row.save()
    # Another process would still find version_before in the cache: the token must change once it is back.
    settings.CACHES = {"default": working}
    assert effective_config().message_stream == "after"
    assert caches["default"].get(row_cache.VERSION_KEY) not in (None, version_before)
