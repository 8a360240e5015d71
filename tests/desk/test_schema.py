"""What the log's tables make every send pay for: the indexes and constraints the migrations create.

Each index and constraint of SentMessage and SentRecipient is written on every send with the log on
(docs/desk.rst, "What it costs"). These tests read the migrated schema back from the database
(SQLite, or PostgreSQL with DATABASE_URL), so a model change that brings a write cost back shows here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from postmark_admin.desk.prune import blank_expired_bodies
from postmark_admin.models import SentMessage, SentRecipient

pytestmark = pytest.mark.django_db


def _constraints(model: type) -> dict[str, dict]:
    with connection.cursor() as cursor:
        return connection.introspection.get_constraints(cursor, model._meta.db_table)


def test_the_recipients_table_has_no_foreign_key_check_per_row():
    # On PostgreSQL the check is a trigger and an index lookup per inserted recipient.
    foreign_keys = [name for name, info in _constraints(SentRecipient).items() if info["foreign_key"]]
    assert foreign_keys == []


def test_the_recipients_still_go_with_their_message_through_the_orm():
    message = SentMessage.objects.create(message_id="m-1", sent_via="single")
    SentRecipient.objects.create(message=message, address="A@example.com", address_key="a@example.com")
    message.delete()
    assert not SentRecipient.objects.exists()


def test_the_bodies_index_holds_only_messages_that_keep_their_bodies():
    indexes = _constraints(SentMessage)
    assert indexes["pm_sent_bodies_expire"]["columns"] == ["bodies_expire_at"]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("SELECT sql FROM sqlite_master WHERE name = %s", ["pm_sent_bodies_expire"])
            (sql,) = cursor.fetchone()
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", ["pm_sent_bodies_expire"])
            (sql,) = cursor.fetchone()
    assert "WHERE" in sql.upper() and "NOT NULL" in sql.upper()


def test_the_partial_index_still_finds_expired_bodies():
    now = timezone.now()
    SentMessage.objects.create(
        message_id="kept", sent_via="single", text_body="hi", bodies_expire_at=now - timedelta(days=1)
    )
    SentMessage.objects.create(message_id="none", sent_via="single")
    assert blank_expired_bodies(now=now) == 1
    assert SentMessage.objects.get(message_id="kept").text_body == ""
