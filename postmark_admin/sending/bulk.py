"""Postmark's Bulk API: one Django message -> one ``POST /email/bulk`` request, and the job's progress.

A bulk send carries the content once (From, Subject, bodies or a template, headers, attachments,
tracking, Tag, Metadata, MessageStream: a broadcast stream) and a ``Messages`` list of recipients
(``To``, ``Cc``, ``Bcc``, ``TemplateModel``, ``Metadata``), as many as fit in 50 MB. Postmark answers
``{"ID", "Status": "Accepted", "SubmittedAt"}`` and renders and sends the messages later; ``GET
/email/bulk/{id}`` reports ``{"ID", "SubmittedAt", "TotalMessages", "PercentageCompleted", "Status",
"Subject"}`` (see shared/postmark-api.md §7).

What Postmark does not publish, and how this module copes (unsure):

* the ``Status`` values after ``Accepted``: kept as Postmark's text; :attr:`BulkJob.done` trusts only
  ``PercentageCompleted`` reaching 100 or a status spelled ``Completed`` in any case;
* whether a message's ``Metadata`` is merged with the request's: the message's shared metadata is sent
  once, at the request level, and ``merge_metadata`` on each message;
* the ErrorCode when the Bulk API is not enabled on the account (ErrorCode 14 in one source): whatever
  Postmark answers is raised as a :class:`~postmark_admin.exceptions.PostmarkAPIError` keeping it.

A message goes in bulk when ``message.bulk`` (or ``esp_extra["bulk"]``) is true, or when its backend was
made with ``bulk=True`` (``MAILERS`` OPTIONS ``{"bulk": True}``) and the message does not say
``bulk=False``. With ``merge_data`` (or ``merge_metadata``) each To recipient is one message of the job,
with its own ``TemplateModel`` (``merge_global_data`` under its ``merge_data``): the content may then use
Postmark's ``{{variables}}`` with or without a stored template. Without them the message is one message of
the job, to every recipient at once, as a normal send would be.

:func:`bulk_request` is pure; :func:`send_bulk` and :func:`bulk_status` talk to Postmark.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests
from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from ..config.crypto import Secret
from ..exceptions import PostmarkAPIError, PostmarkError, PostmarkInvalidMessage
from .addresses import join_addresses, parse_addresses
from .client import TEST_SERVER_TOKEN, PostmarkClient
from .errors import error_code_and_message
from .limits import validate
from .payload import build_payload, is_unset
from .status import FAILED, QUEUED, UNKNOWN, BulkJob, PostmarkStatus, RecipientStatus

if TYPE_CHECKING:
    from ..config.effective import EffectiveConfig

BULK_PATH = "email/bulk"
#: Postmark's limit for one bulk request, attachments included (base64).
MAX_BULK_BYTES = 50 * 1024 * 1024
#: The fields of each entry of ``Messages``; everything else is the shared content.
MESSAGE_FIELDS = ("To", "Cc", "Bcc", "TemplateModel", "Metadata")
_MERGE_ATTRIBUTES = ("merge_data", "merge_global_data", "merge_metadata", "merge_headers")

_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def _attribute(message: EmailMessage, name: str) -> Any:
    value = getattr(message, name, None)
    return None if is_unset(value) else value


def wants_bulk(message: EmailMessage, default: bool) -> bool:
    """Whether ``message`` goes to the Bulk API: its own ``bulk`` (or ``esp_extra["bulk"]``), else ``default``."""
    own = _attribute(message, "bulk")
    if own is None:
        esp_extra = _attribute(message, "esp_extra") or {}
        own = esp_extra.get("bulk") if isinstance(esp_extra, Mapping) else None
    return default if own is None else bool(own)


@dataclass(frozen=True)
class BulkRequest:
    """One ``POST /email/bulk``: its JSON body, and the recipients (addr-specs) of each entry of Messages."""

    data: dict[str, Any]
    body: bytes
    recipients: tuple[tuple[str, ...], ...]
    server_token: Secret | None = None
    ignored_features: tuple[str, ...] = ()

    @property
    def all_recipients(self) -> list[str]:
        return [address for entry in self.recipients for address in entry]


def bulk_request(
    message: EmailMessage,
    *,
    message_stream: str | None = None,
    ignore_unsupported_features: bool = False,
    from_email: str | None = None,
    send_defaults: Mapping[str, Any] | None = None,
) -> BulkRequest:
    """Map ``message`` to one bulk request (pure); raises what :func:`~.payload.build_payload` raises.

    The shared content is what :func:`~.payload.build_payload` makes of the message with one recipient
    and no merge attributes, so every rule of a normal send (headers, attachments, tracking, the
    template's fields) applies unchanged.
    """
    merge_data = _attribute(message, "merge_data")
    merge_metadata = _attribute(message, "merge_metadata")
    merge_global = dict(_attribute(message, "merge_global_data") or {})
    if _attribute(message, "merge_headers"):
        raise PostmarkInvalidMessage(
            _("A bulk send has one set of headers for every recipient: merge_headers cannot be used."),
            message,
        )
    to = parse_addresses(message.to, "To", message)
    cc = parse_addresses(message.cc, "Cc", message)
    bcc = parse_addresses(message.bcc, "Bcc", message)

    shared = copy.copy(message)
    for name in _MERGE_ATTRIBUTES:
        setattr(shared, name, None)
    if _attribute(message, "template_id") not in (None, ""):
        # Each entry of Messages carries its own TemplateModel. (setattr: EmailMessage declares none of these.)
        setattr(shared, "merge_global_data", {})  # noqa: B010
    esp_extra = _attribute(message, "esp_extra")
    if isinstance(esp_extra, Mapping) and "bulk" in esp_extra:
        setattr(shared, "esp_extra", {key: value for key, value in esp_extra.items() if key != "bulk"})  # noqa: B010
    # One recipient stands in for all of them: the limit of 50 applies to each entry of Messages.
    first = (to or cc or bcc)[:1]
    shared.to, shared.cc, shared.bcc = [address.format() for address in first], [], []
    prepared = build_payload(
        shared,
        message_stream=message_stream,
        ignore_unsupported_features=ignore_unsupported_features,
        from_email=from_email,
        send_defaults=send_defaults,
    )
    content = {key: value for key, value in prepared.items[0].data.items() if key not in MESSAGE_FIELDS}
    metadata = prepared.items[0].data.get("Metadata")
    if metadata:
        content["Metadata"] = metadata

    entries: list[dict[str, Any]] = []
    recipients: list[tuple[str, ...]] = []
    others = {"Cc": join_addresses(cc), "Bcc": join_addresses(bcc)}
    others = {name: value for name, value in others.items() if value}
    if merge_data is not None or merge_metadata is not None:
        for address in to:
            entry: dict[str, Any] = {"To": address.format(), **others}
            entry["TemplateModel"] = {**merge_global, **((merge_data or {}).get(address.addr_spec) or {})}
            own_metadata = (merge_metadata or {}).get(address.addr_spec)
            if own_metadata:
                entry["Metadata"] = dict(own_metadata)
            entries.append(entry)
            recipients.append((address.addr_spec, *(a.addr_spec for a in (*cc, *bcc))))
    if not entries:
        entry = {**({"To": join_addresses(to)} if to else {}), **others, "TemplateModel": merge_global}
        entries.append(entry)
        recipients.append(tuple(a.addr_spec for a in (*to, *cc, *bcc)))
    for entry in entries:
        validate(entry, message)
    data = {**content, "Messages": entries}
    body = _JSON.encode(data).encode("utf-8")
    if len(body) > MAX_BULK_BYTES:
        raise PostmarkInvalidMessage(
            _("The bulk request is %(size)s bytes once encoded; Postmark accepts at most %(limit)s (50 MB).")
            % {"size": len(body), "limit": MAX_BULK_BYTES},
            message,
        )
    return BulkRequest(
        data=data,
        body=body,
        recipients=tuple(recipients),
        server_token=prepared.server_token,
        ignored_features=prepared.ignored_features,
    )


def job_from_answer(answer: Any) -> BulkJob | None:
    """The :class:`BulkJob` in an answer of ``POST /email/bulk`` or ``GET /email/bulk/{id}``; None without an ID."""
    if not isinstance(answer, Mapping) or not answer.get("ID"):
        return None
    percentage = answer.get("PercentageCompleted")
    total = answer.get("TotalMessages")
    return BulkJob(
        id=str(answer["ID"]),
        status=str(answer.get("Status") or ""),
        submitted_at=str(answer["SubmittedAt"]) if answer.get("SubmittedAt") else None,
        percentage_completed=float(percentage) if isinstance(percentage, int | float) else None,
        total_messages=total if isinstance(total, int) else None,
        subject=str(answer["Subject"]) if answer.get("Subject") is not None else None,
    )


def bulk_outcome(
    request: BulkRequest, outcome: tuple[requests.Response, Any] | PostmarkError, email_message: EmailMessage
) -> tuple[PostmarkStatus, PostmarkError | None]:
    """The message's status after its bulk request, and the error that stopped it (pure)."""
    recipients = request.all_recipients
    if isinstance(outcome, PostmarkError):
        ambiguous = getattr(outcome, "ambiguous", False) or (
            isinstance(outcome, PostmarkAPIError)
            and (outcome.status_code or 0) >= 500
            and outcome.status_code != 503
        )
        kind = UNKNOWN if ambiguous else FAILED
        outcome.email_message = email_message
        return PostmarkStatus(dict.fromkeys(recipients, RecipientStatus(kind)), error=outcome), outcome
    response, answer = outcome
    status_code = response.status_code
    job = job_from_answer(answer) if 200 <= status_code < 300 else None
    if job is None:
        error_code, text = error_code_and_message(answer)
        error = PostmarkAPIError(
            _("Postmark refused the bulk request."),
            status_code=status_code,
            error_code=error_code,
            message=text,
            response=answer,
            email_message=email_message,
        )
        failed = dict.fromkeys(recipients, RecipientStatus(FAILED))
        return PostmarkStatus(failed, results=[answer], esp_response=response, error=error), error
    # Accepted: Postmark sends later, so every recipient is queued; the job's id is on the status.
    queued = dict.fromkeys(recipients, RecipientStatus(QUEUED))
    return PostmarkStatus(queued, results=[answer], esp_response=response, bulk_job=job), None


def send_bulk(
    client: PostmarkClient, request: BulkRequest, test_token: Secret | None
) -> tuple[requests.Response, Any] | PostmarkError:
    """``POST /email/bulk`` (a 422 is returned, not raised); any other failure is returned as the error."""
    try:
        return client.exchange(
            "POST",
            BULK_PATH,
            data=request.body,
            server_token=test_token or request.server_token,
            raise_for_status=False,
        )
    except PostmarkError as error:
        return error


def bulk_status(
    job_id: str, config: EffectiveConfig | None = None, *, server_token: str | None = None, **arguments: Any
) -> BulkJob:
    """``GET /email/bulk/{id}``: the job's progress now (raises :class:`~postmark_admin.exceptions.PostmarkAPIError`).

    ``config`` (or ``effective_config(**arguments)``) gives the API URL and token; in test mode the test
    token asks. ``server_token`` is for a job sent with ``esp_extra["server_token"]``.
    """
    client = PostmarkClient(config, **arguments)
    token: Secret | str | None = server_token
    if client.config.test_mode:
        token = Secret(TEST_SERVER_TOKEN)
    path = f"{BULK_PATH}/{_path_segment(job_id)}"
    status_code, answer = client.request("GET", path, server_token=token)
    job = job_from_answer(answer)
    if job is None:
        error_code, text = error_code_and_message(answer)
        raise PostmarkAPIError(
            _("Postmark's answer about the bulk job has no ID."),
            status_code=status_code,
            error_code=error_code,
            message=text,
            response=answer,
        )
    return job


def refresh(status: PostmarkStatus, config: EffectiveConfig | None = None, **arguments: Any) -> BulkJob:
    """Poll the bulk job of a message's ``postmark_status`` and store the answer on it (``status.bulk_job``)."""
    if status.bulk_job is None:
        raise ValueError("This message was not sent with the Bulk API: its status has no bulk_job.")
    status.bulk_job = bulk_status(status.bulk_job.id, config, **arguments)
    return status.bulk_job


def _path_segment(job_id: str) -> str:
    return quote(str(job_id), safe="")
