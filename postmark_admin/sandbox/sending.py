"""The sending endpoints: ``/email``, ``/email/batch``, ``/email/withTemplate``, ``/email/batchWithTemplates``."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .records import ReceivedRequest, eastern_now, postmark_timestamp
from .server import Answer
from .validation import (
    MAX_BATCH_BYTES,
    MAX_BATCH_MESSAGES,
    MAX_MESSAGE_BYTES,
    ApiError,
    check_message,
    inactive_refusal,
    invalid,
    partially_inactive_message,
)

if TYPE_CHECKING:
    from .core import Sandbox

TEST_TOKEN = "POSTMARK_API_TEST"


def new_message_id() -> str:
    """A random (version 4) UUID as text, like Postmark's MessageID.

    The same value ``str(uuid.uuid4())`` gives, formatted directly (a third of its cost).
    """
    value = (int.from_bytes(os.urandom(16)) & ~(0xF000 << 64 | 0xC << 60)) | (0x4000 << 64 | 0x8 << 60)
    text = f"{value:032x}"
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def send_one(
    sandbox: Sandbox,
    message: Any,
    *,
    with_template: bool,
    test_mode: bool,
    source_size: int | None = None,
    submitted_at: str | None = None,
) -> dict[str, Any]:
    """Check and accept one message; return Postmark's result object or raise :class:`ApiError`.

    ``source_size`` is the length of the request body the message came in (see :func:`check_message`);
    ``submitted_at`` the request's ``SubmittedAt`` (now, by default).
    """
    checked = check_message(
        message,
        with_template=with_template,
        streams=sandbox.message_streams,
        templates=sandbox.templates,
        source_size=source_size,
    )
    message_id = new_message_id()
    result: dict[str, Any] = {}
    if checked.to:
        result["To"] = message["To"]
    result["SubmittedAt"] = submitted_at or postmark_timestamp(eastern_now())
    result["MessageID"] = message_id
    if test_mode:
        # POSTMARK_API_TEST: validated, never delivered, no suppression check, no webhooks.
        result.update(ErrorCode=0, Message="Test job accepted")
        return result
    suppressed = sandbox.state.suppressed(checked.stream)
    blocked = [address for address in checked.recipients if address in suppressed]
    if blocked and len(blocked) == len(checked.recipients):
        raise inactive_refusal(blocked)
    sandbox.state.accept(message, checked, message_id, blocked, server_id=sandbox.server_id)
    result.update(ErrorCode=0, Message=partially_inactive_message(blocked) if blocked else "OK")
    return result


def _is_test(received: ReceivedRequest) -> bool:
    return received.header("X-Postmark-Server-Token") == TEST_TOKEN


def _too_large(received: ReceivedRequest, limit: int, what: str) -> ApiError | None:
    if len(received.raw_body) > limit:
        return ApiError(413, 300, f"The {what} is larger than the {limit // 1024 // 1024} MB limit.")
    return None


def _single(sandbox: Sandbox, received: ReceivedRequest, *, with_template: bool) -> Answer:
    error = _too_large(received, MAX_MESSAGE_BYTES, "message")
    if error:
        raise error
    body = received.json_body
    if not isinstance(body, dict):
        raise invalid("Invalid JSON: expected one message object.", 402)
    answer = send_one(
        sandbox,
        body,
        with_template=with_template,
        test_mode=_is_test(received),
        source_size=len(received.raw_body),
    )
    return Answer(200, answer)


def _batch(sandbox: Sandbox, received: ReceivedRequest, messages: object, *, with_template: bool) -> Answer:
    error = _too_large(received, MAX_BATCH_BYTES, "batch")
    if error:
        raise error
    if not isinstance(messages, list):
        raise invalid("Invalid JSON: expected an array of messages.", 402)
    if len(messages) > MAX_BATCH_MESSAGES:
        raise invalid(
            f"Too many messages in batch: {len(messages)}, at most {MAX_BATCH_MESSAGES} are allowed.", 410
        )
    test_mode = _is_test(received)
    size = len(received.raw_body)
    # One SubmittedAt for the whole batch: it was submitted in one request.
    submitted_at = postmark_timestamp(eastern_now())
    results = []
    for message in messages:
        try:
            result = send_one(
                sandbox,
                message,
                with_template=with_template,
                test_mode=test_mode,
                source_size=size,
                submitted_at=submitted_at,
            )
            results.append(result)
        except ApiError as refused:
            results.append(refused.body())
    return Answer(200, results)


def email(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    return _single(sandbox, received, with_template=False)


def email_with_template(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    return _single(sandbox, received, with_template=True)


def email_batch(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    return _batch(sandbox, received, received.json_body, with_template=False)


def email_batch_with_templates(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    body = received.json_body
    if not isinstance(body, dict) or not isinstance(body.get("Messages"), list):
        raise invalid("Invalid JSON: expected an object with a 'Messages' array.", 402)
    return _batch(sandbox, received, body["Messages"], with_template=True)
