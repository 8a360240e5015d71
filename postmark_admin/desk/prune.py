"""Retention of the sent-message log (``manage.py postmark_prune_log``), in bounded batches.

Each batch reads at most ``batch_size`` old messages' keys, then, in one transaction, deletes their
webhook events (by MessageID), their recipients and the messages: two SELECTs and three DELETEs of
at most ``batch_size`` keys each, so no lock is held for long and the command runs while mail goes out.
Bodies kept by ``POSTMARK_LOG_BODIES_DAYS`` are blanked once past their date, the same way.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import NamedTuple

from django.db import router, transaction


class Pruned(NamedTuple):
    messages: int
    events: int


def prune_log(
    cutoff: datetime, batch_size: int = 1000, pause: float = 0.0, using: str | None = None
) -> Pruned:
    """Delete messages submitted before ``cutoff`` with their recipients and webhook events."""
    from ..models import SentMessage, WebhookEvent

    alias = using or router.db_for_write(SentMessage)
    messages = events = 0
    while True:
        batch = list(
            SentMessage.objects.using(alias)
            .filter(submitted_at__lt=cutoff)
            .order_by("submitted_at")
            .values_list("pk", "message_id")[:batch_size]
        )
        if not batch:
            return Pruned(messages, events)
        keys = [pk for pk, _message_id in batch]
        message_ids = [message_id for _pk, message_id in batch]
        with transaction.atomic(using=alias):
            # The events: one DELETE (no signals, no dependents). The messages: the CASCADE reads the
            # batch's keys (only those columns), deletes its recipients by message_id IN (...), then the rows.
            events += WebhookEvent.objects.using(alias).filter(message_id__in=message_ids).delete()[0]
            deleted = (
                SentMessage.objects.using(alias).filter(pk__in=keys).only("pk", "message_id").delete()[1]
            )
            messages += deleted.get(SentMessage._meta.label, 0)
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
