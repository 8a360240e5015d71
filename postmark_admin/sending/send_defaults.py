"""Pure: a message's own options over the send defaults (``POSTMARK_SEND_DEFAULTS``, django-anymail's
``SEND_DEFAULTS``), combined the way django-anymail combines them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise


def with_send_defaults(options: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``options`` over the send defaults, as django-anymail combines them.

    ``tags`` are the defaults' followed by the message's; ``metadata`` is merged key by key and
    ``esp_extra`` deeply, the message winning; ``track_opens``, ``track_clicks`` and
    ``message_stream`` are the message's when it sets them.
    """
    if not defaults:
        return options
    combined = dict(options)
    for name, default in defaults.items():
        own = options.get(name)
        if own is None:
            combined[name] = default
        elif name == "tags":
            combined[name] = [*as_tags_list(default), *as_tags_list(own)]
        elif name == "metadata":
            combined[name] = {**default, **own}
        elif name == "esp_extra":
            combined[name] = _deep_merge(default, own)
    return combined


def as_tags_list(tags: Any) -> list[Any]:
    """One tag (a string) or several, as a list."""
    return [tags] if isinstance(tags, str | Promise) else list(tags)


def _deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
