"""Injected failures (:meth:`.Sandbox.fail_next`): which requests one hits and what it answers. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from .records import ReceivedRequest
from .server import Answer

#: The ``Message`` of an injected failure when ``fail_next`` is given none.
DEFAULT_FAULT_MESSAGES = {
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    503: "The Postmark API is offline for maintenance.",
}


@dataclass
class Fault:
    """The next ``remaining`` API requests (to ``path`` only, if set) fail.

    They answer ``status`` with ``{"ErrorCode": error_code, "Message": message}``, or are dropped
    without an answer; with ``after_processing`` the request is processed first.
    """

    status: int
    error_code: int
    message: str
    remaining: int
    drop: bool
    after_processing: bool
    path: str | None

    def matches(self, received: ReceivedRequest) -> bool:
        """Whether this fault applies to ``received``."""
        return self.path is None or received.path.rstrip("/").lower() == self.path.rstrip("/").lower()

    def answer(self) -> Answer:
        """The failure that replaces the request's answer."""
        return Answer(self.status, {"ErrorCode": self.error_code, "Message": self.message}, drop=self.drop)


def default_message(status: int) -> str:
    """The ``Message`` an injected failure with ``status`` has unless one is given."""
    return DEFAULT_FAULT_MESSAGES.get(status, "Injected failure.")
