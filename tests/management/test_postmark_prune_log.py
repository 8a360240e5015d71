"""``manage.py postmark_prune_log``: old messages go with their recipients and events, in bounded batches."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models.signals import post_delete, pre_delete
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from postmark_admin.desk.prune import prune_log
from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent

pytestmark = pytest.mark.django_db


def message(message_id: str, days_old: float, **fields) -> SentMessage:
    sent = SentMessage.objects.create(
        message_id=message_id,
        sent_via="single",
        submitted_at=timezone.now() - timedelta(days=days_old),
        **fields,
    )
    SentRecipient.objects.create(
        message=sent, address="a@example.com", address_key="a@example.com", status="sent"
    )
    WebhookEvent.objects.create(dedupe_key=f"d-{message_id}", event_type="delivered", message_id=message_id)
    return sent


def test_old_messages_go_with_their_recipients_and_events(settings):
    settings.POSTMARK_LOG_RETENTION_DAYS = 90
    for i in range(5):
        message(f"old-{i}", 100)
    message("new", 10)
    out = StringIO()
    call_command("postmark_prune_log", "--batch-size", "2", stdout=out)
    assert "Deleted 5 sent messages" in out.getvalue() and "5 webhook events" in out.getvalue()
    assert list(SentMessage.objects.values_list("message_id", flat=True)) == ["new"]
    assert SentRecipient.objects.count() == 1
    assert list(WebhookEvent.objects.values_list("message_id", flat=True)) == ["new"]


def test_each_batch_is_bounded():
    for i in range(5):
        message(f"old-{i}", 100)
    with CaptureQueriesContext(connection) as queries:
        assert prune_log(timezone.now() - timedelta(days=90), batch_size=2) == (5, 5)
    deletes = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("DELETE")]
    assert len(deletes) == 3 * 3  # three batches (2 + 2 + 1), three statements each
    selects = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]
    # Per batch: only the batch's keys (LIMIT); no Collector reading them again to build instances.
    assert len(selects) == 3 and all("LIMIT 2" in sql for sql in selects)
    assert all("body" not in sql for sql in selects)  # no body is loaded to delete it


def test_no_instance_and_no_signal_even_with_a_receiver_for_every_model():
    """A post_delete receiver for every model (audit-log apps connect one) would make Django's Collector
    load every message and every event into Python; the prune deletes by key instead, and keeps the
    events of the messages it keeps."""
    for i in range(3):
        message(f"old-{i}", 100)
    message("new", 10)
    WebhookEvent.objects.create(dedupe_key="unlinked", event_type="delivered", message_id="never-logged")
    seen = []

    def receiver(sender, **kwargs):
        seen.append(sender)

    post_delete.connect(receiver, weak=False)
    pre_delete.connect(receiver, weak=False)
    try:
        with CaptureQueriesContext(connection) as queries:
            assert prune_log(timezone.now() - timedelta(days=90), batch_size=10) == (3, 3)
    finally:
        post_delete.disconnect(receiver)
        pre_delete.disconnect(receiver)
    assert seen == []
    assert sum(query["sql"].startswith("SELECT") for query in queries.captured_queries) == 1
    assert sorted(WebhookEvent.objects.values_list("message_id", flat=True)) == ["never-logged", "new"]
    assert list(SentRecipient.objects.values_list("message_id", flat=True)) == ["new"]


def test_old_messages_are_deleted_before_bodies_are_blanked():
    """Blanking the bodies of a message about to be deleted would only rewrite its row."""
    expired = timezone.now() - timedelta(days=1)
    message("old", 100, text_body="t", bodies_expire_at=expired)
    message("recent", 10, text_body="t", bodies_expire_at=expired)
    out = StringIO()
    with CaptureQueriesContext(connection) as queries:
        call_command("postmark_prune_log", "--older-than", "90d", stdout=out)
    assert "Deleted 1 sent message submitted" in out.getvalue()
    assert "Blanked the bodies of 1 message." in out.getvalue()
    updates = [query["sql"] for query in queries.captured_queries if query["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    # The bodies' batch is read by their date's index, not in the model's newest-first ordering.
    (select,) = [sql for sql in queries.captured_queries if 'bodies_expire_at" <' in sql["sql"]]
    assert 'ORDER BY "postmark_admin_sentmessage"."bodies_expire_at" ASC' in select["sql"]
    assert SentMessage.objects.get().text_body == ""


def test_bodies_are_blanked_past_their_date():
    expired = message(
        "m-1", 1, text_body="t", html_body="<p>h</p>", bodies_expire_at=timezone.now() - timedelta(hours=1)
    )
    kept = message("m-2", 1, text_body="t", bodies_expire_at=timezone.now() + timedelta(days=1))
    out = StringIO()
    call_command("postmark_prune_log", "--older-than", "30d", stdout=out)
    assert "Blanked the bodies of 1 message." in out.getvalue()
    expired.refresh_from_db()
    kept.refresh_from_db()
    assert (expired.text_body, expired.html_body, expired.bodies_expire_at) == ("", "", None)
    assert kept.text_body == "t"


def test_dry_run_and_bad_arguments():
    message("old", 100)
    out = StringIO()
    call_command("postmark_prune_log", "--older-than", "90d", "--dry-run", stdout=out)
    assert "1 sent messages would be deleted" in out.getvalue()
    assert SentMessage.objects.count() == 1
    with pytest.raises(CommandError):
        call_command("postmark_prune_log", "--older-than", "soon")
    with pytest.raises(CommandError):
        call_command("postmark_prune_log", "--batch-size", "0")
