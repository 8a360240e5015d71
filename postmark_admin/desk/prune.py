"""Retention of the sent-message log (``manage.py postmark_prune_log``), in bounded batches.

Each batch is one SELECT of at most ``batch_size`` old messages' keys (by the ``submitted_at``
index), then one transaction of three DELETEs by those keys: their webhook events (by MessageID, the
``pm_event_message`` index), their recipients (``pm_recipient_message``) and the messages. No row but the
keys is read, no model instance is built and no ``pre_delete``/``post_delete`` signal is sent: Django's
deletion Collector would build an instance per message, and per event too as soon as any receiver listens
to every model's deletions (as audit-log apps do), and its reads inside the transaction made SQLite
refuse the transaction's writes when a webhook committed in between (bench/prune.py, docs/scaling.rst).
So no lock is held for long and the command runs while mail goes out.
Bodies kept by ``POSTMARK_LOG_BODIES_DAYS`` are blanked once past their date, the same way.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

from django.db import connections, router, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Model


class Pruned(NamedTuple):
    messages: int
    events: int


def _column(model: type[Model], name: str, connection: BaseDatabaseWrapper) -> str:
    column = model._meta.get_field(name).column  # type: ignore[union-attr]
    assert column is not None  # a concrete field has one (django-stubs: str | None)
    return connection.ops.quote_name(column)


def _delete_in(
    cursor: Any, connection: BaseDatabaseWrapper, table: str, column: str, keys: Sequence[Any]
) -> int:
    """``DELETE FROM table WHERE column IN (keys)``, in as many statements as the backend's limit on
    query parameters needs (SQLite's may be 999); return the rows deleted."""
    size = max(connection.ops.bulk_batch_size(["key"], list(keys)), 1)
    deleted = 0
    for start in range(0, len(keys), size):
        chunk = keys[start : start + size]
        # Identifiers come from the models' metadata; the keys are parameters.
        cursor.execute(
            f"DELETE FROM {table} WHERE {column} IN ({', '.join(['%s'] * len(chunk))})",  # noqa: S608
            list(chunk),
        )
        deleted += cursor.rowcount
    return deleted


def prune_log(
    cutoff: datetime, batch_size: int = 1000, pause: float = 0.0, using: str | None = None
) -> Pruned:
    """Delete messages submitted before ``cutoff`` with their recipients and webhook events."""
    from ..models import SentMessage, SentRecipient, WebhookEvent

    alias = using or router.db_for_write(SentMessage)
    connection = connections[alias]
    quote = connection.ops.quote_name
    messages_table = quote(SentMessage._meta.db_table)
    pk, message_id = _column(SentMessage, "id", connection), _column(SentMessage, "message_id", connection)
    submitted = _column(SentMessage, "submitted_at", connection)
    select = (
        f"SELECT {pk}, {message_id} FROM {messages_table} "  # noqa: S608
        f"WHERE {submitted} < %s ORDER BY {submitted} LIMIT %s"
    )
    params = [SentMessage._meta.get_field("submitted_at").get_db_prep_value(cutoff, connection), batch_size]
    messages = events = 0
    while True:
        # The keys are read before the transaction, so that its first statement is a write: on SQLite a
        # transaction that read first cannot then write once a webhook was stored in between ("database is
        # locked" at once, whatever the timeout). A message this old gets no new recipient meanwhile.
        with connection.cursor() as cursor:
            cursor.execute(select, params)
            batch = cursor.fetchall()
        if not batch:
            return Pruned(messages, events)
        message_ids = [row[1] for row in batch]
        with transaction.atomic(using=alias), connection.cursor() as cursor:
            # Events first (no foreign key: linked by MessageID), then the recipients the messages'
            # foreign key protects, then the messages.
            events += _delete_in(
                cursor,
                connection,
                quote(WebhookEvent._meta.db_table),
                _column(WebhookEvent, "message_id", connection),
                message_ids,
            )
            _delete_in(
                cursor,
                connection,
                quote(SentRecipient._meta.db_table),
                _column(SentRecipient, "message", connection),
                message_ids,
            )
            messages += _delete_in(cursor, connection, messages_table, pk, [row[0] for row in batch])
        if len(batch) < batch_size:
            return Pruned(messages, events)
        if pause:
            time.sleep(pause)


def blank_expired_bodies(now: datetime, batch_size: int = 1000, using: str | None = None) -> int:
    """Blank the bodies of messages whose ``bodies_expire_at`` has passed; return how many."""
    from ..models import SentMessage

    alias = using or router.db_for_write(SentMessage)
    total = 0
    while True:
        keys = list(
            SentMessage.objects.using(alias)
            .filter(bodies_expire_at__lt=now)
            # By the bodies_expire_at index. Without an order_by, the model's ordering (newest first)
            # made PostgreSQL walk the submitted_at index from the newest message, past every message
            # whose bodies are kept or already blanked: seconds per batch at 500,000 messages.
            .order_by("bodies_expire_at")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not keys:
            return total
        total += (
            SentMessage.objects.using(alias)
            .filter(pk__in=keys)
            .update(text_body="", html_body="", bodies_expire_at=None)
        )
        if len(keys) < batch_size:
            return total
