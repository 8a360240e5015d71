"""HTTP plumbing: a threading HTTP/1.1 server that counts connections, emulates connection set-up
latency, optionally speaks TLS, and hands each request to the :class:`~.core.Sandbox`."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlsplit

from .records import QueryParameters, ReceivedRequest

if TYPE_CHECKING:
    from .core import Sandbox

logger = logging.getLogger("postmark_admin.sandbox")

#: Bodies larger than this are refused unread and the connection closed (Postmark's limit is 50 MB).
MAX_READ_BYTES = 64 * 1024 * 1024
#: A client that opens a connection but never completes the TLS handshake is given up on after this.
HANDSHAKE_TIMEOUT = 10.0

#: A client's address: (host, port), and for IPv6 (host, port, flowinfo, scope_id).
ClientAddress = tuple[str, int] | tuple[str, int, int, int]


@dataclass
class Answer:
    """What to send back: ``body`` is JSON-able, or ``bytes``/``str`` with ``content_type`` set."""

    status: int
    body: object = None
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


class SandboxHTTPServer(ThreadingHTTPServer):
    """One thread per connection; each connection is numbered when accepted."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, address: tuple[str, int], sandbox: Sandbox, ssl_context: ssl.SSLContext | None
    ) -> None:
        self.sandbox = sandbox
        self.ssl_context = ssl_context
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: ClientAddress
    ) -> None:
        # Runs in the accepting thread: number the connection here, serve it in its own thread.
        request = cast(socket.socket, request)  # a TCP server's request is its socket (a UDP one's, a tuple)
        connection_id = self.sandbox.state.count_connection()
        thread = threading.Thread(
            target=self._serve_connection,
            args=(request, client_address, connection_id),
            name=f"postmark-sandbox-connection-{connection_id}",
            daemon=True,
        )
        thread.start()

    def _serve_connection(
        self, request: socket.socket, client_address: ClientAddress, connection_id: int
    ) -> None:
        self._track(request)
        try:
            self.sandbox.emulate_round_trip()  # the TCP handshake
            if self.ssl_context is not None:
                self.sandbox.emulate_round_trip()  # the TLS handshake (TLS 1.3: one round trip)
                request.settimeout(HANDSHAKE_TIMEOUT)
                wrapped = self.ssl_context.wrap_socket(request, server_side=True)
                self._track(wrapped)
                request = wrapped
            _Handler(request, client_address, self, connection_id)
        except (OSError, ssl.SSLError) as error:
            logger.debug("connection %s ended: %s", connection_id, error)
        finally:
            self._untrack(request)
            self.shutdown_request(request)

    def _track(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.add(sock)

    def _untrack(self, sock: socket.socket) -> None:
        with self._open_lock:
            self._open.discard(sock)

    def close_connections(self) -> None:
        """Shut every open connection down, so idle keep-alive threads end at once."""
        with self._open_lock:
            sockets = list(self._open)
            self._open.clear()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one TCP connection serves many requests
    server_version = "PostmarkSandbox/1"
    disable_nagle_algorithm = True  # small answers must not wait for the client's delayed ACK
    server: SandboxHTTPServer

    # ``connection_id`` has a default only to match what socketserver expects of a handler class: the
    # server always numbers its connections (from 1).
    def __init__(
        self,
        request: socket.socket,
        client_address: ClientAddress,
        server: SandboxHTTPServer,
        connection_id: int = 0,
    ) -> None:
        self.connection_id = connection_id
        super().__init__(request, client_address, server)

    def setup(self) -> None:
        super().setup()
        # How long an idle keep-alive connection is kept (None: until the client closes it). Set on every
        # connection: a TLS socket would otherwise keep the handshake's timeout.
        self.connection.settimeout(self.server.sandbox.idle_timeout)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _read_body(self) -> bytes | None:
        """The request body; ``None`` when it is too large to read (the connection is then closed)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_READ_BYTES:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_READ_BYTES:
            return None
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        try:
            raw_body = self._read_body()
        except ValueError:
            self.close_connection = True
            self._write(
                Answer(
                    400,
                    {
                        "ErrorCode": 402,
                        "Message": "The body could not be read: malformed Content-Length or chunks.",
                    },
                )
            )
            return
        if raw_body is None:
            self.close_connection = True
            self._write(Answer(413, {"ErrorCode": 300, "Message": "The request body is too large."}))
            return
        parts = urlsplit(self.path)
        try:
            json_body = json.loads(raw_body) if raw_body else None
        except ValueError:
            json_body = None
        received = ReceivedRequest(
            method=self.command,
            path=parts.path,
            query=QueryParameters(parse_qsl(parts.query, keep_blank_values=True)),
            headers=dict(self.headers.items()),
            json_body=json_body,
            raw_body=raw_body,
            connection_id=self.connection_id,
        )
        answer = self.server.sandbox.answer(received)
        if answer.drop:
            # Close without a word: the client sees the connection reset / closed mid-request.
            self.close_connection = True
            return
        self._write(answer)

    def _write(self, answer: Answer) -> None:
        payload = answer.encoded()
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)
