"""What the sandbox keeps: the requests it received and the webhook posts it made."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

#: Header values never shown by ``repr()`` (a client may point a real token at the sandbox).
SECRET_HEADERS = frozenset({"x-postmark-server-token", "x-postmark-account-token", "authorization"})


class QueryParameters(Mapping[str, str]):
    """A request's query parameters, whose names match in any case, as at Postmark: its reference writes
    ``messagestream`` or ``MessageStream``, the official clients send ``messageStream``.

    Each name maps to its last value, whatever the case of the names it came under; iterating gives
    each name as the client last wrote it.
    """

    __slots__ = ("_items",)

    def __init__(self, pairs: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for name, value in pairs.items() if isinstance(pairs, Mapping) else pairs:
            self._items[name.lower()] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return repr(dict(self.items()))


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the sandbox received it.

    ``query`` maps each query parameter to its last value, names matched in any case (a
    :class:`~postmark_admin.sandbox.records.QueryParameters`, made from any mapping given); ``headers`` keeps the names as sent;
    ``json_body`` is the parsed body (``None`` when absent or not JSON); ``connection_id`` numbers the
    TCP connection it came on (1 for the first connection the sandbox accepted), so tests can see reuse.
    """

    method: str
    path: str
    query: Mapping[str, str]
    headers: dict[str, str]
    json_body: Any
    raw_body: bytes
    connection_id: int

    def __post_init__(self) -> None:
        if not isinstance(self.query, QueryParameters):
            object.__setattr__(self, "query", QueryParameters(self.query))

    def header(self, name: str, default: str | None = None) -> str | None:
        """A header's value, by case-insensitive name."""
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return default

    def __repr__(self) -> str:
        headers = {
            key: ("<secret>" if key.lower() in SECRET_HEADERS else value)
            for key, value in self.headers.items()
        }
        return (
            f"ReceivedRequest(method={self.method!r}, path={self.path!r}, query={self.query!r}, "
            f"headers={headers!r}, body={len(self.raw_body)} bytes, connection_id={self.connection_id})"
        )


class WebhookPost(NamedTuple):
    """One attempt to post a webhook back: ``http_status`` is ``None`` when the connection failed."""

    url: str
    payload: dict[str, Any]
    http_status: int | None


def postmark_timestamp(moment: dt.datetime) -> str:
    """ISO 8601 with 7 fractional digits, like ``2024-05-01T10:11:12.1234560-04:00`` (``Z`` for UTC)."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{moment.microsecond:06d}0"
    offset = moment.utcoffset()
    if offset is None or offset == dt.timedelta(0):
        return text + "Z"
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@functools.cache
def postmark_time_zone() -> dt.tzinfo:
    """US Eastern time: the zone of Postmark's ``SubmittedAt`` and of dates in a query without an offset."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    except Exception:  # no tz database (e.g. Windows without tzdata): a fixed offset is close enough
        return dt.timezone(dt.timedelta(hours=-5))


def eastern_now() -> dt.datetime:
    """Now in US Eastern time, the zone Postmark's API answers use for ``SubmittedAt``."""
    return dt.datetime.now(postmark_time_zone())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
