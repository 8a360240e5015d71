"""The same delivery arriving at the same moment on several connections is stored and signalled once.

Needs PostgreSQL (SQLite serializes writers, so there is no race to test).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections
from django.test import Client

from postmark_admin.models import WebhookEvent

from .conftest import TRACKING_URL, post
from .payloads import load

THREADS = 8

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="concurrent inserts need PostgreSQL; run with DATABASE_URL=postgres://...",
    ),
]


def _post_all(bodies: list[bytes], auth: str) -> list[int]:
    barrier = threading.Barrier(len(bodies))

    def send(body: bytes) -> int:
        try:
            client = Client()
            barrier.wait(timeout=10)
            return post(client, TRACKING_URL, body, auth).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, bodies))


def test_simultaneous_repeats_stored_once(transactional_db, creds, received):
    for name in ("delivery", "bounce", "open"):
        body = json.dumps(load(name)).encode()
        assert _post_all([body] * THREADS, creds) == [200] * THREADS
    assert WebhookEvent.objects.count() == 3
    signalled = [event_pk for _signal, event_pk, *_rest in received]
    assert sorted(signalled) == sorted(WebhookEvent.objects.values_list("pk", flat=True))


def test_simultaneous_distinct_events_all_stored(transactional_db, creds, received):
    bodies = [json.dumps(load("delivery", Recipient=f"r{i}@example.com")).encode() for i in range(THREADS)]
    assert _post_all(bodies + bodies, creds) == [200] * (2 * THREADS)
    assert WebhookEvent.objects.count() == THREADS
    assert len(received) == THREADS
