"""Post webhooks back to the site from a background thread, retrying failures like Postmark (sooner)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests

from .records import WebhookPost

logger = logging.getLogger("postmark_admin.sandbox")


@dataclass(frozen=True)
class Delivery:
    """One payload for one URL, with the webhook's basic auth and custom headers."""

    url: str
    payload: dict[str, Any]
    auth: tuple[str, str] | None
    headers: tuple[tuple[str, str], ...] = ()


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """``https://user:pass@host/path`` -> (``https://host/path``, (user, pass)); Postmark accepts both forms."""
    parts = urlsplit(url)
    if parts.username is None:
        return url, None
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    from urllib.parse import unquote

    bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, (unquote(parts.username), unquote(parts.password or ""))


class WebhookSender:
    """A queue and one worker thread; every attempt is reported to ``record``.

    A post succeeds on any 2xx. 403 stops retrying (as at Postmark); other failures are retried after
    each of ``retry_delays`` seconds. ``settled`` is called once per delivery, when it succeeded or was
    given up.
    """

    def __init__(
        self,
        record: Callable[[WebhookPost], None],
        settled: Callable[[], None],
        retry_delays: Sequence[float],
        timeout: float,
    ) -> None:
        self._record = record
        self._settled = settled
        self.retry_delays = tuple(retry_delays)
        self.timeout = timeout
        self._queue: queue.Queue[Delivery | None] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._session = requests.Session()
        self._session.trust_env = False  # never send the sandbox's posts through a proxy
        self._thread = threading.Thread(target=self._run, name="postmark-sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout)
        self._session.close()

    def submit(self, delivery: Delivery) -> None:
        self._queue.put(delivery)

    def _run(self) -> None:
        while True:
            delivery = self._queue.get()
            if delivery is None or self._stopping.is_set():
                return
            try:
                self._deliver(delivery)
            finally:
                self._settled()

    def _deliver(self, delivery: Delivery) -> None:
        url, auth = split_credentials(delivery.url)
        auth = delivery.auth or auth
        headers = {"Content-Type": "application/json", "User-Agent": "Postmark"}
        headers.update(dict(delivery.headers))
        for attempt, delay in enumerate((0.0, *self.retry_delays)):
            if delay and self._stopping.wait(delay):
                return
            try:
                response = self._session.post(
                    url, json=delivery.payload, auth=auth, headers=headers, timeout=self.timeout
                )
                status: int | None = response.status_code
            except requests.RequestException as error:
                logger.info(
                    "webhook post to %s failed (attempt %d): %s", url, attempt + 1, type(error).__name__
                )
                status = None
            self._record(WebhookPost(url, delivery.payload, status))
            if status is not None and (200 <= status < 300 or status == 403):
                return
