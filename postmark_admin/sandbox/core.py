"""The :class:`Sandbox`: a local emulator of Postmark's API, for development and tests."""

from __future__ import annotations

import copy
import ipaddress
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import outcomes, page, routes
from .outcomes import WEBHOOK_EVENTS
from .records import ReceivedRequest, WebhookPost
from .server import Answer, SandboxHTTPServer
from .templates import DEFAULT_TEMPLATES, Template, coerce_templates
from .validation import CheckedMessage
from .webhook_sender import WebhookSender

DEFAULT_STREAMS: dict[str, str] = {
    "outbound": "Transactional",
    "broadcast": "Broadcasts",
    "inbound": "Inbound",
}
DEFAULT_FAULT_MESSAGES = {
    429: "Rate limit exceeded.",
    500: "Internal server error.",
    503: "The Postmark API is offline for maintenance.",
}


@dataclass
class _Fault:
    status: int
    error_code: int
    message: str
    remaining: int
    drop: bool
    after_processing: bool
    path: str | None

    def matches(self, received: ReceivedRequest) -> bool:
        return self.path is None or received.path.rstrip("/").lower() == self.path.rstrip("/").lower()

    def answer(self) -> Answer:
        return Answer(self.status, {"ErrorCode": self.error_code, "Message": self.message}, drop=self.drop)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Sandbox:
    """Emulate Postmark's API on ``host:port`` (loopback, a free port by default).

    Use as a context manager (or call :meth:`start` and :meth:`stop`)::

        with Sandbox() as sandbox:
            with override_postmark_settings(server_token=sandbox.token, api_url=sandbox.url):
                send_mail(...)
            assert sandbox.messages[0]["To"] == "someone@example.com"

    ``latency`` (seconds, settable any time) is added once per request answered, once per TCP connection
    accepted and once more per TLS handshake (``https=True``). ``inactive`` holds suppressed addresses.
    ``webhook_url`` (credentials may be in it, or in ``webhook_auth``) makes the sandbox post
    ``webhook_events`` back for every accepted message, as a webhook configured on each sending stream.
    ``templates`` (dicts in Postmark's shape, or :class:`~.templates.Template`) and ``message_streams``
    (id -> "Transactional" | "Broadcasts" | "Inbound") replace the defaults.

    Every list attribute returns a snapshot copy; all state is guarded by one lock.
    """

    def __init__(
        self,
        token: str = "sandbox-token",  # noqa: S107 (a made-up token for local use)
        https: bool = False,
        latency: float = 0.0,
        inactive: Iterable[str] = (),
        webhook_url: str | None = None,
        webhook_auth: tuple[str, str] | None = None,
        webhook_events: Iterable[str] = ("Delivery",),
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        templates: Iterable[Template | Mapping[str, Any]] | None = None,
        message_streams: Mapping[str, str] | None = None,
        server_id: int = 1,
        server_name: str = "Postmark sandbox",
        idle_timeout: float | None = None,
        webhook_retry_delays: Iterable[float] = (0.1, 0.3, 1.0),
        webhook_timeout: float = 5.0,
    ) -> None:
        events = tuple(webhook_events)
        unknown = set(events) - set(WEBHOOK_EVENTS)
        if unknown:
            raise ValueError(f"Unknown webhook events {sorted(unknown)}; known: {', '.join(WEBHOOK_EVENTS)}")
        self.token = token
        self.https = https
        self.latency = float(latency)
        self.inactive: set[str] = {address.lower() for address in inactive}
        self.host = host
        self.port = port
        self.templates: tuple[Template, ...] = (
            DEFAULT_TEMPLATES if templates is None else coerce_templates(templates)
        )
        self.message_streams: dict[str, str] = dict(
            DEFAULT_STREAMS if message_streams is None else message_streams
        )
        self.server_id = server_id
        self.server_name = server_name
        self.idle_timeout = idle_timeout
        self.ca_path: str | None = None

        self._lock = threading.RLock()
        self._webhooks_settled = threading.Condition(self._lock)
        self._requests: list[ReceivedRequest] = []
        self._messages: list[dict[str, Any]] = []
        self._webhook_posts: list[WebhookPost] = []
        self._settled_count = 0
        self._webhooks: list[dict[str, Any]] = []
        self._bounces: list[dict[str, Any]] = []
        self._faults: list[_Fault] = []
        self._connections = 0
        self._round_trips = 0
        self._next_webhook_id = 1
        self._next_bounce_id = 1
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls = None
        self._sender = WebhookSender(
            self._record_webhook_post, self._webhook_settled, tuple(webhook_retry_delays), webhook_timeout
        )
        if webhook_url is not None:
            for stream, kind in self.message_streams.items():
                if kind != "Inbound":
                    self._store_webhook(outcomes.webhook_config(webhook_url, webhook_auth, events, stream))

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind, then serve in a background thread. Returns ``self``."""
        if self._server is not None:
            raise RuntimeError("This sandbox is already running.")
        ssl_context = None
        if self.https:
            from .tls import SandboxCertificates

            self._tls = SandboxCertificates.create(self.host)
            self.ca_path = str(self._tls.ca_path)
            ssl_context = self._tls.server_context()
        self._server = SandboxHTTPServer((self.host, self.port), self, ssl_context)
        self.port = self._server.server_address[1]
        self._sender.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="postmark-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close every connection, stop posting webhooks, remove the certificates."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(2)
        self._sender.stop()
        if self._tls is not None:
            self._tls.remove()
            self._tls = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The API base URL, ending with "/" (like ``https://api.postmarkapp.com/``)."""
        scheme = "https" if self.https else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/"

    def __repr__(self) -> str:
        state = "running" if self._server is not None else "stopped"
        return f"<Sandbox {self.url} {state}>"

    # -- what was received -------------------------------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every API request received (the inspection pages excepted), oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message as sent, plus the ``MessageID`` assigned, oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages)

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections

    @property
    def round_trips(self) -> int:
        """Emulated network round trips so far: one per TCP connection accepted, one per TLS handshake,
        one per API request answered. Each costs ``latency`` seconds."""
        with self._lock:
            return self._round_trips

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """Webhook configurations, in Postmark's shape (``ID``, ``Url``, ``Triggers``...)."""
        with self._lock:
            return copy.deepcopy(self._webhooks)

    @property
    def webhook_posts(self) -> list[WebhookPost]:
        """Every webhook post attempt as ``(url, payload, http_status)``; retries appear as more entries."""
        with self._lock:
            return list(self._webhook_posts)

    @property
    def bounces(self) -> list[dict[str, Any]]:
        """Bounce records (as ``GET /bounces`` lists them), oldest first."""
        return self._bounce_records()

    def clear(self) -> None:
        """Forget received requests, messages and webhook posts (not configuration, not ``inactive``)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._webhook_posts.clear()
            self._settled_count = 0

    def wait_for_webhooks(self, n: int, timeout: float = 5) -> list[WebhookPost]:
        """Block until ``n`` webhook deliveries have settled (answered 2xx, or given up after retries).

        Returns :attr:`webhook_posts`; raises :class:`TimeoutError` naming what was posted otherwise.
        """
        deadline = time.monotonic() + timeout
        with self._webhooks_settled:
            while self._settled_count < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    posted = [
                        (post.payload.get("RecordType"), post.http_status) for post in self._webhook_posts
                    ]
                    raise TimeoutError(
                        f"{self._settled_count} of {n} webhook deliveries settled within {timeout}s; posts: {posted}"
                    )
                self._webhooks_settled.wait(remaining)
            return list(self._webhook_posts)

    # -- fault injection ---------------------------------------------------------------------------

    def fail_next(
        self,
        status: int = 503,
        error_code: int = 100,
        message: str | None = None,
        count: int = 1,
        drop: bool = False,
        after_processing: bool = False,
        *,
        path: str | None = None,
    ) -> None:
        """Make the next ``count`` API requests (to ``path`` only, if given) fail.

        They answer ``status`` with ``{"ErrorCode": error_code, "Message": message}``, or with
        ``drop=True`` the connection is closed without an answer. With ``after_processing=True`` the
        request is processed first (a message is accepted and stored, webhooks follow) and then the
        answer is replaced: an ambiguous failure, where retrying would send a duplicate.
        """
        fault = _Fault(
            status=status,
            error_code=error_code,
            message=message
            if message is not None
            else DEFAULT_FAULT_MESSAGES.get(status, "Injected failure."),
            remaining=count,
            drop=drop,
            after_processing=after_processing,
            path=path,
        )
        with self._lock:
            self._faults.append(fault)

    def _take_fault(self, received: ReceivedRequest) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.matches(received):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- called by the server ----------------------------------------------------------------------

    def _connection_accepted(self) -> int:
        with self._lock:
            self._connections += 1
            return self._connections

    def _round_trip(self) -> None:
        with self._lock:
            self._round_trips += 1
        latency = self.latency
        if latency > 0:
            time.sleep(latency)

    def _answer(self, received: ReceivedRequest) -> Answer:
        inspection = page.answer(self, received)
        if inspection is not None:
            return inspection
        with self._lock:
            self._requests.append(received)
        fault = self._take_fault(received)
        self._round_trip()
        if fault is not None and not fault.after_processing:
            return fault.answer()
        answer = routes.dispatch(self, received)
        return fault.answer() if fault is not None else answer

    # -- state used by the endpoints ---------------------------------------------------------------

    def _inactive_snapshot(self) -> set[str]:
        return {address.lower() for address in set(self.inactive)}

    def _accept(
        self, message: Mapping[str, Any], checked: CheckedMessage, message_id: str, blocked: list[str]
    ) -> None:
        outcomes.accept(self, message, checked, message_id, blocked)

    def _bounce_records(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._bounces)

    def _activate_bounce(self, bounce_id: int) -> dict[str, Any]:
        with self._lock:
            for record in self._bounces:
                if record["ID"] == bounce_id:
                    record["Inactive"] = False
                    self.inactive.discard(record["Email"].lower())
                    return copy.deepcopy(record)
        raise KeyError(bounce_id)

    def _store_webhook(self, webhook: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if "ID" in webhook:
                self._webhooks = [webhook if hook["ID"] == webhook["ID"] else hook for hook in self._webhooks]
            else:
                webhook = {"ID": self._next_webhook_id, **webhook}
                self._next_webhook_id += 1
                self._webhooks.append(webhook)
            return copy.deepcopy(webhook)

    def _delete_webhook(self, webhook_id: int) -> None:
        with self._lock:
            self._webhooks = [hook for hook in self._webhooks if hook["ID"] != webhook_id]

    def _record_webhook_post(self, post: WebhookPost) -> None:
        with self._lock:
            self._webhook_posts.append(post)

    def _webhook_settled(self) -> None:
        with self._webhooks_settled:
            self._settled_count += 1
            self._webhooks_settled.notify_all()
