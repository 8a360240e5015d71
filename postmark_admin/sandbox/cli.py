"""``python -m postmark_admin.sandbox`` and ``manage.py postmark_sandbox``: run a sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType
from typing import Any, Protocol

from .core import Sandbox, is_loopback
from .i18n import gettext as _
from .outcomes import WEBHOOK_EVENTS

PASSWORD_ENV = "POSTMARK_SANDBOX_WEBHOOK_PASSWORD"


class Output(Protocol):
    """Where :func:`serve` prints: ``sys.stdout``, or a management command's ``self.stdout``."""

    def write(self, text: str, /) -> object: ...

    def flush(self) -> None: ...


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options shared by ``python -m`` and the management command."""
    parser.add_argument("--host", default="127.0.0.1", help=_("Address to listen on (default: 127.0.0.1)."))
    parser.add_argument(
        "--port", type=int, default=0, help=_("Port to listen on (default: 0, any free port).")
    )
    parser.add_argument("--token", default="sandbox-token", help=_("Server token to accept."))
    parser.add_argument("--https", action="store_true", help=_("Serve HTTPS with a throw-away CA."))
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help=_("Emulated network round trip, in milliseconds."),
    )
    parser.add_argument("--webhook-url", help=_("Post webhooks for every accepted message to this URL."))
    parser.add_argument("--webhook-user", help=_("HTTP basic auth user name for the webhook posts."))
    parser.add_argument(
        "--webhook-password",
        help=_("HTTP basic auth password for the webhook posts (or set %(env)s).") % {"env": PASSWORD_ENV},
    )
    parser.add_argument(
        "--webhook-events",
        default="Delivery",
        help=_("Comma-separated events to post: %(events)s (default: Delivery).")
        % {"events": ", ".join(WEBHOOK_EVENTS)},
    )


def sandbox_from_options(options: dict[str, Any]) -> Sandbox:
    """A (not yet started) sandbox from parsed options; raise ValueError on a bad combination."""
    password = options.get("webhook_password") or os.environ.get(PASSWORD_ENV)
    user = options.get("webhook_user")
    if (user or password) and not options.get("webhook_url"):
        raise ValueError(_("--webhook-user and --webhook-password need --webhook-url."))
    events = tuple(
        event.strip() for event in (options.get("webhook_events") or "Delivery").split(",") if event.strip()
    )
    return Sandbox(
        token=options["token"],
        https=options["https"],
        latency=options["latency"] / 1000.0,
        webhook_url=options.get("webhook_url"),
        webhook_auth=(user or "", password or "") if (user or password) else None,
        webhook_events=events,
        host=options["host"],
        port=options["port"],
    )


def serve(sandbox: Sandbox, out: Output, stop: threading.Event | None = None) -> None:
    """Start ``sandbox``, print how to reach it, and serve until Ctrl-C, SIGTERM or ``stop`` is set."""
    stop = stop or threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    try:
        with sandbox:
            if not is_loopback(sandbox.host):
                out.write(
                    _("Warning: listening on %(host)s, not only on loopback.") % {"host": sandbox.host} + "\n"
                )
            out.write(_("Postmark sandbox listening on %(url)s") % {"url": sandbox.url} + "\n")
            out.write(_("Server token: %(token)s") % {"token": sandbox.token} + "\n")
            if sandbox.ca_path:
                out.write(_("CA certificate: %(path)s") % {"path": sandbox.ca_path} + "\n")
            out.write(_("Messages received: %(url)s (press Ctrl-C to stop)") % {"url": sandbox.url} + "\n")
            out.flush()
            while not stop.wait(0.2):
                pass
        out.write(_("Postmark sandbox stopped.") + "\n")
        out.flush()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postmark_admin.sandbox", description=_("Run a local emulator of Postmark's API.")
    )
    add_arguments(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help=_("Log every request."))
    options = vars(parser.parse_args(argv))
    logging.basicConfig(level=logging.DEBUG if options["verbose"] else logging.WARNING, format="%(message)s")
    try:
        sandbox = sandbox_from_options(options)
    except ValueError as error:
        parser.error(str(error))
    serve(sandbox, sys.stdout)
    return 0
