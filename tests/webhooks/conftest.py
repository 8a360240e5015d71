"""What the webhook tests share: the URLs, credentials, a POST helper and a signal recorder.

The test modules import the helpers (``from .conftest import ...``); the payloads are in ``payloads/``.
"""

from __future__ import annotations

import base64
import json

import pytest

from postmark_admin import signals

TRACKING_URL = "/postmark/tracking/"
INBOUND_URL = "/postmark/inbound/"


def basic(username: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP basic auth."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def post(client, url, payload, auth=None, **extra):
    """POST ``payload`` (JSON-encoded unless already bytes or text) as Postmark does, with ``auth``."""
    body = payload if isinstance(payload, bytes | str) else json.dumps(payload)
    if auth is not None:
        extra["HTTP_AUTHORIZATION"] = auth
    return client.post(url, body, content_type="application/json", **extra)


@pytest.fixture
def creds(clean_postmark_env, settings):
    """The webhook credentials configured in the settings; returns their ``Authorization`` header value."""
    settings.POSTMARK_WEBHOOK_AUTHORIZATION = "postmark:s3cret"
    return basic("postmark", "s3cret")


@pytest.fixture
def received():
    """The calls of the tracking and inbound signals, in order: ("tracking", event pk, event type, kwargs)
    and ("inbound", event pk, subject, kwargs). Receivers may run on several threads (list.append is
    atomic)."""
    calls = []

    def tracking(sender, event, **kwargs):
        calls.append(("tracking", event.pk, event.event_type, kwargs))

    def inbound(sender, event, message, **kwargs):
        calls.append(("inbound", event.pk, message.subject, kwargs))

    signals.tracking.connect(tracking)
    signals.inbound.connect(inbound)
    yield calls
    signals.tracking.disconnect(tracking)
    signals.inbound.disconnect(inbound)
