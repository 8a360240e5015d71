"""Send a list of Django messages: prepare, batch, call Postmark, and give each message its status.

The order of work keeps one promise: nothing is sent twice and one bad message
hides no other. Every message is mapped and checked first (an unsupported
feature or a message Postmark would refuse stops the call before any HTTP
request, unless ``fail_silently``); then the chunks are sent (independent chunks
concurrently), each chunk's results mapped as soon as it is answered; then each message
gets its :class:`~postmark_admin.sending.status.PostmarkStatus`, and the first error is raised
once the whole list was attempted.

Mapping is deliberately not overlapped with sending: a first chunk on the wire before the
last message is mapped would break the promise above (a bad message 700 would no longer
stop the call). Mapping is cheap instead (about 13-20 µs per plain message).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from .. import signals
from ..config.crypto import Secret
from ..config.effective import EffectiveConfig, Source, app_settings
from ..desk.record import Answer, log_enabled, record_answers, record_bulk, sent_via
from ..exceptions import (
    PostmarkAPIError,
    PostmarkError,
    PostmarkInvalidMessage,
    PostmarkRecipientsRefused,
    PostmarkTransportError,
    PostmarkUnsupportedFeature,
)
from .batching import Chunk, align_results, plan_chunks
from .bulk import BulkRequest, bulk_outcome, bulk_request, send_bulk, wants_bulk
from .client import TEST_SERVER_TOKEN, PostmarkClient
from .errors import error_code_and_message
from .payload import PreparedMessage, build_payload
from .status import FAILED, UNKNOWN, PostmarkStatus, RecipientStatus, merge_recipients, parse_result

logger = logging.getLogger("postmark_admin.sending")


def _set_status(message: EmailMessage, status: PostmarkStatus) -> None:
    # Attributes Django's EmailMessage does not declare, hence setattr. anymail_status is
    # django-anymail's name, with its meaning (None / {} after a failed call), so code written
    # for anymail reads the result unchanged; postmark_status keeps every recipient's status.
    setattr(message, "postmark_status", status)  # noqa: B010
    setattr(message, "anymail_status", status.for_anymail())  # noqa: B010


def _default_from(config: EffectiveConfig) -> tuple[str | None, tuple[str | None, ...]]:
    """The configured default From, and the ``from_email`` values it replaces (None, "", Django's default).

    Only a default configured somewhere (not the built-in one) replaces a message's From.
    """
    from django.conf import settings

    source = config.sources.get("default_from_email")
    if source is None or source.source == Source.DEFAULT or not config.default_from_email:
        return None, ()
    return config.default_from_email, (None, "", settings.DEFAULT_FROM_EMAIL)


def prepare(
    messages: Sequence[EmailMessage],
    config: EffectiveConfig,
    *,
    fail_silently: bool,
    connection: Any = None,
    bulk: list[tuple[int, BulkRequest]] | None = None,
    bulk_default: bool = False,
) -> list[tuple[int, PreparedMessage]]:
    """Map every message; a mapping error is raised now (nothing sent) or, silently, marks that message failed.

    :data:`~postmark_admin.signals.pre_send` goes to each message first; a cancelled one is left out.
    Messages for the Bulk API (see :func:`~.bulk.wants_bulk`) go to ``bulk`` when it is given.
    """
    prepared = []
    default_from, replaced = _default_from(config)  # once per call, not per message
    message_stream = config.message_stream
    ignore_unsupported_features = config.ignore_unsupported_features
    send_defaults = app_settings.SEND_DEFAULTS
    # One list check per call when nobody listens. bench/send.py --signals (2,000 messages, best of 9,
    # a loaded 2-core machine): 12.9-14.8 µs per message with no receiver, as before the signals
    # (13.7-14.3 µs); one no-op pre_send receiver adds about 2 µs per message.
    announce = bool(signals.pre_send.receivers)
    for index, message in enumerate(messages):
        if announce and not signals.send_pre_send(message, connection):
            _set_status(message, PostmarkStatus(cancelled=True))
            continue
        try:
            if bulk is not None and wants_bulk(message, bulk_default):
                bulk.append(
                    (
                        index,
                        bulk_request(
                            message,
                            message_stream=message_stream,
                            ignore_unsupported_features=ignore_unsupported_features,
                            from_email=default_from if message.from_email in replaced else None,
                            send_defaults=send_defaults,
                        ),
                    )
                )
                continue
            result = build_payload(
                message,
                message_stream=message_stream,
                ignore_unsupported_features=ignore_unsupported_features,
                from_email=default_from if message.from_email in replaced else None,
                send_defaults=send_defaults,
            )
        except (PostmarkUnsupportedFeature, PostmarkInvalidMessage) as error:
            _set_status(
                message,
                PostmarkStatus(dict.fromkeys(message.recipients(), RecipientStatus(FAILED)), error=error),
            )
            if not fail_silently:
                raise
            logger.warning("Postmark: message %d not sent: %s", index, error)
            continue
        if result.ignored_features:
            logger.info("Postmark: sent without %s", "; ".join(result.ignored_features))
        prepared.append((index, result))
    return prepared


def _post(
    client: PostmarkClient, chunk: Chunk, test_token: Secret | None
) -> tuple[requests.Response, Any] | PostmarkError:
    try:
        return client.exchange(
            "POST",
            chunk.path,
            data=chunk.body(),
            server_token=test_token or chunk.server_token,
            raise_for_status=False,
        )
    except PostmarkError as error:
        return error


def _results(
    chunk: Chunk, outcome: tuple[requests.Response, Any] | PostmarkError
) -> list[Any] | PostmarkError:
    """One result object per entry (None: the 2xx answer has none for it), or the chunk's error."""
    if isinstance(outcome, PostmarkError):
        return outcome
    response, answer = outcome
    status_code = response.status_code
    if not chunk.is_batch:
        return [answer]
    if 200 <= status_code < 300:
        aligned = align_results(answer, [entry.item.to for entry in chunk.entries])
        if aligned is not None:
            return aligned
    # A whole batch refused (ErrorCode 410, invalid JSON...) or an answer we cannot map.
    error_code, message = error_code_and_message(answer)
    return PostmarkAPIError(
        _("Postmark refused the whole batch."),
        status_code=status_code,
        error_code=error_code,
        message=message,
        response=answer,
    )


def _error_for(result: Any, refused: bool, email_message: EmailMessage) -> PostmarkAPIError:
    error_code, message = error_code_and_message(result)
    kind = PostmarkRecipientsRefused if refused else PostmarkAPIError
    description = (
        _("Postmark refused every recipient of the message.")
        if refused
        else _("Postmark refused the message.")
    )
    return kind(
        description,
        status_code=422,
        error_code=error_code,
        message=message,
        response=result,
        email_message=email_message,
    )


def _chunk_error_for(error: PostmarkError, email_message: EmailMessage) -> PostmarkError:
    # A copy per message, each naming its own message (the constructor's arguments differ by class).
    own = type(error).__new__(type(error), *error.args)
    own.__dict__.update(error.__dict__)
    own.email_message = email_message
    if isinstance(own, PostmarkAPIError):
        own.errors = [own]
    return own


def _ambiguous(error: PostmarkError) -> bool:
    if isinstance(error, PostmarkTransportError):
        return error.ambiguous
    return (
        isinstance(error, PostmarkAPIError) and (error.status_code or 0) >= 500 and error.status_code != 503
    )


class _Tally:
    """Each message's status, built chunk by chunk in request order (so the outcome is deterministic)."""

    def __init__(self, messages: Sequence[EmailMessage], indexes: Sequence[int]) -> None:
        self.messages = messages
        self.statuses: dict[int, PostmarkStatus] = {index: PostmarkStatus() for index in indexes}
        self.accepted: dict[int, bool] = dict.fromkeys(self.statuses, False)
        self.errors: dict[int, PostmarkError] = {}
        # Read once per call: with the log off the send path runs no SQL at all.
        self.log = log_enabled()

    def add(self, chunk: Chunk, outcome: tuple[requests.Response, Any] | PostmarkError) -> None:
        results = _results(chunk, outcome)
        answers: list[Answer] = []
        for position, entry in enumerate(chunk.entries):
            status = self.statuses[entry.message_index]
            if status.esp_response is None and not isinstance(outcome, PostmarkError):
                status.esp_response = outcome[0]  # the first call that carried this message
            email_message = self.messages[entry.message_index]
            if isinstance(results, PostmarkError):
                kind = UNKNOWN if _ambiguous(results) else FAILED
                recipients = [*entry.item.to, *entry.item.cc_bcc]
                merge_recipients(status.recipients, dict.fromkeys(recipients, RecipientStatus(kind)))
                self.errors.setdefault(entry.message_index, _chunk_error_for(results, email_message))
                continue
            result = results[position]
            if result is None:
                # Postmark took the batch but its answer names no result for this message object.
                logger.warning("Postmark: no result for message %d in a batch's answer", entry.message_index)
                merge_recipients(
                    status.recipients,
                    dict.fromkeys([*entry.item.to, *entry.item.cc_bcc], RecipientStatus(UNKNOWN)),
                )
                self.accepted[entry.message_index] = True
                continue
            status.results.append(result)
            item_statuses, ok, refused = parse_result(result, entry.item.to, entry.item.cc_bcc)
            merge_recipients(status.recipients, item_statuses)
            if self.log:
                item = entry.item
                answers.append(Answer(item.data, item.to, item.cc_bcc, item.bcc_count, result, item_statuses))
            if ok:
                self.accepted[entry.message_index] = True
            else:
                self.errors.setdefault(entry.message_index, _error_for(result, refused, email_message))
        if self.log:
            self.record(chunk, results, answers)

    def record(self, chunk: Chunk, results: list[Any] | PostmarkError, answers: list[Answer]) -> None:
        """The sent-message log's rows of one request (desk/record.py).

        One INSERT statement (two on SQLite), then one SELECT once the rows are committed.

        A request Postmark refused as a whole is recorded as each message's refusal; one that got
        no answer, or an ambiguous one (a 5xx: it may have been sent), is not recorded.
        """
        if isinstance(results, PostmarkError):
            if not isinstance(results, PostmarkAPIError) or _ambiguous(results):
                return
            answers = [
                Answer(
                    entry.item.data,
                    entry.item.to,
                    entry.item.cc_bcc,
                    entry.item.bcc_count,
                    None,
                    {},
                    error_code=results.error_code or -1,
                    message=results.message or str(results.description),
                )
                for entry in chunk.entries
            ]
        record_answers(answers, sent_via(is_batch=chunk.is_batch, templated=chunk.templated))


def _post_send(messages: Sequence[EmailMessage], connection: Any) -> None:
    """:data:`~postmark_admin.signals.post_send` for each message given a status by this call (not cancelled)."""
    if not signals.post_send.receivers:
        return
    for message in messages:
        status = getattr(message, "postmark_status", None)
        if isinstance(status, PostmarkStatus) and not status.cancelled:
            signals.send_post_send(message, status, connection)


def send_messages(
    messages: Sequence[EmailMessage],
    config: EffectiveConfig,
    *,
    fail_silently: bool = False,
    connection: Any = None,
    bulk: bool = False,
) -> int:
    """Send ``messages``; returns how many Postmark accepted (for at least one recipient).

    ``connection`` (the backend) is what the send signals name as their sender; ``bulk`` sends every
    message that does not say otherwise through the Bulk API (see :mod:`.bulk`).
    """
    messages = list(messages)
    if not messages:
        return 0
    bulk_requests: list[tuple[int, BulkRequest]] = []
    prepared = prepare(
        messages,
        config,
        fail_silently=fail_silently,
        connection=connection,
        bulk=bulk_requests,
        bulk_default=bulk,
    )
    chunks = plan_chunks(prepared)
    if not chunks and not bulk_requests:
        _post_send(messages, connection)  # every message was cancelled or (silently) failed mapping
        return 0
    client = PostmarkClient(config)
    # Test mode sends every message (esp_extra's server tokens too) with Postmark's test token.
    test_token = Secret(TEST_SERVER_TOKEN) if config.test_mode else None
    if test_token is None and (
        any(chunk.server_token is None for chunk in chunks)
        or any(request.server_token is None for _index, request in bulk_requests)
    ):
        try:
            config.require_server_token()
        except PostmarkError:
            if fail_silently:
                logger.error("Postmark: no server token is configured; %d messages not sent", len(messages))
                return 0
            raise
    tally = _Tally(messages, [index for index, _prepared in prepared])
    workers = min(len(chunks), app_settings.MAX_CONCURRENT_REQUESTS)
    if workers > 1:
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="postmark") as pool:
            # map() yields in request order as answers arrive: the first chunk's results are
            # mapped while later chunks are still in flight.
            answered = pool.map(lambda chunk: _post(client, chunk, test_token), chunks)
            for chunk, outcome in zip(chunks, answered, strict=True):
                tally.add(chunk, outcome)
    else:
        for chunk in chunks:
            tally.add(chunk, _post(client, chunk, test_token))
    for index, request in bulk_requests:  # one request each, after the batches
        outcome = send_bulk(client, request, test_token)
        status, error = bulk_outcome(request, outcome, messages[index])
        # Recorded once Postmark answered: a job, or a refusal (not an ambiguous 5xx, not no answer).
        got_answer = status.bulk_job is not None or (
            isinstance(error, PostmarkAPIError) and not _ambiguous(error)
        )
        if tally.log and got_answer:
            record_bulk(request.data, request.recipients, status, error)
        tally.statuses[index], tally.accepted[index] = status, error is None
        if error is not None:
            tally.errors[index] = error
    statuses, accepted, errors = tally.statuses, tally.accepted, tally.errors

    failures: list[PostmarkError] = []
    # IGNORE_RECIPIENT_STATUS: a message refused for all its recipients is not an error to raise
    # (its status still says so); any other refusal still is.
    ignore_refused = app_settings.IGNORE_RECIPIENT_STATUS
    for index, status in statuses.items():
        if not accepted[index] and index in errors:
            status.error = errors[index]
            if not (ignore_refused and isinstance(errors[index], PostmarkRecipientsRefused)):
                failures.append(errors[index])
        _set_status(messages[index], status)
    _post_send(messages, connection)
    sent = sum(accepted.values())
    if failures:
        for failure in failures:
            logger.warning("Postmark: a message was not sent: %s", failure)
        if not fail_silently:
            first = failures[0]
            if isinstance(first, PostmarkAPIError):
                first.errors = failures
            raise first
    return sent
