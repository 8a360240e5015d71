"""What the deliverability desk asks Postmark: a recipient's suppressions and their reactivation, a
message's own record (``/messages/outbound/{id}/details``), message search and the outbound statistics.

Each function makes one request (two for :func:`outbound_days`) through the process's pooled
:class:`~.client.PostmarkClient` with the effective configuration (or the ``client`` given), and
returns typed, read-only values parsed defensively from Postmark's answer: a field that is missing or
of the wrong type reads as empty, never as an exception. A refusal raises the project's
:class:`~postmark_admin.exceptions.PostmarkAPIError` (a subclass of
:class:`~postmark_admin.exceptions.PostmarkError`) with Postmark's ErrorCode and Message; the token is
never logged or shown (the client sends it only in its header).
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from django.utils.translation import gettext as _

from ..exceptions import PostmarkAPIError, PostmarkSuppressionRefused
from .client import PostmarkClient
from .deliverability_answers import (
    DayCounts,
    MessageDetails,
    MessageEvent,
    OutboundMessage,
    OutboundStats,
    SearchPage,
    Suppression,
    SuppressionResult,
    merge_days,
    parse_details,
    parse_message,
    parse_result,
    parse_stats,
    parse_suppression,
    parse_timestamp,
    read_items,
    read_number,
)

__all__ = [
    "DayCounts",
    "MessageDetails",
    "MessageEvent",
    "OutboundMessage",
    "OutboundStats",
    "SearchFilters",
    "SearchPage",
    "Suppression",
    "SuppressionResult",
    "merge_days",
    "message_details",
    "outbound_days",
    "outbound_search",
    "outbound_stats",
    "parse_details",
    "parse_stats",
    "parse_timestamp",
    "query_date",
    "reactivate",
    "require_object",
    "suppress",
    "suppressions",
]

DateBound = dt.date | dt.datetime

#: Postmark's per-address refusals carry a Message but no ErrorCode; these are the codes its published
#: table gives the same texts (1406, 1408), so a refusal always names one when it is known.
REFUSAL_CODES = {
    "You do not have the required authority to change this suppression.": 1406,
    "An invalid email address was provided.": 1408,
}
# -- the requests --------------------------------------------------------------------------------------


@functools.cache
def _postmark_zone() -> dt.tzinfo:
    """US Eastern time, the zone Postmark reads a date and time without an offset in."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    except Exception:  # no tz database: a fixed offset is close enough for a filter
        return dt.timezone(dt.timedelta(hours=-5))


def query_date(value: DateBound) -> str:
    """A ``fromdate``/``todate`` value: a date as is, a datetime in Postmark's time zone (US Eastern)
    without offset, as its reference writes them (``2024-05-01T10:00:00``). Pure."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(_postmark_zone()).replace(tzinfo=None)
        return value.isoformat(timespec="seconds")
    return value.isoformat()


def _segment(value: str) -> str:
    """``value`` as one path segment, quoted; refused when it could name another path."""
    if not isinstance(value, str) or value.strip(".") == "":
        raise ValueError(_("A message ID or stream must be a non-empty text other than dots."))
    return quote(value, safe="")


def require_object(answer: Any) -> Mapping[str, Any]:
    """``answer`` if it is a JSON object; else raise :class:`PostmarkAPIError` (a proxy's page, a list)."""
    if not isinstance(answer, Mapping):
        raise PostmarkAPIError(_("Postmark's answer could not be read."), response=answer)
    return answer


def _get(
    client: PostmarkClient | None, path: str, params: Mapping[str, Any] | None = None
) -> Mapping[str, Any]:
    client = client or PostmarkClient()
    return require_object(client.request("GET", path, params=params)[1])


def suppressions(
    address: str | None = None, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> list[Suppression]:
    """The suppressions on ``stream`` (of ``address`` only, when given): ``GET
    /message-streams/{stream}/suppressions/dump``."""
    params = {"EmailAddress": address} if address else None
    answer = _get(client, f"message-streams/{_segment(stream)}/suppressions/dump", params)
    return [parse_suppression(item, stream) for item in read_items(answer.get("Suppressions"))]


def _change(
    addresses: Iterable[str], stream: str, *, delete: bool, client: PostmarkClient | None
) -> list[SuppressionResult]:
    path = f"message-streams/{_segment(stream)}/suppressions" + ("/delete" if delete else "")
    body = {"Suppressions": [{"EmailAddress": address} for address in addresses]}
    answer = require_object((client or PostmarkClient()).request("POST", path, json_body=body)[1])
    return [parse_result(item) for item in read_items(answer.get("Suppressions"))]


def _one(results: list[SuppressionResult], address: str, *, delete: bool) -> SuppressionResult:
    """The result for ``address``; raise :class:`PostmarkSuppressionRefused` when Postmark refused it."""
    result = next((item for item in results if item.email_address.lower() == address.lower()), None)
    if result is None:
        result = results[0] if len(results) == 1 else SuppressionResult(address, "Failed", None)
    if result.status not in ("Deleted", "Suppressed"):  # "Failed", or nothing Postmark said
        raise PostmarkSuppressionRefused(
            address,
            delete=delete,
            error_code=REFUSAL_CODES.get(result.message or ""),
            message=result.message,
            response=result,
        )
    return result


def reactivate(
    address: str, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> SuppressionResult:
    """Delete ``address``'s suppression on ``stream`` (``POST .../suppressions/delete``) and return
    Postmark's result ("Deleted"; Postmark applies it within a minute).

    Raise :class:`~postmark_admin.exceptions.PostmarkSuppressionRefused` when Postmark refuses (a spam
    complaint cannot be reactivated), naming its ErrorCode and Message.
    """
    return _one(_change([address], stream, delete=True, client=client), address, delete=True)


def suppress(
    address: str, stream: str = "outbound", *, client: PostmarkClient | None = None
) -> SuppressionResult:
    """Suppress ``address`` on ``stream`` (``POST .../suppressions``, a ManualSuppression) and return
    Postmark's result ("Suppressed"); raise like :func:`reactivate` when Postmark refuses."""
    return _one(_change([address], stream, delete=False, client=client), address, delete=False)


def message_details(message_id: str, *, client: PostmarkClient | None = None) -> MessageDetails:
    """Postmark's own record of a sent message (``GET /messages/outbound/{id}/details``); an unknown
    message raises :class:`~postmark_admin.exceptions.PostmarkAPIError` with ErrorCode 701."""
    return parse_details(_get(client, f"messages/outbound/{_segment(message_id)}/details"))


def _stats_params(
    stream: str | None, fromdate: DateBound | None, todate: DateBound | None, tag: str | None
) -> dict[str, str]:
    params = {"messagestream": stream, "tag": tag}
    dates = {"fromdate": fromdate, "todate": todate}
    found = {name: value for name, value in params.items() if value}
    found.update({name: query_date(value) for name, value in dates.items() if value is not None})
    return found


def outbound_stats(
    stream: str | None = "outbound",
    fromdate: DateBound | None = None,
    todate: DateBound | None = None,
    *,
    tag: str | None = None,
    client: PostmarkClient | None = None,
) -> OutboundStats:
    """Postmark's overview (``GET /stats/outbound``) of ``stream`` (every stream when None) from
    ``fromdate`` to ``todate`` (both included; all time when None)."""
    return parse_stats(_get(client, "stats/outbound", _stats_params(stream, fromdate, todate, tag)))


def outbound_days(
    stream: str | None = "outbound",
    fromdate: DateBound | None = None,
    todate: DateBound | None = None,
    *,
    tag: str | None = None,
    client: PostmarkClient | None = None,
) -> list[DayCounts]:
    """Sends and bounces per day (``/stats/outbound/sends`` and ``/stats/outbound/bounces``), only the
    days Postmark lists (those with something to count), by date."""
    params = _stats_params(stream, fromdate, todate, tag)
    client = client or PostmarkClient()
    return merge_days(
        _get(client, "stats/outbound/sends", params), _get(client, "stats/outbound/bounces", params)
    )


@dataclass(frozen=True)
class SearchFilters:
    """The message search's filters, as Postmark names them (None or empty: not filtered)."""

    recipient: str | None = None
    fromemail: str | None = None
    tag: str | None = None
    status: str | None = None  # queued, sent, processed
    subject: str | None = None
    fromdate: DateBound | None = None
    todate: DateBound | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)  # Postmark allows one field at a time

    def params(self) -> dict[str, str]:
        found = {
            name: value
            for name, value in (
                ("recipient", self.recipient),
                ("fromemail", self.fromemail),
                ("tag", self.tag),
                ("status", self.status),
                ("subject", self.subject),
            )
            if value
        }
        for name, bound in (("fromdate", self.fromdate), ("todate", self.todate)):
            if bound is not None:
                found[name] = query_date(bound)
        found.update({f"metadata_{key}": value for key, value in self.metadata.items()})
        return found


def outbound_search(
    filters: SearchFilters | None = None,
    stream: str = "outbound",
    *,
    count: int = 50,
    offset: int = 0,
    client: PostmarkClient | None = None,
) -> SearchPage:
    """One page of Postmark's message search (``GET /messages/outbound``) on ``stream``, newest first:
    ``count`` at most 500, ``count + offset`` at most 10,000 (Postmark refuses more with ErrorCode 700)."""
    params = {
        "count": str(count),
        "offset": str(offset),
        "messagestream": stream,
        **(filters or SearchFilters()).params(),
    }
    answer = _get(client, "messages/outbound", params)
    return SearchPage(
        total_count=read_number(answer.get("TotalCount")),
        messages=tuple(parse_message(item) for item in read_items(answer.get("Messages"))),
    )
