"""Sending throughput: postmark_admin vs django-anymail vs postmarker, against the local sandbox.

Run: /work/venv311/bin/python bench/send.py [--messages 1000] [--sequential 50] [--latency 0.010]

The sandbox (HTTPS, its own CA trusted through REQUESTS_CA_BUNDLE by all three) adds the
latency once per request, once per TCP connection and once per TLS handshake, as a
distant Postmark would. Two figures per backend:

* messages/second for N messages given to one ``send_messages()`` call;
* milliseconds per ``send_mail()`` call, made one after another (connection reuse shows here).

Each backend runs against the same sandbox; the best of ``--repeat`` runs is kept for the
fast ones (django-anymail's 1,000 one-by-one requests run once).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django
from django.conf import settings

BACKENDS = {
    "postmark_admin": "postmark_admin.backends.PostmarkBackend",
    "django-anymail": "anymail.backends.postmark.EmailBackend",
    "postmarker": "postmarker.django.EmailBackend",
}


def configure() -> None:
    settings.configure(
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        INSTALLED_APPS=["django.contrib.contenttypes", "solo", "postmark_admin", "anymail"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_FROM_EMAIL="bench@example.com",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


def messages(count: int, offset: int = 0) -> list:
    from django.core.mail import EmailMultiAlternatives

    result = []
    for i in range(offset, offset + count):
        message = EmailMultiAlternatives(
            f"Order {i} confirmed",
            f"Hello,\n\nyour order {i} is on its way.\n",
            None,
            [f"Customer {i} <c{i}@example.com>"],
        )
        message.attach_alternative(f"<p>Hello,</p><p>your order <b>{i}</b> is on its way.</p>", "text/html")
        result.append(message)
    return result


def time_batch(path: str, count: int, sandbox) -> float:
    from django.core.mail import get_connection

    batch = messages(count)
    backend = get_connection(path)
    sandbox.clear()
    started = time.perf_counter()
    sent = backend.send_messages(batch)
    elapsed = time.perf_counter() - started
    stored = len(sandbox.messages)
    if sent != count or stored != count:
        raise SystemExit(f"{path}: sent {sent}, sandbox stored {stored}, expected {count}")
    return elapsed


def time_sequential(path: str, count: int, sandbox) -> float:
    from django.core.mail import send_mail
    from django.test import override_settings

    sandbox.clear()
    with override_settings(EMAIL_BACKEND=path):
        send_mail("warm-up", "x", None, ["warm@example.com"])  # imports and first connection
        started = time.perf_counter()
        for i in range(count):
            send_mail(f"Hello {i}", "Body", None, [f"s{i}@example.com"])
        elapsed = time.perf_counter() - started
    if len(sandbox.messages) != count + 1:
        raise SystemExit(f"{path}: sandbox stored {len(sandbox.messages)}, expected {count + 1}")
    return elapsed / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.010)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    configure()

    import postmarker.django.backend as postmarker_backend
    from postmarker.core import PostmarkClient as PostmarkerClient

    from postmark_admin.sandbox import Sandbox
    from postmark_admin.testing import override_postmark_settings

    with Sandbox(https=True, latency=args.latency) as sandbox:
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_path
        # Point each library at the sandbox through its own settings.
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": sandbox.token, "POSTMARK_API_URL": sandbox.url}
        settings.POSTMARK = {"TOKEN": sandbox.token, "TEST_MODE": False}
        # postmarker's Django backend has no API URL setting: give its client the sandbox's.
        postmarker_backend.PostmarkClient = lambda **kw: PostmarkerClient(root_api_url=sandbox.url, **kw)
        override = override_postmark_settings(server_token=sandbox.token, api_url=sandbox.url)
        override.enable()

        rows = {}
        for name, path in BACKENDS.items():
            runs = 1 if name == "django-anymail" else args.repeat
            batch = min(time_batch(path, args.messages, sandbox) for _ in range(runs))
            sequential = statistics.median(
                time_sequential(path, args.sequential, sandbox) for _ in range(runs)
            )
            rows[name] = (args.messages / batch, sequential)
            print(f"  measured {name}", file=sys.stderr)

    ours_rate, ours_ms = rows["postmark_admin"]
    print(
        f"Sandbox over HTTPS, {args.latency * 1000:.0f} ms latency per request, connection and TLS handshake; "
        f"Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    print(f"{'backend':<16}{f'msg/s ({args.messages} in one call)':>30}{'ms per send_mail()':>22}")
    for name, (rate, ms) in rows.items():
        print(f"{name:<16}{rate:>30.0f}{ms:>22.2f}")
    print()
    for name in ("django-anymail", "postmarker"):
        rate, ms = rows[name]
        print(
            f"postmark_admin vs {name}: {ours_rate / rate:.1f}x throughput, {ms / ours_ms:.1f}x faster send_mail()"
        )


if __name__ == "__main__":
    main()
