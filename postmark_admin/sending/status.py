"""Send results: what Postmark did with each message and each recipient.

After sending, every message carries a :class:`PostmarkStatus` as
``message.postmark_status`` and, under django-anymail's attribute names, as
``message.anymail_status``. :func:`parse_result` is pure: one Postmark result
object (and who the message went to) in, per-recipient statuses out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

SENT = "sent"
QUEUED = "queued"
REJECTED = "rejected"
INVALID = "invalid"
FAILED = "failed"
UNKNOWN = "unknown"
#: Which status wins when a message went out as several items (lower wins).
_RANK = {SENT: 0, QUEUED: 1, REJECTED: 2, INVALID: 3, UNKNOWN: 4, FAILED: 5}

_INACTIVE = re.compile(
    r"inactive addresses:\s*(.*?)\.?\s*(?:Inactive recipients|$)", re.IGNORECASE | re.DOTALL
)
_BAD_RECIPIENT = re.compile(r"^(Invalid|Error\s+parsing)\s+'(To|Cc|Bcc)'", re.IGNORECASE)
_QUOTED_ADDRESS = re.compile(r"address:?\s*'([^']*)'", re.IGNORECASE)


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient's fate: ``status`` (sent, queued, rejected, invalid, failed, unknown) and message id."""

    status: str
    message_id: str | None = None


@dataclass(frozen=True)
class BulkJob:
    """A Bulk API job as Postmark last described it (``POST /email/bulk``, ``GET /email/bulk/{id}``).

    ``status`` is Postmark's text ("Accepted" at first; the later values are not published).
    ``percentage_completed`` and ``total_messages`` come with a poll
    (:func:`postmark_admin.sending.bulk.bulk_status`), not with the first answer.
    """

    id: str
    status: str
    submitted_at: str | None = None
    percentage_completed: float | None = None
    total_messages: int | None = None
    subject: str | None = None

    @property
    def done(self) -> bool:
        """Whether Postmark reports every message of the job processed."""
        return self.status.lower() == "completed" or (self.percentage_completed or 0) >= 100


@dataclass
class PostmarkStatus:
    """The result of sending one Django message (django-anymail's ``anymail_status`` names)."""

    #: Recipient addr-spec -> :class:`RecipientStatus`.
    recipients: dict[str, RecipientStatus] = field(default_factory=dict)
    #: Postmark's parsed result objects for this message, in request order: one per message
    #: object sent (merge data sends one per recipient), each taken from its call's answer.
    results: list[Any] = field(default_factory=list)
    #: The ``requests.Response`` of the Postmark call that carried this message, as in
    #: django-anymail (``.status_code``, ``.json()``). For a batch, the batch call's response
    #: (it answers every message of the batch); for a message split over several calls, the
    #: first. ``None`` when no answer came, or the call failed with an error status (the
    #: exception in ``error`` then holds Postmark's ErrorCode and Message).
    esp_response: Any = None
    #: The error that stopped this message, if any.
    error: Exception | None = None
    #: A :data:`~postmark_admin.signals.pre_send` receiver cancelled the message: nothing was sent.
    cancelled: bool = False
    #: The Bulk API job the message went out in (see :mod:`postmark_admin.sending.bulk`), else None.
    bulk_job: BulkJob | None = None

    @property
    def message_ids(self) -> set[str]:
        return {status.message_id for status in self.recipients.values() if status.message_id}

    @property
    def message_id(self) -> str | set[str] | None:
        """The message id; a set of ids when the message went out as several (merge data)."""
        ids = self.message_ids
        if not ids:
            return None
        return next(iter(ids)) if len(ids) == 1 else ids

    @property
    def status(self) -> set[str]:
        """Every recipient status that occurred (as django-anymail reports it)."""
        return {status.status for status in self.recipients.values()}

    @property
    def accepted(self) -> bool:
        """Whether Postmark took the message for at least one recipient."""
        return bool(self.status & {SENT, QUEUED})

    def for_anymail(self) -> PostmarkStatus:
        """What ``message.anymail_status`` holds: this status, or :class:`AnymailFailedStatus`.

        django-anymail documents ``status`` as None and ``recipients`` as empty "if the send call
        failed", and code written for it tests exactly that. A refusal of the recipients themselves
        (:class:`~postmark_admin.exceptions.PostmarkRecipientsRefused`) is not such a failure: anymail
        reports those statuses too. ``postmark_status`` keeps every recipient's status in all cases
        (``unknown`` after a 5xx: it may have been sent).
        """
        from ..exceptions import PostmarkRecipientsRefused

        if self.accepted or (self.error is None and not self.cancelled):
            return self
        if isinstance(self.error, PostmarkRecipientsRefused):
            return self
        return AnymailFailedStatus(
            results=self.results,
            esp_response=self.esp_response,
            error=self.error,
            cancelled=self.cancelled,
            bulk_job=self.bulk_job,
        )


@dataclass
class AnymailFailedStatus(PostmarkStatus):
    """``message.anymail_status`` after a send call that failed: django-anymail's initial values.

    ``recipients`` is empty and ``status`` / ``message_id`` are None, as anymail documents;
    ``esp_response`` (the answer, when there was one) and ``error`` are kept.
    """

    @property
    def status(self) -> set[str] | None:  # type: ignore[override]
        return None

    @property
    def accepted(self) -> bool:
        return False


def addresses_in(text: str, pattern: re.Pattern[str]) -> list[str]:
    """Addr-specs that Postmark lists in a human-readable ``Message``."""
    match = pattern.search(text or "")
    if not match:
        return []
    return [part.strip().lower() for part in match.group(1).split(",") if "@" in part]


def parse_result(
    result: Any, to: Iterable[str], cc_bcc: Iterable[str]
) -> tuple[dict[str, RecipientStatus], bool, bool]:
    """Map one Postmark result object to per-recipient statuses.

    Returns ``(statuses, accepted, recipients_refused)``: ``accepted`` when Postmark
    sent the message to someone; ``recipients_refused`` when it refused the message
    only because of its recipients (inactive or invalid addresses).
    """
    recipients = [*to, *cc_bcc]
    by_lower = {address.lower(): address for address in recipients}
    if not isinstance(result, Mapping):
        return dict.fromkeys(recipients, RecipientStatus(UNKNOWN)), False, False
    message = str(result.get("Message") or "")
    error_code = result.get("ErrorCode")
    if error_code is None and "delay" in message.lower() and result.get("MessageID"):
        # "Message accepted, but delivery may be delayed." comes without an ErrorCode.
        message_id = str(result["MessageID"])
        return dict.fromkeys(recipients, RecipientStatus(QUEUED, message_id)), True, False
    if error_code == 0:
        sent_id = str(result.get("MessageID") or "") or None
        statuses = dict.fromkeys(recipients, RecipientStatus(SENT, sent_id))
        for address in addresses_in(message, _INACTIVE):
            statuses[by_lower.get(address, address)] = RecipientStatus(REJECTED)
        accepted = any(status.status == SENT for status in statuses.values()) or not statuses
        return statuses, accepted, False
    statuses = dict.fromkeys(recipients, RecipientStatus(FAILED))
    refused = False
    if error_code == 406:
        for address in addresses_in(message, _INACTIVE):
            statuses[by_lower.get(address, address)] = RecipientStatus(REJECTED)
        refused = True
    elif error_code == 300 and _BAD_RECIPIENT.match(message):
        for address in addresses_in(message, _QUOTED_ADDRESS):
            statuses[by_lower.get(address, address)] = RecipientStatus(INVALID)
        refused = True
    return statuses, False, refused


def merge_recipients(
    into: dict[str, RecipientStatus], statuses: Mapping[str, RecipientStatus]
) -> dict[str, RecipientStatus]:
    """Combine statuses of a message sent as several items: a success wins over a failure."""
    for address, status in statuses.items():
        current = into.get(address)
        if current is None or _RANK[status.status] < _RANK[current.status]:
            into[address] = status
    return into
