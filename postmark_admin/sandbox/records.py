"""What the sandbox keeps: the requests it received and the webhook posts it made."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from typing import Any, NamedTuple

#: Header values never shown by ``repr()`` (a client may point a real token at the sandbox).
SECRET_HEADERS = frozenset({"x-postmark-server-token", "x-postmark-account-token", "authorization"})


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the sandbox received it.

    ``query`` maps each query parameter to its last value; ``headers`` keeps the names as sent;
    ``json_body`` is the parsed body (``None`` when absent or not JSON); ``connection_id`` numbers the
    TCP connection it came on (1 for the first connection the sandbox accepted), so tests can see reuse.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json_body: Any
    raw_body: bytes
    connection_id: int

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
def _eastern() -> dt.tzinfo:
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("America/New_York")
    except Exception:  # no tz database (e.g. Windows without tzdata): a fixed offset is close enough
        return dt.timezone(dt.timedelta(hours=-5))


def eastern_now() -> dt.datetime:
    """Now in US Eastern time, the zone Postmark's API answers use for ``SubmittedAt``."""
    return dt.datetime.now(_eastern())


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
