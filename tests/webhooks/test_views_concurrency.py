"""The same delivery arriving at the same moment on several connections is stored and signalled once.

Needs PostgreSQL (SQLite serializes writers, so there is no race to test).
"""

from __future__ import annotations

import base64
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from postmark_admin import signals
from postmark_admin.models import WebhookEvent

from .payloads import load

AUTH = "Basic " + base64.b64encode(b"race:race-password").decode()
THREADS = 8

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent inserts need PostgreSQL; run with DATABASE_URL=postgres://...",
    ),
]


@pytest.fixture
def signalled():
    lock = threading.Lock()
    events: list[int] = []

    def receiver(sender, event, **kwargs):
        with lock:
            events.append(event.pk)

    signals.tracking.connect(receiver)
    yield events
    signals.tracking.disconnect(receiver)


def _post_all(bodies: list[bytes]) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def send(body: bytes) -> int:
        try:
            client = Client()
            barrier.wait(timeout=10)
            response = client.post(
                "/postmark/tracking/", body, content_type="application/json", HTTP_AUTHORIZATION=AUTH
            )
            return response.status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_simultaneous_repeats_stored_once(transactional_db, settings, signalled):
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "race:race-password"
    for name in ("delivery", "bounce", "open"):
        body = json.dumps(load(name)).encode()
        assert _post_all([body] * THREADS) == [200] * THREADS
    assert WebhookEvent.objects.count() == 3
    assert sorted(signalled) == sorted(WebhookEvent.objects.values_list("pk", flat=True))


def test_simultaneous_distinct_events_all_stored(transactional_db, settings, signalled):
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "race:race-password"
    bodies = [json.dumps(load("delivery", Recipient=f"r{i}@example.com")).encode() for i in range(THREADS)]
    assert _post_all(bodies + bodies) == [200] * (2 * THREADS)
    assert WebhookEvent.objects.count() == THREADS
    assert len(signalled) == THREADS
