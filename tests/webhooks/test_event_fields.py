"""The event's field lists: the normalized event, the stored columns and the two detail pages agree."""

from __future__ import annotations

import dataclasses

import pytest

from postmark_admin.models import WebhookEvent
from postmark_admin.webhooks.events import MODEL_FIELDS, NormalizedEvent

#: What an event's detail page shows today, in order (Django admin and Wagtail alike).
SHOWN = [
    "event_type",
    "record_type",
    "reject_reason",
    "recipient",
    "message_id",
    "message_stream",
    "tag",
    "occurred_at",
    "received_at",
    "bounce_id",
    "description",
    "mta_response",
    "user_agent",
    "click_url",
    "metadata",
    "payload",
]


def test_the_normalized_event_holds_every_column_but_the_id_and_received_at():
    columns = {field.name for field in WebhookEvent._meta.concrete_fields}
    assert set(MODEL_FIELDS) == columns - {"id", "received_at"}
    normalized = {field.name for field in dataclasses.fields(NormalizedEvent)}
    assert normalized == {*MODEL_FIELDS, "kind"}


def test_django_admin_detail_fields():
    from django.contrib import admin

    model_admin = admin.site._registry[WebhookEvent]
    assert model_admin.fieldsets == [
        (
            None,
            {
                "fields": [
                    "event_label",
                    *SHOWN[1:-2],
                    "metadata_pretty",
                    "related_events",
                ]
            },
        ),
        ("Raw payload", {"fields": ["payload_pretty"]}),
    ]


def test_wagtail_inspect_fields():
    pytest.importorskip("wagtail")
    from postmark_admin.wagtail.viewsets import WebhookEventViewSet

    assert list(WebhookEventViewSet.inspect_view_fields) == SHOWN
