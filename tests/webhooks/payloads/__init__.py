"""Realistic Postmark webhook payloads (from Postmark's documented examples), one per record type."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

TRACKING = ("bounce", "spam_complaint", "delivery", "open", "click", "subscription_change")
INBOUND = ("inbound", "inbound_raw", "inbound_test_button")


@cache
def _read(name: str) -> dict[str, Any]:
    return json.loads((HERE / f"{name}.json").read_text(encoding="utf-8"))


def load(name: str, **changes: Any) -> dict[str, Any]:
    """A fresh copy of payload ``name``; ``changes`` replace fields (None values stay None)."""
    payload = copy.deepcopy(_read(name))
    payload.update(changes)
    return payload
