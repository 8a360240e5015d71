"""What the sandbox tests share; the test modules import it (``from .conftest import ...``)."""

from __future__ import annotations

#: The smallest valid message.
MESSAGE = {"From": "sender@example.com", "To": "to@example.com", "Subject": "Hi", "TextBody": "Hello"}


def headers(sandbox) -> dict[str, str]:
    """The headers Postmark's API expects, with ``sandbox``'s server token."""
    return {
        "X-Postmark-Server-Token": sandbox.token,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
