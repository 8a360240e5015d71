"""The sent-message log: what Postmark answered for each message object, written once per request.

The send path calls :func:`record_answers` right after a chunk's answer is mapped, with one
:class:`Answer` per message object of the request. That costs, per Postmark request, once Postmark
has answered:

* one ``INSERT`` of the :class:`~postmark_admin.models.SentMessage` rows and their
  :class:`~postmark_admin.models.SentRecipient` rows: one statement on PostgreSQL, two in one
  transaction on SQLite, which has no data-modifying CTE (:mod:`.insert`);
* once those rows are committed, one ``SELECT`` of the webhook events already stored for the
  request's MessageIDs (an event can outrun the send: "whichever arrives first", see :mod:`.link`),
  and an ``UPDATE`` only for a recipient such an event moves.

On by default; with ``POSTMARK_LOG_MESSAGES = False`` the send path calls nothing here: no SQL at all.
A database error (or any other failure of the log) is logged and swallowed: Postmark has accepted the
mail, and the send's result
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

from django.db import DatabaseError, router, transaction
from django.utils import timezone

from ..config.effective import app_settings
from ..webhooks.events import MAX_MESSAGE_ID, MAX_STREAM, MAX_TAG, parse_timestamp
from .insert import Row, insert_logged
from .link import advance_from_events
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


def build_rows(
    answers: Iterable[Answer], via: str, now: datetime, bodies_days: int
) -> tuple[list[Row], list[Row]]:
    """The log's rows for the answers (pure); an answer with no usable result is left out.

    A message Postmark refused gets ``message_id = "refused:<uuid4>"``, its ErrorCode and Message, and
    every recipient ``refused``; its bodies are never kept (only the refusal is recorded).
    Rows are plain dicts, not model instances: building 1,000 instances and letting the ORM compile
    their INSERT cost more than the send itself (bench/send.py --log both; see :mod:`.insert`).
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


def record_answers(answers: Sequence[Answer], via: str) -> None:
    """Record one Postmark request's answers: one INSERT, then, once committed, one SELECT (module docstring).

    Never raises for a database error: the mail is sent whatever the log says; the error is logged.
    """
    from ..models import SentMessage

    try:
        messages, recipients = build_rows(answers, via, timezone.now(), app_settings.LOG_BODIES_DAYS)
        if not messages:
            return
        alias = router.db_for_write(SentMessage)
        insert_logged(messages, recipients, alias)
        linked = [row["message_id"] for row in messages if row["error_code"] == 0 and via != SentVia.BULK]
        if linked:
            # After the commit (at once in autocommit; after the outer commit inside ATOMIC_REQUESTS):
            # an event committed before it is seen here, one committed after it finds the rows.
            transaction.on_commit(partial(_link, linked, alias), using=alias)
    except DatabaseError:
        logger.exception("Postmark: %d sent messages were not recorded in the sent-message log", len(answers))
    except Exception:  # Postmark accepted the mail: nothing the log does may undo that
        logger.exception("Postmark: the sent-message log failed; %d sent messages not recorded", len(answers))


def _link(message_ids: Sequence[str], alias: str) -> None:
    """The link pass of committed rows (desk/link.py); an error is logged, the rows stay as the send left them."""
    try:
        advance_from_events(message_ids, alias)
    except Exception:  # the send is done and logged: a status that lags is all a failure here costs
        logger.exception("Postmark: the sent-message log's statuses were not linked to stored events")


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
