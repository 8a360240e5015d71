"""The Bulk API endpoints: ``POST /email/bulk`` and ``GET /email/bulk/{id}`` (shared/postmark-api.md §7).

A bulk request carries the content once and a ``Messages`` list of recipients; the sandbox checks every
message it stands for (as ``/email`` or ``/email/withTemplate`` would), answers ``{"ID", "Status":
"Accepted", "SubmittedAt"}`` and keeps the job. The job's messages are then "processed" at
``Sandbox.bulk_rate`` messages per second of the sandbox's clock (:mod:`.clock`): each one is stored and
delivered, webhooks and all, like a message sent to ``/email``. Processing happens when the clock is
advanced, and before the sandbox answers any API request (a poll of the job's status included); so with
real time a job progresses as its status is polled.

What Postmark does not publish, and what the sandbox does instead (unsure):

* the Status values after "Accepted": "Processing" while some messages are left, then "Completed";
* whether a message Postmark would refuse fails the whole request: the sandbox refuses the request
  (422, that message's ErrorCode, its position in the Message);
* the answer for a stream that is not a broadcast stream: 422, ErrorCode 1236;
* the answer for an unknown job id: 404 with the sandbox's ErrorCode for a missing thing;
* the test token (``POSTMARK_API_TEST``): accepted; the job progresses and completes, delivering nothing.

Content variables (``{{ name }}``) are rendered with each message's ``TemplateModel``, with or without a
stored template.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from .records import ReceivedRequest, eastern_now, postmark_timestamp
from .server import Answer
from .templates import render
from .validation import MAX_BATCH_BYTES, NO_ENDPOINT, ApiError, check_message, invalid, without_nulls

if TYPE_CHECKING:
    from .core import Sandbox

#: The fields of each entry of ``Messages``.
MESSAGE_FIELDS = ("To", "Cc", "Bcc", "TemplateModel", "Metadata")
ACCEPTED = "Accepted"
PROCESSING = "Processing"
COMPLETED = "Completed"


def expand(content: Mapping[str, Any], entry: Mapping[str, Any]) -> tuple[dict[str, Any], bool]:
    """One message of a bulk request: the content, the entry's recipients and model, variables rendered.

    Returns the message and whether it uses a stored template. Pure.
    """
    templated = "TemplateId" in content or "TemplateAlias" in content
    message = {key: value for key, value in content.items() if key != "Messages"}
    for name in MESSAGE_FIELDS:
        if name in entry:
            message[name] = entry[name]
    if isinstance(content.get("Metadata"), Mapping) and isinstance(entry.get("Metadata"), Mapping):
        message["Metadata"] = {**content["Metadata"], **entry["Metadata"]}
    model = message.get("TemplateModel")
    if templated:
        message.setdefault("TemplateModel", {})
    else:
        model = model if isinstance(model, Mapping) else {}
        for name, escape in (("Subject", False), ("HtmlBody", True), ("TextBody", False)):
            if isinstance(message.get(name), str):
                message[name] = render(message[name], model, escape=escape)
        message.pop("TemplateModel", None)
    return message, templated


def email_bulk(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    if len(received.raw_body) > MAX_BATCH_BYTES:
        raise ApiError(
            413, 300, f"The bulk request is larger than the {MAX_BATCH_BYTES // 1024 // 1024} MB limit."
        )
    body = received.json_body
    if not isinstance(body, dict):
        raise invalid("Invalid JSON: expected one bulk request object.", 402)
    content = cast(dict[str, Any], without_nulls(body))  # an object stays an object
    entries = content.get("Messages")
    if not isinstance(entries, list) or not entries:
        raise invalid("A bulk request needs a non-empty 'Messages' array of recipients.")
    stream = content.get("MessageStream") or "outbound"
    if stream in sandbox.message_streams and sandbox.message_streams[stream] != "Broadcasts":
        raise invalid(
            f"The message stream '{stream}' is not a broadcast stream: bulk sending needs one.", 1236
        )
    checked = []
    for position, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise invalid(f"Invalid 'Messages' entry {position}: expected an object.", 402)
        message, templated = expand(content, entry)
        try:
            result = check_message(
                message,
                with_template=templated,
                streams=sandbox.message_streams,
                templates=sandbox.templates,
                source_size=len(received.raw_body),
            )
        except ApiError as error:
            raise ApiError(error.status, error.error_code, f"Messages[{position}]: {error.message}") from None
        checked.append((message, result))
    job_id = str(uuid.uuid4())
    submitted_at = postmark_timestamp(eastern_now())
    subject = checked[0][1].subject if checked else ""
    sandbox.state.add_bulk_job(
        job_id,
        submitted_at=submitted_at,
        subject=subject,
        messages=checked,
        started=sandbox.clock.now(),
        test_mode=received.header("X-Postmark-Server-Token") == "POSTMARK_API_TEST",
    )
    return Answer(200, {"ID": job_id, "Status": ACCEPTED, "SubmittedAt": submitted_at})


def bulk_status(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    sandbox.process_bulk()
    job = sandbox.state.bulk_job(id)
    if job is None:
        raise ApiError(404, NO_ENDPOINT, f"The bulk request '{id}' was not found.")
    return Answer(200, job)


def status_text(processed: int, total: int) -> str:
    """The job's Status after ``processed`` of ``total`` messages. Pure."""
    if processed <= 0:
        return ACCEPTED
    return COMPLETED if processed >= total else PROCESSING
