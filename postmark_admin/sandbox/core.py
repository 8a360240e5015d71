"""The :class:`Sandbox`: a local emulator of Postmark's API, for development and tests."""

from __future__ import annotations

import ipaddress
import threading
import time
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from . import outcomes, page, routes
from .clock import SandboxClock
from .faults import Fault, default_message
from .records import ReceivedRequest, WebhookPost
from .sending import new_message_id
from .server import Answer, SandboxHTTPServer
from .state import SandboxState
from .templates import DEFAULT_TEMPLATES, Template, coerce_templates
from .webhook_sender import Delivery, WebhookSender

if TYPE_CHECKING:
    from .tls import SandboxCertificates

DEFAULT_STREAMS: dict[str, str] = {
    "outbound": "Transactional",
    "broadcast": "Broadcasts",
    "inbound": "Inbound",
}


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address) is this machine's loopback interface."""
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
    accepted and once more per TLS handshake (``https=True``). ``inactive`` holds addresses suppressed
    on every stream (a bounce or complaint suppresses on its own stream: see :meth:`suppressed`).
    ``webhook_url`` (credentials may be in it, or in ``webhook_auth``) makes the sandbox post
    ``webhook_events`` back for every accepted message, as a webhook configured on each sending stream.
    ``templates`` (dicts in Postmark's shape, or :class:`~.templates.Template`) and ``message_streams``
    (id -> "Transactional" | "Broadcasts" | "Inbound") replace the defaults. A Bulk API job's messages are
    processed at ``bulk_rate`` per second of :attr:`clock` (freeze and advance it in tests).

    Every list attribute returns a snapshot copy; all state is guarded by one lock, in ``state`` (a
    ``state.SandboxState``, which the endpoints change).
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
        bulk_rate: float = 50.0,
    ) -> None:
        events = tuple(webhook_events)
        unknown = set(events) - set(outcomes.WEBHOOK_EVENTS)
        if unknown:
            known = ", ".join(outcomes.WEBHOOK_EVENTS)
            raise ValueError(f"Unknown webhook events {sorted(unknown)}; known: {known}")
        self.token = token
        self.https = https
        self.latency = float(latency)
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
        #: Messages of a bulk job processed per second of :attr:`clock` (see ``sandbox/bulk.py``).
        self.bulk_rate = float(bulk_rate)
        #: What time-dependent emulation reads: ``clock.freeze()`` and ``clock.advance(seconds)`` in tests.
        self.clock = SandboxClock(on_advance=self.process_bulk)

        self.state = SandboxState(inactive, post_webhook=self._post_webhook)
        #: Webhook deliveries handed to the sender so far (see :meth:`wait_for_all_webhooks`).
        self._submitted = 0
        self._submitted_lock = threading.Lock()
        self._server: SandboxHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tls: SandboxCertificates | None = None
        self._sender = WebhookSender(
            self.state.record_webhook_post,
            self.state.webhook_settled,
            tuple(webhook_retry_delays),
            webhook_timeout,
        )
        if webhook_url is not None:
            for stream, kind in self.message_streams.items():
                if kind != "Inbound":
                    self.state.store_webhook(
                        outcomes.webhook_config(webhook_url, webhook_auth, events, stream)
                    )

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind, then serve in a background thread. Returns ``self``."""
        if self._server is not None:
            raise RuntimeError("This sandbox is already running.")
        ssl_context = None
        if self.https:
            from .tls import SandboxCertificates

            tls = self._tls = SandboxCertificates.create(self.host)
            self.ca_path = str(tls.ca_path)
            ssl_context = tls.server_context()
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
    def inactive(self) -> set[str]:
        """The addresses suppressed on every stream, lower-cased: a live set, to add addresses to or
        remove them from. A hard bounce or spam complaint suppresses on its own stream: see
        :meth:`suppressed`."""
        return self.state.inactive

    @inactive.setter
    def inactive(self, addresses: set[str]) -> None:
        self.state.inactive = addresses

    def suppressed(self, stream: str = "outbound") -> set[str]:
        """The addresses sending on ``stream`` is refused for: :attr:`inactive` and the stream's own
        suppressions (a hard bounce or spam complaint there, ``POST .../suppressions``), lower-cased."""
        return self.state.suppressed(stream)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every API request received (the inspection pages excepted), oldest first."""
        return self.state.requests()

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message as sent, plus the ``MessageID`` assigned, oldest first."""
        return self.state.messages()

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far."""
        return self.state.connections_opened()

    @property
    def round_trips(self) -> int:
        """Emulated network round trips so far: one per TCP connection accepted, one per TLS handshake,
        one per API request answered. Each costs ``latency`` seconds."""
        return self.state.round_trips()

    @property
    def webhooks(self) -> list[dict[str, Any]]:
        """Webhook configurations, in Postmark's shape (``ID``, ``Url``, ``Triggers``...)."""
        return self.state.webhooks()

    @property
    def webhook_posts(self) -> list[WebhookPost]:
        """Every webhook post attempt as ``(url, payload, http_status)``; retries appear as more entries."""
        return self.state.webhook_posts()

    @property
    def bounces(self) -> list[dict[str, Any]]:
        """Bounce records (as ``GET /bounces`` lists them), oldest first."""
        return self.state.bounces()

    def clear(self) -> None:
        """Forget received requests, messages and webhook posts (not configuration, not ``inactive``)."""
        with self._submitted_lock:
            self._submitted = 0
            self.state.clear()

    def wait_for_webhooks(self, n: int, timeout: float = 5) -> list[WebhookPost]:
        """Block until ``n`` webhook deliveries have settled (answered 2xx, or given up after retries).

        Returns :attr:`webhook_posts`; raises :class:`TimeoutError` naming what was posted otherwise.
        """
        return self.state.wait_for_webhooks(n, timeout)

    def wait_for_all_webhooks(self, timeout: float = 5) -> list[WebhookPost]:
        """Block until every webhook delivery due so far has settled (those of the messages accepted
        before the call: they are queued before the API answers); see :meth:`wait_for_webhooks`."""
        with self._submitted_lock:
            due = self._submitted
        return self.state.wait_for_webhooks(due, timeout)

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
        fault = Fault(
            status=status,
            error_code=error_code,
            message=message if message is not None else default_message(status),
            remaining=count,
            drop=drop,
            after_processing=after_processing,
            path=path,
        )
        self.state.add_fault(fault)

    # -- called by the HTTP server -----------------------------------------------------------------

    def emulate_round_trip(self) -> None:
        """Count one network round trip and wait ``latency`` seconds (see :attr:`round_trips`)."""
        self.state.count_round_trip()
        latency = self.latency
        if latency > 0:
            time.sleep(latency)

    def answer(self, received: ReceivedRequest) -> Answer:
        """Answer one HTTP request: an inspection page, or an API request (kept, faults and latency
        applied, then answered as Postmark would)."""
        inspection = page.answer(self, received)
        if inspection is not None:
            return inspection
        self.state.record_request(received)
        self.process_bulk()  # a bulk job's messages fall due as the clock moves
        fault = self.state.take_fault(received)
        self.emulate_round_trip()
        if fault is not None and not fault.after_processing:
            return fault.answer()
        answer = routes.dispatch(self, received)
        return fault.answer() if fault is not None else answer

    def process_bulk(self) -> int:
        """Process the bulk messages due by :attr:`clock`: each is stored and delivered (webhooks follow)
        like a message sent to ``/email``; a test job's are only counted. Returns how many were due."""
        if not self.state.has_pending_bulk():
            return 0
        due = self.state.take_due_bulk(self.clock.now(), self.bulk_rate)
        for message, checked, test_mode in due:
            if test_mode:
                continue
            inactive = self.state.inactive_snapshot()
            blocked = [address for address in checked.recipients if address in inactive]
            if len(blocked) == len(checked.recipients):
                continue  # Postmark drops a message whose every recipient is suppressed
            self.state.accept(message, checked, new_message_id(), blocked, server_id=self.server_id)
        return len(due)

    def _post_webhook(self, delivery: Delivery) -> None:
        with self._submitted_lock:
            self._submitted += 1
        self._sender.submit(delivery)
