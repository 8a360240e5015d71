"""Pure parsing: the bytes of a webhook body -> a JSON object the database can store.

Refused with :class:`InvalidWebhookPayload` (a 400 with a short reason, nothing stored): a body that is
not valid UTF-8, not JSON, not an object, or nested deeper than :data:`MAX_JSON_DEPTH`. Characters no
database column takes (NUL, lone surrogates written as ``\\u`` escapes) are replaced.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from django.utils.translation import gettext

from ..exceptions import PostmarkError


class InvalidWebhookPayload(PostmarkError, ValueError):
    """The body is not a Postmark webhook payload. ``reason`` is short and safe to send back."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("number out of range")
    return value


def _no_constants(text: str) -> Any:
    raise ValueError(f"{text} is not valid JSON")


# \u0000 and lone surrogates decode to str values that PostgreSQL (text and jsonb) and
# UTF-8 cannot store; only a body holding such an escape needs the cleaning pass.
_NEEDS_CLEANING = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])")


#: How deep a body may nest (the top object is level 1). Postmark's payloads are three or four levels
#: deep; a deeper body is refused the same way on every Python (3.13's parser accepts far more than
#: earlier ones) and every database (SQLite's JSON functions refuse more than 1,000 levels).
MAX_JSON_DEPTH = 32


def _too_deep() -> InvalidWebhookPayload:
    return InvalidWebhookPayload(
        gettext("Malformed JSON: nested deeper than %(limit)d levels.") % {"limit": MAX_JSON_DEPTH}
    )


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether the decoded JSON ``value`` nests deeper than ``limit`` levels (iterative: no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def parse_body(body: bytes) -> dict[str, Any]:
    """The JSON object in ``body``, or :class:`InvalidWebhookPayload` with a short reason.

    Postmark posts UTF-8 JSON: a body that is not valid UTF-8 (a byte that cannot occur, a truncated or
    overlong sequence, an encoded surrogate) is refused, so no such byte reaches the database. Escaped
    NUL and lone surrogates (``\\u0000``, ``\\ud800``) are valid JSON: they are replaced by U+FFFD.
    """
    if not body.strip():
        raise InvalidWebhookPayload(gettext("Empty body: expected a JSON object."))
    try:
        # Strict UTF-8 (a leading BOM is allowed): json.loads(bytes) would let encoded surrogates through.
        decoded = body.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidWebhookPayload(
            gettext("Malformed JSON: the body is not valid UTF-8 (byte %(offset)d); Postmark sends UTF-8.")
            % {"offset": error.start}
        ) from None
    try:
        payload = json.loads(decoded, parse_float=_finite_float, parse_constant=_no_constants)
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # JSONDecodeError, oversized numbers
        raise InvalidWebhookPayload(gettext("Malformed JSON.")) from None
    if _depth_exceeds(payload, MAX_JSON_DEPTH):
        raise _too_deep()
    if not isinstance(payload, dict):
        raise InvalidWebhookPayload(
            gettext("Expected a JSON object, got a JSON %(type)s.") % {"type": _json_type(payload)}
        )
    cleaned: dict[str, Any] = clean(payload) if _NEEDS_CLEANING.search(body) else payload
    return cleaned


def _json_type(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def clean_text(text: str) -> str:
    """``text`` without NUL characters or lone surrogates (each replaced by U+FFFD)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in text)
    return text.replace("\x00", "\ufffd")


def clean(value: Any) -> Any:
    """A copy of a decoded JSON value whose strings (keys too) can be stored anywhere."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(key): clean(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean(item) for item in value]
    return value
