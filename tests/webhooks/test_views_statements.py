"""SQL statements per webhook: counts that catch a regression of the view's cost at load.

A new event costs one statement (the ``INSERT ... ON CONFLICT DO NOTHING RETURNING``), committed on its
own in autocommit mode, also on a site with ``ATOMIC_REQUESTS`` (which would add BEGIN and COMMIT, two
round trips that no query log shows: the tests look at the connection's autocommit state instead).
With the sent-message log on (the default) a new event adds the recipient's UPDATE, also autocommitted.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, connections
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

from postmark_admin.config import row_cache as settings_cache
from postmark_admin.models import WebhookEvent
from postmark_admin.webhooks import storage
from postmark_admin.webhooks.body import parse_body
from postmark_admin.webhooks.events import normalize
from postmark_admin.webhooks.views import TrackingWebhookView

from .conftest import TRACKING_URL, post
from .payloads import load


def _plain_view(request):
    """An ordinary Django view that writes: the control showing what ATOMIC_REQUESTS does to a view."""
    WebhookEvent.objects.create(dedupe_key="control", event_type="unknown", record_type="Control")
    return HttpResponse(status=200)


urlpatterns = [
    path("tracking/", TrackingWebhookView.as_view()),
    path("plain/", _plain_view),
]


class StatementLog:
    """Every statement the connection runs, with whether it ran in autocommit mode (no BEGIN before it)."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, bool]] = []

    def __call__(self, execute, sql, params, many, context):
        self.statements.append((sql, connection.get_autocommit()))
        return execute(sql, params, many, context)


@pytest.fixture
def atomic_requests(monkeypatch):
    """The default database with ATOMIC_REQUESTS on, as a site may configure it."""
    assert connections.settings["default"] is connection.settings_dict
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)


@pytest.fixture
def warm(monkeypatch, creds):
    """A warm process: the settings row read once and kept (as between two of its re-reads)."""
    monkeypatch.setattr(settings_cache, "LOCAL_TTL", 3600.0)
    settings_cache.clear()
    assert post(Client(), TRACKING_URL, load("delivery"), creds).status_code == 200
    return creds


def _posted(url: str, payload, auth) -> StatementLog:
    log = StatementLog()
    with connection.execute_wrapper(log):
        assert post(Client(), url, payload, auth).status_code == 200
    return log


@pytest.mark.parametrize("atomic", [False, True], ids=["autocommit", "ATOMIC_REQUESTS"])
def test_one_autocommitted_statement_per_event(transactional_db, received, warm, request, atomic):
    if atomic:
        request.getfixturevalue("atomic_requests")
    new = _posted(TRACKING_URL, load("open"), warm)
    repeat = _posted(TRACKING_URL, load("open"), warm)
    for log in (new, repeat):
        sql, autocommit = log.statements[0]
        # On PostgreSQL, with the log on (the default), the INSERT sits in one WITH with the recipient's
        # UPDATE (webhooks/storage.py insert_event_linked); no send logged this recipient, so the UPDATE
        # after the commit below still runs.
        assert sql.startswith(("INSERT INTO", "WITH inserted AS (INSERT INTO")) and "ON CONFLICT" in sql
        assert autocommit, "the INSERT ran inside a transaction: BEGIN and COMMIT cost two more round trips"
    # The sent-message log (on by default) moves the new event's recipient: an UPDATE of its own, after
    # the INSERT committed, so that a send committing in between sees the event (desk/link.py).
    assert [(sql.split(None, 1)[0], autocommit) for sql, autocommit in new.statements[1:]] == [
        ("UPDATE", True)
    ]
    assert len(repeat.statements) == 1, repeat.statements
    # The signal fired once, for the new event only, after its commit.
    assert [call[2] for call in received] == ["delivered", "opened"]
    assert WebhookEvent.objects.count() == 2


@override_settings(ROOT_URLCONF=__name__)
def test_control_atomic_requests_wraps_an_ordinary_view(transactional_db, atomic_requests):
    # Shows that the check above can fail: the same log sees an ordinary view's write in a transaction.
    log = _posted("/plain/", {}, None)
    # (SQLite's BEGIN is a statement Django runs itself; PostgreSQL's is sent by the driver, unlogged.)
    assert [autocommit for sql, autocommit in log.statements if sql.startswith("INSERT")] == [False]


def test_signals_fire_after_the_commit_under_atomic_requests(transactional_db, warm, atomic_requests):
    seen = []

    def receiver(sender, event, **kwargs):
        # Another connection sees the row: it is committed.
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    f"SELECT count(*) FROM {WebhookEvent._meta.db_table} WHERE id = %s", [event.pk]
                )
                seen.append((event.event_type, cursor.fetchone()[0], connection.in_atomic_block))
        finally:
            other.close()

    from postmark_admin import signals

    signals.tracking.connect(receiver)
    try:
        post(Client(), TRACKING_URL, load("open"), warm)
        post(Client(), TRACKING_URL, load("open"), warm)
    finally:
        signals.tracking.disconnect(receiver)
    assert seen == [("opened", 1, False)]


def test_statement_text_is_built_once_and_values_prepared_as_the_orm_does(db):
    received_at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    first = normalize(
        parse_body(b'{"RecordType": "Delivery", "Recipient": "a@example.com", "Metadata": {"k": 1}}')
    )
    second = normalize(
        parse_body(b'{"RecordType": "Bounce", "ID": 42, "Type": "HardBounce", "Email": "b@x.io"}')
    )
    sql, params = storage.insert_statement(first, received_at, connection)
    again, other = storage.insert_statement(second, received_at, connection)
    assert again is sql  # the same string object: not rebuilt per event
    # Every value as get_db_prep_save gives it, the ORM's own preparation (the text columns skip it).
    fields = [field for field in WebhookEvent._meta.concrete_fields if not field.primary_key]
    for normalized, values in ((first, params), (second, other)):
        row = {**normalized.model_fields(), "received_at": received_at}
        expected = [field.get_db_prep_save(row[field.name], connection) for field in fields]
        assert [_comparable(value) for value in values] == [_comparable(value) for value in expected]


def _comparable(value):
    # psycopg's Jsonb wrapper compares by identity: compare what it wraps.
    return getattr(value, "obj", value)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's binding: PostgreSQL only")
def test_insert_binds_its_values_on_the_server(transactional_db, warm):
    import psycopg

    cursors = []

    def wrapper(execute, sql, params, many, context):
        if sql.startswith(("INSERT", "WITH")):  # not the log's recipient UPDATE (a few values, ORM cursor)
            cursors.append(type(context["cursor"].cursor))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        assert post(Client(), TRACKING_URL, load("open"), warm).status_code == 200
    # Django's default cursor (ClientCursor) would quote the 17 values into the SQL text in Python.
    assert len(cursors) == 1 and not issubclass(cursors[0], psycopg.ClientCursor), cursors


# -- the sent-message log on: the event and its recipient's status -------------------------------------


def _log_recipient(message_id: str, address: str, status: str = "sent"):
    from postmark_admin.models import SentMessage, SentRecipient

    SentMessage.objects.get_or_create(message_id=message_id, defaults={"sent_via": "single"})
    return SentRecipient.objects.create(
        message_id=message_id, address=address, address_key=address.casefold(), status=status
    )


def _committed_status(recipient) -> tuple[str, str]:
    """The recipient's status as another connection sees it: what is committed."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            table = type(recipient)._meta.db_table
            cursor.execute(f"SELECT status, last_event_type FROM {table} WHERE id = %s", [recipient.pk])
            return cursor.fetchone()
    finally:
        other.close()


@pytest.mark.parametrize("atomic", [False, True], ids=["autocommit", "ATOMIC_REQUESTS"])
def test_a_linked_event_and_its_status_commit_together(transactional_db, warm, settings, request, atomic):
    if atomic:
        request.getfixturevalue("atomic_requests")
    settings.POSTMARK_LOG_MESSAGES = True
    payload = load("bounce")  # john@example.com's hard bounce
    recipient = _log_recipient(payload["MessageID"], "John@Example.com", status="delivered")
    new = _posted(TRACKING_URL, payload, warm)
    assert _committed_status(recipient) == ("bounced", "bounced")
    type(recipient).objects.filter(pk=recipient.pk).update(status="sent")
    repeat = _posted(TRACKING_URL, payload, warm)
    assert _committed_status(recipient) == ("sent", "bounced"), "a repeat moved the status"
    if connection.vendor == "postgresql":
        # One statement, so one round trip and one commit: the INSERT and the UPDATE in a WITH.
        for log in (new, repeat):
            assert len(log.statements) == 1, log.statements
            sql, autocommit = log.statements[0]
            assert sql.startswith("WITH inserted AS (INSERT INTO") and autocommit
    else:
        # The recipient's UPDATE after the event's INSERT has committed (each in autocommit mode).
        assert [(sql.split(None, 1)[0], autocommit) for sql, autocommit in new.statements] == [
            ("INSERT", True),
            ("UPDATE", True),
        ]
        assert [sql.split(None, 1)[0] for sql, _ in repeat.statements] == ["INSERT"]


def test_a_linked_event_never_moves_its_recipient_back(transactional_db, warm, settings):
    settings.POSTMARK_LOG_MESSAGES = True
    payload = {**load("delivery"), "MessageID": "m-never-back"}  # not the warm-up's event
    recipient = _log_recipient(payload["MessageID"], payload["Recipient"], status="bounced")
    _posted(TRACKING_URL, payload, warm)
    assert _committed_status(recipient) == ("bounced", "")
    assert WebhookEvent.objects.filter(message_id=payload["MessageID"]).count() == 1


def test_an_event_of_an_unlogged_recipient_looks_again_after_its_commit(transactional_db, warm, settings):
    """The recipient is not in the log when the event is stored: the view runs the desk's UPDATE after
    the commit (which finds a recipient logged meanwhile, by a send whose rows committed later)."""
    settings.POSTMARK_LOG_MESSAGES = True
    payload = load("open")
    _log_recipient(payload["MessageID"], "someone-else@example.com")
    log = _posted(TRACKING_URL, payload, warm)
    expected = (
        [("WITH", True), ("UPDATE", True)]
        if connection.vendor == "postgresql"
        else [("INSERT", True), ("UPDATE", True)]
    )
    assert [(sql.split(None, 1)[0], autocommit) for sql, autocommit in log.statements] == expected
    assert WebhookEvent.objects.filter(event_type="opened").count() == 1


def test_the_log_off_costs_no_statement_for_the_recipient(transactional_db, warm, settings):
    settings.POSTMARK_LOG_MESSAGES = False
    payload = load("click")
    _log_recipient(payload["MessageID"], payload["Recipient"])
    log = _posted(TRACKING_URL, payload, warm)
    assert [sql.split(None, 1)[0] for sql, _ in log.statements] == ["INSERT"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the one-statement path is PostgreSQL's")
def test_a_failing_status_update_does_not_cost_the_event(transactional_db, warm, settings, caplog):
    """The status UPDATE fails (here: a CHECK the recipients table gets for this test): the one statement
    stored nothing, so the view stores the event on its own; the desk's UPDATE fails again, logged."""
    from postmark_admin.models import SentRecipient

    settings.POSTMARK_LOG_MESSAGES = True
    payload = load("bounce")
    recipient = _log_recipient(payload["MessageID"], payload["Email"], status="delivered")
    table = SentRecipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT test_no_bounce CHECK (status <> 'bounced')")
    try:
        log = _posted(TRACKING_URL, payload, warm)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT test_no_bounce")
    assert [sql.split(None, 1)[0] for sql, _ in log.statements] == ["WITH", "INSERT", "UPDATE"]
    assert WebhookEvent.objects.filter(event_type="bounced").count() == 1
    assert _committed_status(recipient) == ("delivered", "")
    assert "storing a webhook event with its recipient's status failed" in caplog.text
