"""Reading query parameters the way Postmark's endpoints read them: counts, offsets, dates, choices.

Each reader takes the ErrorCode to refuse with, since every Postmark endpoint family has its own (403
for the sandbox's ``/bounces``, 700 for ``/messages``, 900 for ``/stats``, 1404/1405 for the
suppressions). A refusal is a 422 :class:`~.validation.ApiError`, never an exception a caller has to
catch: hostile values (huge numbers, NUL bytes, lone surrogates) all end there.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .records import ReceivedRequest, postmark_time_zone
from .validation import invalid

#: Above this a count or offset is refused before any arithmetic (Python ints have no limit).
MAX_NUMBER_DIGITS = 9


def int_param(received: ReceivedRequest, name: str, *, required: bool, code: int) -> int | None:
    """A non-negative integer parameter (None when absent and not ``required``)."""
    value = received.query.get(name)
    if value is None or value == "":
        if required:
            raise invalid(f"The '{name}' query parameter is required.", code)
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > MAX_NUMBER_DIGITS:
        if text.startswith("-") and text[1:].isascii() and text[1:].isdigit():
            raise invalid(f"The '{name}' query parameter must not be negative.", code)
        raise invalid(f"The '{name}' query parameter must be a number.", code)
    return int(text)


def paging(
    received: ReceivedRequest, *, max_count: int, max_window: int, code: int, required: bool = True
) -> tuple[int, int]:
    """``(count, offset)``: both required (unless not ``required``: then ``max_count`` and 0), count at
    most ``max_count``, count + offset at most ``max_window``."""
    count = int_param(received, "count", required=required, code=code)
    offset = int_param(received, "offset", required=required, code=code) or 0
    count = max_count if count is None else count
    if count > max_count:
        raise invalid(f"The 'count' query parameter may be at most {max_count}.", code)
    if count + offset > max_window:
        raise invalid(f"'count' + 'offset' may be at most {max_window}.", code)
    return count, offset


def date_param(received: ReceivedRequest, name: str, *, up_to: bool, code: int) -> dt.datetime | None:
    """A ``fromdate`` (``up_to`` False) or ``todate`` bound, both included, as an aware datetime; None
    when not given.

    A date alone starts at midnight (``fromdate``) or takes in the whole day (``todate``: its last
    microsecond); a date and time without an offset is Postmark's time, US Eastern.
    """
    value = received.query.get(name)
    if not value:
        return None
    zone = postmark_time_zone()
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        pass
    else:
        return dt.datetime.combine(day, dt.time.max if up_to else dt.time.min, zone)
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        raise invalid(
            f"The '{name}' query parameter must be a date (2024-05-01) or a date and time "
            "(2024-05-01T10:00:00).",
            code,
        ) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


def choice_param(received: ReceivedRequest, name: str, choices: Iterable[str], *, code: int) -> str | None:
    """One of ``choices`` (matched in any case, returned as ``choices`` spells it); None when absent."""
    value = received.query.get(name)
    if not value:
        return None
    for choice in choices:
        if choice.lower() == value.lower():
            return choice
    raise invalid(f"Parameter '{name}' is invalid.", code)
