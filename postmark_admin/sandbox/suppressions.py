"""The suppressions endpoints: ``GET /message-streams/{stream}/suppressions/dump``, ``POST
/message-streams/{stream}/suppressions`` and ``POST /message-streams/{stream}/suppressions/delete``.

Shapes and texts follow Postmark's Suppressions API reference (postmarkapp.com/developer/api/
suppressions-api) and its published error codes (1404 bad ``SuppressionReason``, 1405 bad ``Origin``,
1408 invalid address, 1409 no proper body, 1410 too many suppressions). Postmark applies changes
asynchronously (up to a minute); the sandbox applies them at once, so tests need not wait.

The bookkeeping (:func:`record`, :func:`listed`, :func:`change`) is pure: :class:`~.state.SandboxState`
calls it on its records with its lock held.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any

from .addresses import AddressError, parse_mailbox
from .query import choice_param, date_param
from .records import ReceivedRequest, postmark_time_zone, postmark_timestamp
from .server import Answer
from .validation import invalid

if TYPE_CHECKING:
    from .core import Sandbox

REASONS = ("HardBounce", "SpamComplaint", "ManualSuppression")
ORIGINS = ("Recipient", "Customer", "Admin")
#: At most this many addresses per create or delete request (Postmark's published limit).
MAX_CHANGES = 50
#: Postmark's per-address texts (its reference's examples; the clients' tests use the same).
NO_AUTHORITY = "You do not have the required authority to change this suppression."
INVALID_ADDRESS = "An invalid email address was provided."
#: Suppressions only Postmark's support can lift: a spam complaint (Postmark's reference says "cannot be
#: deleted"; a create over one fails the same way, as the official clients' fixtures show).
LOCKED_REASONS = frozenset({"SpamComplaint"})
#: The ErrorCode of a bad ``fromdate``/``todate`` here: Postmark's table lists none for the
#: suppressions, so the sandbox's choice is 1407 ("Something went wrong when processing the request").
DATE_CODE = 1407


def record(address: str, reason: str, origin: str, at: dt.datetime) -> dict[str, Any]:
    """One suppression as the dump lists it. Pure."""
    return {
        "EmailAddress": address,
        "SuppressionReason": reason,
        "Origin": origin,
        "CreatedAt": postmark_timestamp(at.astimezone(postmark_time_zone())),
    }


def listed(
    records: Mapping[str, Mapping[str, Any]], inactive: Iterable[str], created_at: dt.datetime
) -> list[dict[str, Any]]:
    """A stream's suppressions, newest first, then each ``inactive`` address (suppressed on every stream:
    a ManualSuppression by the Customer, created when the sandbox was) not among them. Pure (copies)."""
    found = [dict(item) for item in reversed(list(records.values()))]
    found += [
        record(address, "ManualSuppression", "Customer", created_at)
        for address in sorted(set(inactive) - set(records))
    ]
    return found


def valid_address(value: object) -> str | None:
    """``value`` lower-cased if it is one bare address (no display name), else None. Pure."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        mailbox = parse_mailbox(value)
    except AddressError:
        return None
    return mailbox.normalized if mailbox.email == value.strip() else None


def _result(address: object, status: str, message: str | None) -> dict[str, Any]:
    return {
        "EmailAddress": address if isinstance(address, str) else None,
        "Status": status,
        "Message": message,
    }


def change(
    records: MutableMapping[str, dict[str, Any]],
    inactive: Iterable[str],
    addresses: Iterable[object],
    *,
    delete: bool,
    now: dt.datetime,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Suppress or (``delete``) reactivate each of ``addresses`` in ``records``, changing it in place;
    return Postmark's result for each, in order, and the addresses whose standing changed: lifted
    (deleted from ``records`` or found in ``inactive``) or newly suppressed.

    A create adds a ManualSuppression by the Customer (an address already suppressed stays as it was);
    a delete removes the suppression (an address not suppressed is "Deleted" too, as at Postmark). A
    SpamComplaint cannot be changed either way: "Failed", with Postmark's message.
    """
    every_stream = set(inactive)
    results: list[dict[str, Any]] = []
    changed: list[str] = []
    for given in addresses:
        address = valid_address(given)
        if address is None:
            results.append(_result(given, "Failed", INVALID_ADDRESS))
            continue
        current = records.get(address)
        if current is not None and current["SuppressionReason"] in LOCKED_REASONS:
            results.append(_result(given, "Failed", NO_AUTHORITY))
        elif delete:
            if records.pop(address, None) is not None or address in every_stream:
                changed.append(address)
            results.append(_result(given, "Deleted", None))
        else:
            if current is None and address not in every_stream:
                records[address] = record(address, "ManualSuppression", "Customer", now)
                changed.append(address)
            results.append(_result(given, "Suppressed", None))
    return results, changed


# -- the endpoints ---------------------------------------------------------------------------------


def _known_stream(sandbox: Sandbox, stream: str) -> None:
    if stream not in sandbox.message_streams:
        raise invalid(f"The message stream for the provided 'ID' ({stream}) was not found.", 1226)


def dump(sandbox: Sandbox, received: ReceivedRequest, stream: str) -> Answer:
    _known_stream(sandbox, stream)
    reason = choice_param(received, "SuppressionReason", REASONS, code=1404)
    origin = choice_param(received, "Origin", ORIGINS, code=1405)
    address = (received.query.get("EmailAddress") or "").strip().lower()
    since = date_param(received, "fromdate", up_to=False, code=DATE_CODE)
    until = date_param(received, "todate", up_to=True, code=DATE_CODE)
    found = []
    for item in sandbox.state.suppressions(stream):
        if reason is not None and item["SuppressionReason"] != reason:
            continue
        if origin is not None and item["Origin"] != origin:
            continue
        if address and item["EmailAddress"].lower() != address:
            continue
        if since is not None or until is not None:
            created = dt.datetime.fromisoformat(item["CreatedAt"])
            if (since is not None and created < since) or (until is not None and created > until):
                continue
        found.append(item)
    return Answer(200, {"Suppressions": found})


def _addresses(received: ReceivedRequest) -> list[object]:
    """The ``EmailAddress`` of each item of the body's ``Suppressions`` (None where an item has none)."""
    body = received.json_body
    items = body.get("Suppressions") if isinstance(body, Mapping) else None
    if not isinstance(items, list):
        raise invalid("A proper request body must be provided.", 1409)
    if len(items) > MAX_CHANGES:
        raise invalid(
            "You cannot provide more than the maximum number of suppressions for this request "
            f"({MAX_CHANGES}).",
            1410,
        )
    return [item.get("EmailAddress") if isinstance(item, Mapping) else None for item in items]


def _changed(sandbox: Sandbox, received: ReceivedRequest, stream: str, *, delete: bool) -> Answer:
    _known_stream(sandbox, stream)
    results = sandbox.state.change_suppressions(
        stream, _addresses(received), delete=delete, server_id=sandbox.server_id
    )
    return Answer(200, {"Suppressions": results})


def create(sandbox: Sandbox, received: ReceivedRequest, stream: str) -> Answer:
    return _changed(sandbox, received, stream, delete=False)


def delete(sandbox: Sandbox, received: ReceivedRequest, stream: str) -> Answer:
    return _changed(sandbox, received, stream, delete=True)
