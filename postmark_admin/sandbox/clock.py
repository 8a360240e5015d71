"""The sandbox's clock: what time-dependent emulation (a bulk job's progress) reads.

It follows ``time.monotonic()`` until a test freezes it; then only :meth:`SandboxClock.advance` moves it,
so a test sees exactly the progress it asked for whatever the machine's speed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class SandboxClock:
    """Seconds, monotonic. ``freeze()`` stops it; ``advance(seconds)`` moves it on (frozen or not) and then
    calls ``on_advance`` (the sandbox processes what became due, so webhooks follow at once)."""

    def __init__(self, on_advance: Callable[[], object] | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        self._frozen_at: float | None = None
        self.on_advance = on_advance

    def now(self) -> float:
        with self._lock:
            base = self._frozen_at if self._frozen_at is not None else time.monotonic()
            return base + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> None:
        """Stop following real time (now stays now until :meth:`advance`)."""
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = time.monotonic()

    def unfreeze(self) -> None:
        """Follow real time again, from the time reached."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset += self._frozen_at - time.monotonic()
                self._frozen_at = None

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` on, then let the sandbox process what became due."""
        if seconds < 0:
            raise ValueError("The sandbox's clock only moves forward.")
        with self._lock:
            self._offset += seconds
        if self.on_advance is not None:
            self.on_advance()
