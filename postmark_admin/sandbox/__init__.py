"""A local emulator of Postmark's HTTP API, for development and tests.

See :class:`Sandbox` and ``docs/sandbox.rst``. Nothing here touches Django or the network at import time.
"""

from __future__ import annotations

from .core import Sandbox
from .records import ReceivedRequest, WebhookPost
from .templates import Template

__all__ = ["ReceivedRequest", "Sandbox", "Template", "WebhookPost"]
