"""Pure: one Postmark message object -> its JSON bytes, naming the field when a value cannot be encoded.

The field is searched for only when encoding fails, so the send path encodes each item once.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django.core.mail import EmailMessage

from ..exceptions import PostmarkSerializationError

# One encoder for every message: json.dumps() with these options would build a new one per call.
_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode_item(data: dict[str, Any], message: EmailMessage) -> bytes:
    """The item's JSON; a value JSON cannot hold raises :class:`PostmarkSerializationError` naming it."""
    try:
        return _JSON.encode(data).encode("utf-8")
    except (TypeError, ValueError) as error:
        # Only on failure: find the field, so that the hot path encodes once.
        field, value = unencodable_field(data)
        if not field:
            raise
        raise PostmarkSerializationError(field, value, str(error), message) from error


def unencodable_field(value: Any, path: str = "") -> tuple[str, Any]:
    """Where in ``value`` the first value JSON cannot hold is (``Headers['X-Price']``, ``Metadata['total']``)."""
    if isinstance(value, Mapping):
        if path.endswith("]") and {"Name", "Value"} <= set(value):  # a header: name it by its name
            head = path.rpartition("[")[0]
            return unencodable_field(value["Value"], f"{head}[{value['Name']!r}]")
        for key, item in value.items():
            if not isinstance(key, str | int | float | bool) and key is not None:
                return f"{path or 'the message'} key {key!r}", key
            found = unencodable_field(item, f"{path}[{key!r}]" if path else str(key))
            if found[0]:
                return found
        return "", None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = unencodable_field(item, f"{path}[{index}]")
            if found[0]:
                return found
        return "", None
    try:
        _JSON.encode(value).encode("utf-8")  # a lone surrogate passes the encoder, not UTF-8
    except (TypeError, ValueError):
        return path or "value", value
    return "", None
