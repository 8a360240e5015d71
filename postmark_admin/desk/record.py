"""The sent-message log: what Postmark answered for each message object, written once per request.

The send path calls :func:`record_answers` right after a chunk's answer is mapped, with one
:class:`Answer` per message object of the request. That costs, per Postmark request:

* one ``SELECT`` of the webhook events already stored for the request's MessageIDs (an event can
  arrive before the send's rows commit, or was stored before the log existed: "whichever arrives
  first", see :mod:`.link`);
* one ``INSERT`` of the :class:`~postmark_admin.models.SentMessage` rows and one of their
  :class:`~postmark_admin.models.SentRecipient` rows, in one transaction (a savepoint inside the
  caller's). A request's rows exceed one statement only past the database's parameter limit
  (:func:`insert_rows`): about 2,500 messages or 4,600 recipients on SQLite, 5,000 / 9,300 on
  PostgreSQL, beyond Postmark's 500 messages a request unless the messages have many recipients.

With ``POSTMARK_LOG_MESSAGES = False`` the send path calls nothing here: no SQL at all.
A database error (or any other failure of the log) is logged and swallowed: Postmark has accepted the mail, and the send's result
(``message.postmark_status``, the return value, the exceptions it raises) stays what Postmark said.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses
from functools import partial
from typing import Any

from django.db import DatabaseError, connections, router, transaction
from django.db.models import DateTimeField, JSONField, Model
from django.db.models.constants import OnConflict
from django.utils import timezone

from ..config.effective import app_settings
from ..webhooks.events import MAX_MESSAGE_ID, MAX_STREAM, MAX_TAG, parse_timestamp
from .link import statuses_from_events
from .status import RecipientKind, RecipientState, SentVia

logger = logging.getLogger("postmark_admin.desk")

#: The send path's per-recipient statuses (sending/status.py) -> the log's.
_SEND_STATUS = {
    "sent": RecipientState.SENT,
    "queued": RecipientState.QUEUED,
    "rejected": RecipientState.REFUSED,
    "invalid": RecipientState.REFUSED,
    "failed": RecipientState.REFUSED,
}
#: When a backend states no limit (PostgreSQL): the wire protocol's 65,535 parameters.
_DEFAULT_MAX_PARAMS = 65535
#: The stream a message naming none goes to (Postmark's default).
DEFAULT_STREAM = "outbound"


@dataclass(frozen=True)
class Answer:
    """One message object of a request and Postmark's answer for it.

    ``data`` is the message object sent (From, Subject, Tag, Metadata, bodies...); ``to`` and
    ``cc_bcc`` its recipients' addr-specs (the last ``bcc_count`` of ``cc_bcc`` are Bcc); ``result``
    Postmark's result object, or None when Postmark refused the whole request (then ``error_code``
    and ``message`` say why); ``statuses`` each recipient's send status (sending/status.py's values).
    """

    data: Mapping[str, Any]
    to: Sequence[str]
    cc_bcc: Sequence[str]
    bcc_count: int
    result: Any
    statuses: Mapping[str, Any]
    error_code: int = 0
    message: str = ""


def log_enabled() -> bool:
    """Whether sends are recorded (``POSTMARK_LOG_MESSAGES``, on by default)."""
    return app_settings.LOG_MESSAGES


def sent_via(*, is_batch: bool, templated: bool) -> str:
    """The :class:`SentVia` value of a request to one of the four send endpoints."""
    if templated:
        return SentVia.BATCH_TEMPLATE if is_batch else SentVia.TEMPLATE
    return SentVia.BATCH if is_batch else SentVia.SINGLE


def _status_of(value: Any) -> str | None:
    status = getattr(value, "status", value)
    return _SEND_STATUS.get(str(status))


def _kinds(answer: Answer) -> Iterable[tuple[str, str]]:
    for address in answer.to:
        yield address, RecipientKind.TO
    first_bcc = len(answer.cc_bcc) - answer.bcc_count
    for position, address in enumerate(answer.cc_bcc):
        yield address, RecipientKind.BCC if position >= first_bcc else RecipientKind.CC


def _text(value: Any, limit: int | None = None) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text[:limit] if limit else text


#: One row to insert: the model's field attnames -> Python values (what the model would hold).
Row = dict[str, Any]


def build_rows(
    answers: Iterable[Answer], via: str, now: datetime, bodies_days: int
) -> tuple[list[Row], list[Row]]:
    """The log's rows for the answers (pure); an answer with no usable result is left out.

    A message Postmark refused gets ``message_id = "refused:<uuid4>"``, its ErrorCode and Message, and
    every recipient ``refused``; its bodies are never kept (only the refusal is recorded).
    Rows are plain dicts, not model instances: building 1,000 instances and letting the ORM compile
    their INSERT cost more than the send itself (bench/send.py --log both; see :func:`insert_rows`).
    """
    messages: list[Row] = []
    recipients: list[Row] = []
    expire = now + timedelta(days=bodies_days) if bodies_days else None
    parsed: dict[Any, datetime | None] = {}  # a batch's results share one SubmittedAt
    for answer in answers:
        result = answer.result
        if result is None:
            error_code, text, message_id, submitted = answer.error_code or -1, answer.message, "", None
        elif isinstance(result, Mapping):
            raw_code = result.get("ErrorCode", 0)
            error_code = raw_code if isinstance(raw_code, int) else -1
            text = _text(result.get("Message"))
            message_id = _text(result.get("MessageID"), MAX_MESSAGE_ID)
            stamp = result.get("SubmittedAt")
            if stamp not in parsed:
                parsed[stamp] = parse_timestamp(stamp)
            submitted = parsed[stamp]
        else:
            continue  # an answer that is no result object: nothing known to record
        refused = error_code != 0
        if refused or not message_id:
            message_id = f"{'refused' if refused else 'unknown'}:{uuid.uuid4()}"
        data = answer.data
        metadata = data.get("Metadata")
        keep_bodies = expire is not None and not refused
        messages.append(
            {
                "message_id": message_id,
                "stream": _text(data.get("MessageStream"), MAX_STREAM) or DEFAULT_STREAM,
                "from_email": _text(data.get("From"), 320),
                "subject": _text(data.get("Subject")),
                "tag": _text(data.get("Tag"), MAX_TAG),
                "metadata": dict(metadata) if isinstance(metadata, Mapping) else {},
                "submitted_at": submitted or now,
                "sent_via": via,
                "error_code": error_code,
                "postmark_message": text,
                "text_body": _text(data.get("TextBody")) if keep_bodies else "",
                "html_body": _text(data.get("HtmlBody")) if keep_bodies else "",
                "bodies_expire_at": expire if keep_bodies else None,
            }
        )
        statuses = answer.statuses
        for address, kind in _kinds(answer):
            status = RecipientState.REFUSED if refused else _status_of(statuses.get(address))
            recipients.append(
                {
                    "message_id": message_id,
                    "address": address[:320],
                    "address_key": address.casefold()[:320],
                    "kind": kind,
                    "status": status or RecipientState.REFUSED,
                    "status_at": now,
                    "last_event_type": "",
                }
            )
    return messages, recipients


def max_rows(alias: str, model: type[Model]) -> int:
    """How many rows of ``model`` one INSERT may carry on ``alias`` (the database's parameter limit)."""
    connection = connections[alias]
    limit = connection.features.max_query_params or _DEFAULT_MAX_PARAMS
    if connection.vendor == "sqlite":
        # Django assumes SQLite's old compile-time default (999); SQLite since 3.32 allows 32,766,
        # and the connection says what this build allows.
        import sqlite3

        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    fields = sum(1 for field in model._meta.concrete_fields if not field.primary_key)
    return max(1, limit // fields)


def _preparers(model: type[Model], connection: Any) -> list[tuple[str, Any]]:
    """Each column's attname, and the function that makes its value what the database takes (or None).

    Text and integer columns go as they are (their get_db_prep_save is the identity for a str or int);
    JSON and datetime columns through their field's own get_db_prep_save, as the ORM's INSERT does.
    """
    preparers = []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        prepare = None
        if isinstance(field, JSONField | DateTimeField):
            prepare = partial(field.get_db_prep_save, connection=connection)
        preparers.append((field.attname, prepare))
    return preparers


def insert_rows(
    model: type[Model], rows: Sequence[Row], alias: str, *, ignore_conflicts: bool = False
) -> None:
    """``rows`` in as few multi-row INSERT statements as the database's parameter limit allows (usually one).

    Not ``bulk_create``: it cuts at Django's idea of SQLite's limit (999 parameters: 76 messages a
    statement), and building model instances and compiling their INSERT took about 0.1 ms a message
    (bench/send.py --log both). The SQL is the ORM's own (the backend's insert_statement and
    on_conflict_suffix_sql); identifiers come from the model's metadata, values are parameters.
    """
    connection = connections[alias]
    quote = connection.ops.quote_name
    preparers = _preparers(model, connection)
    fields = [field for field in model._meta.concrete_fields if not field.primary_key]
    columns = ", ".join(quote(field.column or "") for field in fields)
    on_conflict = OnConflict.IGNORE if ignore_conflicts else None
    head = f"{connection.ops.insert_statement(on_conflict=on_conflict)} {quote(model._meta.db_table)} ({columns}) VALUES "
    tail = connection.ops.on_conflict_suffix_sql(fields, on_conflict, [], [])
    placeholder = "(" + ", ".join(["%s"] * len(fields)) + ")"
    memo: dict[tuple[str, Any], Any] = {}  # one datetime (or empty JSON) prepared once per statement
    size = max_rows(alias, model)
    for start in range(0, len(rows), size):
        batch = rows[start : start + size]
        params: list[Any] = []
        for row in batch:
            for name, prepare in preparers:
                value = row[name]
                if prepare is None:
                    pass
                elif isinstance(value, dict) and value:
                    value = prepare(value)
                else:
                    key = (name, None if isinstance(value, dict) else value)
                    if key not in memo:
                        memo[key] = prepare(value)
                    value = memo[key]
                params.append(value)
        sql = head + ", ".join([placeholder] * len(batch)) + (f" {tail}" if tail else "")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def record_answers(answers: Sequence[Answer], via: str) -> None:
    """Record one Postmark request's answers: one SELECT and two INSERTs (see the module's docstring).

    Never raises for a database error: the mail is sent whatever the log says; the error is logged.
    """
    from ..models import SentMessage, SentRecipient

    try:
        now = timezone.now()
        messages, recipients = build_rows(answers, via, now, app_settings.LOG_BODIES_DAYS)
        if not messages:
            return
        alias = router.db_for_write(SentMessage)
        statuses_from_events(
            recipients, [row["message_id"] for row in messages if row["error_code"] == 0], alias
        )
        with transaction.atomic(using=alias):
            insert_rows(SentMessage, messages, alias, ignore_conflicts=True)
            insert_rows(SentRecipient, recipients, alias)
    except DatabaseError:
        logger.exception("Postmark: %d sent messages were not recorded in the sent-message log", len(answers))
    except Exception:  # Postmark accepted the mail: nothing the log does may undo that
        logger.exception("Postmark: the sent-message log failed; %d sent messages not recorded", len(answers))


def _keys(field: Any) -> set[str]:
    """The casefolded addr-specs in an address field of a message object (``"A <a@x>, b@x"``)."""
    if not field:
        return set()
    return {address.casefold() for _name, address in getaddresses([str(field)]) if address}


def record_bulk(
    data: Mapping[str, Any], recipients: Sequence[Sequence[str]], status: Any, error: Any
) -> None:
    """Record a Bulk API request (``POST /email/bulk``) as one message: the job, its recipients queued.

    Postmark answers a bulk request with a job ID, not a MessageID per recipient (those exist only
    once the job runs), so the row's ``message_id`` is ``bulk:<job ID>`` and every recipient stays
    ``queued``: the webhook events of the job's messages carry their own MessageIDs and do not link
    to it (the desk finds them by address). A refused request records the refusal (``refused:``).
    ``status`` is the message's :class:`~postmark_admin.sending.status.PostmarkStatus`, ``error`` the
    :class:`~postmark_admin.exceptions.PostmarkAPIError` of a refusal.
    """
    shared = {key: value for key, value in data.items() if key != "Messages"}
    entries = [entry for entry in data.get("Messages", []) if isinstance(entry, Mapping)]
    first = entries[0] if entries else {}
    # The job's Metadata and Tag as the first entry sees them (an entry's own Metadata merges over).
    message_data = {**shared, **{key: first[key] for key in ("Metadata", "Tag") if key in first}}
    to: list[str] = []
    cc: list[str] = []
    bcc: list[str] = []
    seen: set[str] = set()
    for entry, addresses in zip(entries or [{}], recipients, strict=False):
        bcc_keys = _keys(entry.get("Bcc") or shared.get("Bcc"))
        cc_keys = _keys(entry.get("Cc") or shared.get("Cc"))
        for address in addresses:
            key = address.casefold()
            if key in seen:
                continue  # a Cc or Bcc shared by every entry of the job: one recipient row
            seen.add(key)
            (bcc if key in bcc_keys else cc if key in cc_keys else to).append(address)
    others = [*cc, *bcc]
    bcc_seen = len(bcc)
    job = getattr(status, "bulk_job", None)
    if job is not None:
        result: Mapping[str, Any] | None = {
            "ErrorCode": 0,
            "Message": job.status,
            "MessageID": f"bulk:{job.id}",
            "SubmittedAt": job.submitted_at,
        }
        answer = Answer(message_data, to, others, bcc_seen, result, dict.fromkeys([*to, *others], "queued"))
    else:
        answer = Answer(
            message_data,
            to,
            others,
            bcc_seen,
            None,
            {},
            error_code=getattr(error, "error_code", None) or -1,
            message=str(getattr(error, "message", "") or ""),
        )
    record_answers([answer], SentVia.BULK)
