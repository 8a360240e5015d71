"""The worker's half of queued sending: the ``send_prepared`` task, one Postmark call per task.

:mod:`~postmark_admin.sending.enqueue` maps and checks every message in the caller's process, cuts
them into Postmark's batches (:mod:`~postmark_admin.sending.batching`) and enqueues one task per
batch with the prepared message objects: plain JSON, never an ``EmailMessage``, never a token. The
worker reads its own effective configuration (the server token from the admin, settings.py, the
environment or the mailer's ``OPTIONS`` in the worker's settings), posts the batch over the
process's pooled session with the client's safe retries, and returns each message's outcome as the
task's result, which the task backend stores.

A batch is tried again as a new task (``attempt`` + 1, up to ``POSTMARK_TASK_MAX_ATTEMPTS``) only
when Postmark cannot have accepted any of it: HTTP 429 or 503, or a connection that never carried the
request. A read timeout, a 5xx other than 503 or a connection that broke after sending may hide
accepted messages: Postmark has no idempotency key, so a retry could deliver them twice. Those are
recorded as ``ambiguous`` and never retried. docs/queued.rst gives the guarantee step by step.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import getaddresses
from typing import Any

from django.utils.translation import gettext as _

from .. import signals
from ..config.effective import EffectiveConfig, app_settings, effective_config
from ..config.fields import FIELDS
from ..desk.record import Answer, log_enabled, record_answers
from ..desk.status import SentVia
from ..exceptions import (
    PostmarkAPIError,
    PostmarkConfigurationError,
    PostmarkError,
    PostmarkQueueError,
    PostmarkTransportError,
)
from .batching import align_results, endpoint_path
from .client import RETRY_STATUSES, PostmarkClient
from .errors import error_code_and_message
from .status import UNKNOWN, PostmarkStatus, RecipientStatus, parse_result

logger = logging.getLogger("postmark_admin.sending.queued")

#: A message's outcome in a task's result.
OUTCOME_SENT = "sent"  # Postmark accepted it (for at least one recipient)
OUTCOME_REFUSED = "refused"  # Postmark answered and refused it (its ErrorCode and Message are kept)
OUTCOME_FAILED = "failed"  # not sent: a definite failure (no token on the worker, 401, 413...)
OUTCOME_AMBIGUOUS = "ambiguous"  # may or may not have been sent; never retried
OUTCOME_RETRIED = "retried"  # not sent; a new task (``retried_as``) tries again
OUTCOMES = (OUTCOME_SENT, OUTCOME_REFUSED, OUTCOME_FAILED, OUTCOME_AMBIGUOUS, OUTCOME_RETRIED)

# The backend's options the worker may take from the task: not secrets, and where the token may be sent
# is still checked against POSTMARK_ALLOWED_API_HOSTS by the client.
QUEUEABLE_OPTIONS = ("api_url", "timeout")


def tasks_module() -> Any:
    """``django.tasks`` (Django 6) or the ``django_tasks`` backport (Django 5.2)."""
    for name in ("django.tasks", "django_tasks"):
        if importlib.util.find_spec(name) is not None:
            return importlib.import_module(name)
    raise PostmarkConfigurationError(
        _(
            "Queued sending needs Django's Tasks framework: Django 6, or the django-tasks package on "
            "Django 5.2 (pip install 'django-postmark-admin[tasks]')."
        )
    )


@dataclass
class ChunkOutcome:
    """What one task did: the outcome of each message object, in request order."""

    attempt: int
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    #: The whole call's error (None when Postmark answered the batch).
    error: str | None = None
    http_status: int | None = None
    error_code: int | None = None
    retried_as: str | None = None

    def count(self, outcome: str) -> int:
        return sum(1 for item in self.outcomes if item["outcome"] == outcome)

    def as_result(self) -> dict[str, Any]:
        """The task's return value (JSON: every backend can store it)."""
        return {
            "attempt": self.attempt,
            "error": self.error,
            "http_status": self.http_status,
            "error_code": self.error_code,
            "retried_as": self.retried_as,
            "counts": {name: self.count(name) for name in OUTCOMES},
            "messages": self.outcomes,
        }


def worker_config(mailer: str | None, options: Mapping[str, Any]) -> EffectiveConfig:
    """The configuration the worker sends with: its own, plus the task's non-secret options.

    With ``mailer`` (Django 6.1's MAILERS alias), that mailer's ``OPTIONS`` in the worker's settings
    come first, so a per-mailer server token works without ever travelling through the queue.
    """
    from django.conf import settings

    arguments: dict[str, Any] = {}
    if mailer is not None:
        mailer_options = getattr(settings, "MAILERS", {}).get(mailer, {}).get("OPTIONS", {})
        # The backend's options are the configuration fields but the webhook credentials.
        names = set(FIELDS) - {"webhook_credentials"}
        arguments.update({name: value for name, value in mailer_options.items() if name in names})
    arguments.update({name: options[name] for name in QUEUEABLE_OPTIONS if options.get(name) is not None})
    return effective_config(**{name: value for name, value in arguments.items() if value is not None})


@dataclass(frozen=True)
class QueuedBatch:
    """The batch one task carries, as :mod:`~postmark_admin.sending.batching` planned it in the caller.

    ``body`` is the request body exactly as Postmark gets it (one string: the task framework then has
    a single value to check and store rather than a tree per message); ``recipients`` holds each
    message object's ``(To, Cc + Bcc)`` addr-specs, in request order, to map each result back;
    ``refs`` the caller's reference of each (the message's position in its ``send_messages()`` call).
    """

    body: str
    recipients: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...]
    refs: tuple[Any, ...]
    templated: bool

    @classmethod
    def from_task(
        cls, body: str, recipients: Sequence[Sequence[Sequence[str]]], refs: Sequence[Any], templated: bool
    ) -> QueuedBatch:
        return cls(
            body, tuple((tuple(to), tuple(cc_bcc)) for to, cc_bcc in recipients), tuple(refs), templated
        )

    @property
    def is_batch(self) -> bool:
        return len(self.recipients) > 1

    @property
    def path(self) -> str:
        return endpoint_path(is_batch=self.is_batch, templated=self.templated)


def cannot_have_been_accepted(error: PostmarkError) -> bool:
    """Whether Postmark certainly accepted nothing of the request that raised ``error`` (a retry is safe).

    HTTP 429 and 503 are answers that accept nothing; a transport error is safe only when the client
    knows the request never left (a refused connection, a connect timeout, a failed TLS handshake).
    """
    if isinstance(error, PostmarkTransportError):
        return not error.ambiguous
    return isinstance(error, PostmarkAPIError) and error.status_code in RETRY_STATUSES


def is_ambiguous(error: PostmarkError) -> bool:
    """Whether the request may have been accepted although no usable answer came back."""
    if isinstance(error, PostmarkTransportError):
        return error.ambiguous
    status = error.status_code if isinstance(error, PostmarkAPIError) else None
    return status is not None and status >= 500 and status not in RETRY_STATUSES


def _recipients(to: Sequence[str], cc_bcc: Sequence[str], status: str) -> dict[str, list[Any]]:
    return {address: [status, None] for address in (*to, *cc_bcc)}


def outcome_of_answer(batch: QueuedBatch, status_code: int, answer: Any, attempt: int) -> ChunkOutcome:
    """Each message's outcome from Postmark's answer to the batch (pure)."""
    outcome = ChunkOutcome(attempt=attempt, http_status=status_code)
    results: list[Any]
    if not batch.is_batch:
        results = [answer]
    elif (
        200 <= status_code < 300
        and (aligned := align_results(answer, [to for to, _cc in batch.recipients])) is not None
    ):
        results = aligned  # by position, or by To for an answer that is not one result per message
    else:
        # The whole batch refused (a 422: ErrorCode 410, invalid JSON...), or a 2xx answer that cannot
        # be mapped to the messages: Postmark may have accepted them, so that is ambiguous.
        outcome.error_code, message = error_code_and_message(answer)
        outcome.error = _("Postmark refused the whole batch: %(message)s") % {"message": message}
        kind = OUTCOME_REFUSED if status_code == 422 else OUTCOME_AMBIGUOUS
        for ref, (to, cc_bcc) in zip(batch.refs, batch.recipients, strict=True):
            outcome.outcomes.append(
                {
                    "ref": ref,
                    "outcome": kind,
                    "error_code": outcome.error_code,
                    "error": message,
                    "recipients": _recipients(to, cc_bcc, "failed" if kind == OUTCOME_REFUSED else UNKNOWN),
                }
            )
        return outcome
    for ref, (to, cc_bcc), result in zip(batch.refs, batch.recipients, results, strict=True):
        if result is None:  # Postmark took the call, but its answer names no result for this message
            outcome.outcomes.append(
                {
                    "ref": ref,
                    "outcome": OUTCOME_AMBIGUOUS,
                    "error_code": None,
                    "error": _("Postmark's answer has no result for this message."),
                    "recipients": _recipients(to, cc_bcc, UNKNOWN),
                }
            )
            continue
        statuses, accepted, _refused = parse_result(result, to, cc_bcc)
        error_code, message = error_code_and_message(result)
        message_id = result.get("MessageID") if isinstance(result, Mapping) else None
        if accepted:
            kind = OUTCOME_SENT
        elif error_code is not None or status_code == 422:
            kind = OUTCOME_REFUSED  # a result with Postmark's ErrorCode (every recipient refused), or a 422
        else:
            kind = OUTCOME_AMBIGUOUS  # an answer that says nothing about this message
        outcome.outcomes.append(
            {
                "ref": ref,
                "outcome": kind,
                "message_id": str(message_id) if message_id else None,
                "error_code": error_code,
                "error": None if accepted else message,
                "recipients": {address: [s.status, s.message_id] for address, s in statuses.items()},
            }
        )
    return outcome


def outcome_of_error(batch: QueuedBatch, error: PostmarkError, attempt: int, *, retry: bool) -> ChunkOutcome:
    """Each message's outcome when the whole call failed (pure): retried, ambiguous or failed."""
    if retry:
        kind, recipient_status = OUTCOME_RETRIED, "failed"
    elif is_ambiguous(error):
        kind, recipient_status = OUTCOME_AMBIGUOUS, UNKNOWN
    else:
        kind, recipient_status = OUTCOME_FAILED, "failed"
    outcome = ChunkOutcome(attempt=attempt, error=str(error))
    if isinstance(error, PostmarkAPIError):
        outcome.http_status, outcome.error_code = error.status_code, error.error_code
    for ref, (to, cc_bcc) in zip(batch.refs, batch.recipients, strict=True):
        outcome.outcomes.append(
            {
                "ref": ref,
                "outcome": kind,
                "error_code": outcome.error_code,
                "error": str(error),
                "recipients": _recipients(to, cc_bcc, recipient_status),
            }
        )
    return outcome


def deliver(
    batch: QueuedBatch, *, mailer: str | None, options: Mapping[str, Any], attempt: int
) -> tuple[ChunkOutcome, bool]:
    """Post one batch; returns its outcome and whether a new attempt is safe and allowed."""
    try:
        config = worker_config(mailer, options)
        config.require_server_token()
        client = PostmarkClient(config)
        status_code, answer = client.request(
            "POST", batch.path, data=batch.body.encode("utf-8"), raise_for_status=False
        )
    except PostmarkError as error:
        retry = cannot_have_been_accepted(error) and attempt < app_settings.TASK_MAX_ATTEMPTS
        return outcome_of_error(batch, error, attempt, retry=retry), retry
    return outcome_of_answer(batch, status_code, answer, attempt), False


def record_outcome(outcome: ChunkOutcome, task_id: str) -> None:
    """Log what the task did; its return value (the backend's record) holds the detail.

    The worker has no ``EmailMessage``: :data:`~postmark_admin.signals.post_send` is sent from here
    for each message object whose fate is final (not for one retried by a new task), with that
    message's outcome record (a dict: ``ref``, ``outcome``, ``recipients``...) as ``message`` and a
    :class:`~postmark_admin.sending.status.PostmarkStatus` built from its recipients as ``status``.
    """
    counts = {name: outcome.count(name) for name in OUTCOMES if outcome.count(name)}
    summary = ", ".join(f"{count} {name}" for name, count in counts.items()) or "no messages"
    level = logging.WARNING if outcome.error else logging.INFO
    logger.log(level, "Postmark task %s (attempt %d): %s", task_id, outcome.attempt, summary)
    if outcome.count(OUTCOME_AMBIGUOUS):
        logger.warning(
            "Postmark task %s: %d messages may or may not have been sent (%s); they are not retried, "
            "since a retry could deliver them twice.",
            task_id,
            outcome.count(OUTCOME_AMBIGUOUS),
            outcome.error,
        )
    if signals.post_send.receivers:
        for item in outcome.outcomes:
            if item["outcome"] != OUTCOME_RETRIED:
                signals.send_post_send(item, _status_of(item))


def _bcc_count(data: Mapping[str, Any], cc_bcc: Sequence[str]) -> int:
    # The task carries Cc + Bcc as one list, Bcc last; the message object's Bcc field says how many.
    bcc = str(data.get("Bcc") or "")
    return min(len(cc_bcc), len([address for _name, address in getaddresses([bcc]) if address])) if bcc else 0


def log_answers(batch: QueuedBatch, outcome: ChunkOutcome) -> list[Answer]:
    """The sent-message log's view of a task's outcome: each message Postmark answered for.

    A message retried by a new task, or whose fate is unknown or that never reached Postmark, is not
    recorded (the retry records it once answered). The request body is decoded again for the log's
    From, Subject, Tag and Metadata: only when the log is on.
    """
    try:
        decoded = json.loads(batch.body)
    except ValueError:
        return []
    objects = decoded.get("Messages", []) if batch.templated and batch.is_batch else decoded
    items = objects if batch.is_batch else [objects]
    if not isinstance(items, list) or len(items) != len(batch.recipients):
        return []
    answers = []
    for item, (to, cc_bcc), data in zip(outcome.outcomes, batch.recipients, items, strict=True):
        if item["outcome"] not in (OUTCOME_SENT, OUTCOME_REFUSED) or not isinstance(data, Mapping):
            continue
        code = item.get("error_code")
        result = {
            "ErrorCode": code if isinstance(code, int) else (0 if item["outcome"] == OUTCOME_SENT else -1),
            "Message": item.get("error") or "",
            "MessageID": item.get("message_id") or "",
        }
        statuses = {address: pair[0] for address, pair in item["recipients"].items()}
        answers.append(Answer(data, to, cc_bcc, _bcc_count(data, cc_bcc), result, statuses))
    return answers


def _status_of(item: Mapping[str, Any]) -> PostmarkStatus:
    """The :class:`PostmarkStatus` of one outcome record (its recipients' ``[status, id]`` pairs)."""
    recipients = {address: RecipientStatus(pair[0], pair[1]) for address, pair in item["recipients"].items()}
    return PostmarkStatus(recipients=recipients)


def _as_task(function: Callable[..., dict[str, Any]]) -> Any:
    # ``takes_context``: the task needs its own id, backend and queue to enqueue a retry where it runs.
    # Building the Task validates it against the "default" task backend (reading settings.TASKS): this
    # module is imported at the first queued send, or by a worker, never by postmark_admin's import.
    return tasks_module().task(takes_context=True)(function)


@_as_task
def send_prepared(
    context: Any,
    body: str,
    recipients: list[list[list[str]]],
    refs: list[Any],
    templated: bool = False,
    mailer: str | None = None,
    options: dict[str, Any] | None = None,
    attempt: int = 1,
) -> dict[str, Any]:
    """Send one prepared batch (at most 500 message objects); returns each message's outcome.

    ``body``: the request body (Postmark's JSON, as a string); ``recipients``: ``[To, Cc + Bcc]``
    addr-specs per message object; ``refs``: the caller's reference of each; ``options``: the
    non-secret backend options (:data:`QUEUEABLE_OPTIONS`). Enqueued by
    :class:`~postmark_admin.backends.QueuedPostmarkBackend`.
    """
    task_result = context.task_result
    options = options or {}
    batch = QueuedBatch.from_task(body, recipients, refs, templated)
    outcome, retry = deliver(batch, mailer=mailer, options=options, attempt=attempt)
    if retry:
        arguments = {"body": body, "recipients": recipients, "refs": refs, "templated": templated}
        try:
            again = task_result.task.enqueue(**arguments, mailer=mailer, options=options, attempt=attempt + 1)
        except Exception as error:
            # Raised, so the backend records this task as failed: nothing of it was sent.
            raise PostmarkQueueError(
                _(
                    "Postmark did not accept the batch (%(reason)s) and its retry could not be queued "
                    "(%(error)s); nothing of it was sent."
                )
                % {"reason": outcome.error, "error": type(error).__name__}
            ) from None
        outcome.retried_as = str(again.id)
    record_outcome(outcome, str(task_result.id))
    if log_enabled():
        record_answers(log_answers(batch, outcome), SentVia.QUEUED)
    return outcome.as_result()
