"""Pure planning: prepared messages -> the fewest Postmark calls within Postmark's batch limits.

Messages are grouped by server token (``esp_extra["server_token"]``) and by kind
(plain or template), then cut into chunks of at most :data:`MAX_BATCH_MESSAGES`
message objects and :data:`MAX_BATCH_BYTES` of JSON (attachments counted in
base64, as Postmark counts them). A chunk of one goes to the single-message
endpoint, unless its message is a batch send (merge_data, merge_metadata or
merge_headers set): as in django-anymail, that always goes to a batch endpoint,
so one recipient or many, it is sent the same way and answered in the same
shape (an array of results, a refusal as a result with its ErrorCode). Each chunk remembers which message and item every position is, so each
result in Postmark's answer (in request order) maps back to its message (:func:`align_results`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config.crypto import Secret
from .addresses import split_mailboxes
from .payload import ENDPOINT_TEMPLATE, PayloadItem, PreparedMessage

MAX_BATCH_MESSAGES = 500
MAX_BATCH_BYTES = 50 * 1024 * 1024

_PATHS = {
    (False, False): "email",
    (False, True): "email/withTemplate",
    (True, False): "email/batch",
    (True, True): "email/batchWithTemplates",
}


def endpoint_path(*, is_batch: bool, templated: bool) -> str:
    """The endpoint of a call with one message object or several, plain or templated."""
    return _PATHS[(is_batch, templated)]


@dataclass(frozen=True)
class Entry:
    """One message object of a chunk: which Django message (by index) it came from."""

    message_index: int
    item: PayloadItem


@dataclass
class Chunk:
    """One HTTP call: ``path``, ``body()`` and the entries in request order."""

    server_token: Secret | None
    templated: bool
    entries: list[Entry] = field(default_factory=list)
    size: int = 0
    #: Holds a batch send's item: a batch call even with one entry.
    batch_send: bool = False

    @property
    def is_batch(self) -> bool:
        return len(self.entries) > 1 or self.batch_send

    @property
    def path(self) -> str:
        return endpoint_path(is_batch=self.is_batch, templated=self.templated)

    def body(self) -> bytes:
        """The request body, joined from the already serialized items (no second encoding)."""
        parts = [entry.item.body for entry in self.entries]
        if not self.is_batch:
            return parts[0]
        array = b"[" + b",".join(parts) + b"]"
        return b'{"Messages":' + array + b"}" if self.templated else array


def plan_chunks(
    prepared: Sequence[tuple[int, PreparedMessage]],
    *,
    max_messages: int = MAX_BATCH_MESSAGES,
    max_bytes: int = MAX_BATCH_BYTES,
) -> list[Chunk]:
    """Group ``(message index, prepared message)`` pairs into chunks, keeping message order in each group."""
    groups: dict[tuple[str | None, bool], list[Chunk]] = {}
    order: list[Chunk] = []
    for index, message in prepared:
        token = message.server_token
        key = (token.reveal() if token else None, message.endpoint == ENDPOINT_TEMPLATE)
        chunks = groups.setdefault(key, [])
        for item in message.items:
            # Room for the separators: "[", "," and '{"Messages":}' are counted generously.
            cost = item.size + 1
            current = chunks[-1] if chunks else None
            if (
                current is None
                or len(current.entries) >= max_messages
                or current.size + cost + 16 > max_bytes
            ):
                current = Chunk(server_token=token, templated=key[1])
                chunks.append(current)
                order.append(current)
            current.entries.append(Entry(index, item))
            current.size += cost
            current.batch_send = current.batch_send or message.batch_send
    return order


def align_results(answer: Any, recipients: Sequence[Sequence[str]]) -> list[Any] | None:
    """Postmark's 2xx answer to a batch as one result (or None) per message object, in request order.

    ``recipients`` holds each message object's To addr-specs. Postmark answers one result per
    message object in request order, taken by position. Any other 2xx answer (another number of
    results, or a single object) is matched by each result's ``To``: a result goes to the first
    message object not yet matched with the same To addresses, and a message object no result
    names gets None (what happened to it is unknown; the call succeeded). Returns None for an
    answer that is not results at all (a refusal of the whole batch).
    """
    if isinstance(answer, list) and len(answer) == len(recipients):
        return answer
    if isinstance(answer, Mapping):
        if answer.get("ErrorCode") not in (0, None) or "To" not in answer:
            return None
        answer = [answer]
    if not isinstance(answer, list):
        return None
    keys = [frozenset(address.lower() for address in to) for to in recipients]
    aligned: list[Any] = [None] * len(recipients)
    for result in answer:
        if not isinstance(result, Mapping) or not isinstance(result.get("To"), str):
            continue
        key = frozenset(addr.lower() for _name, addr in split_mailboxes(result["To"]) if addr)
        for position, wanted in enumerate(keys):
            if aligned[position] is None and wanted == key:
                aligned[position] = result
                break
    return aligned
