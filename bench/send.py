"""Sending throughput: postmark_admin vs django-anymail vs postmarker, against the local sandbox.

Run: python3 scripts/bench.py send [--messages 1000] [--sequential 50] [--latency 10] [--rounds 5]
(``--signals``: only what the pre_send/post_send checks cost in mapping, no sandbox.)
(``--log on|off|both``: postmark_admin alone, the sent-message log on and off, rounds alternating, on
SQLite or, with ``--database-url postgres://...``, PostgreSQL; ``both`` prints the two side by side.)

The sandbox runs in its own process (``python -m postmark_admin.sandbox --https --latency MS``), as a
real Postmark is another machine: the benchmark's client code and the sandbox's request handling do not
share a GIL. All three libraries talk to that one process and trust its throw-away CA through
``REQUESTS_CA_BUNDLE``. The sandbox adds the latency once per request, once per TCP connection and once
per TLS handshake, as a distant Postmark would. Two figures per backend:

* messages/second for N messages given to one ``send_messages()`` call;
* milliseconds per ``send_mail()`` call, made one after another (connection reuse shows here).

Each backend is warmed up first (imports, first connections), then measured in ``--rounds`` rounds;
the median, the best and the spread (slowest..fastest) are printed, and the ratios use the medians.
django-anymail sends one request per message, so its N-message call runs once. Before each
timed N-message call (of every backend) the garbage collector runs once, off the clock, so that
one round does not pay for the garbage of the rounds before it. Every round checks
that the sandbox stored exactly the messages sent. The machine's load average is printed with the
figures: on a busy machine every figure is slower and noisier.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import django  # noqa: E402 (after the sys.path line)
from django.conf import settings  # noqa: E402

BACKENDS = {
    "postmark_admin": "postmark_admin.backends.PostmarkBackend",
    "django-anymail": "anymail.backends.postmark.EmailBackend",
    "postmarker": "postmarker.django.EmailBackend",
}
TOKEN = "bench-sandbox-token"


def database(url: str | None) -> dict:
    """``DATABASES["default"]`` for ``url`` (``postgres://user@host:port/name``), else in-memory SQLite."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise SystemExit(f"--database-url: only postgres:// URLs (or none, for SQLite), not {url!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.path.lstrip("/"),
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


def configure(database_url: str | None = None) -> None:
    settings.configure(
        SECRET_KEY="bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        INSTALLED_APPS=["django.contrib.contenttypes", "solo", "postmark_admin", "anymail"],
        DATABASES={"default": database(database_url)},
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_FROM_EMAIL="bench@example.com",
        USE_TZ=True,
        LOGGING_CONFIG=None,
    )
    django.setup()


class SandboxProcess:
    """``python -m postmark_admin.sandbox --https`` in a child process; reads its URL and CA path."""

    def __init__(self, latency_ms: float) -> None:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "postmark_admin.sandbox",
                "--https",
                "--token",
                TOKEN,
                "--latency",
                str(latency_ms),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
        )
        banner = []
        for line in self.process.stdout:
            banner.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(banner)
        url = re.search(r"(https://\S+/)", text)
        ca = re.search(r"(\S+\.pem)\s*$", text, re.MULTILINE)
        if not url or not ca:
            self.stop()
            raise SystemExit(f"the sandbox did not start as expected: {text!r}")
        self.url, self.ca_path = url.group(1), ca.group(1)

    def stored(self) -> int:
        """How many messages the sandbox has stored (its own inspection page; no latency added)."""
        import ssl

        context = ssl.create_default_context(cafile=self.ca_path)
        with urllib.request.urlopen(self.url + "sandbox/messages", context=context) as answer:
            return len(json.load(answer))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


def time_batch(path: str, count: int) -> float:
    """Seconds for one ``send_messages()`` call with ``count`` messages (built beforehand, not timed)."""
    from django.core.mail import get_connection

    batch = messages(count)
    backend = get_connection(path)
    # The garbage of earlier rounds and of building the batch is collected before the clock starts,
    # for every backend alike; what the call itself allocates is still collected on its clock.
    gc.collect()
    started = time.perf_counter()
    sent = backend.send_messages(batch)
    elapsed = time.perf_counter() - started
    if sent != count:
        raise SystemExit(f"{path}: send_messages() returned {sent}, expected {count}")
    return elapsed


def time_sequential(path: str, count: int) -> float:
    """Milliseconds per ``send_mail()``, ``count`` calls one after another."""
    from django.core.mail import send_mail
    from django.test import override_settings

    with override_settings(EMAIL_BACKEND=path):
        started = time.perf_counter()
        for i in range(count):
            send_mail(f"Hello {i}", "Body", None, [f"s{i}@example.com"])
        elapsed = time.perf_counter() - started
    return elapsed / count * 1000


def summary(values: list[float], unit: str, higher_is_better: bool) -> tuple[float, str]:
    """``(median, "median (best; slowest..fastest)")``."""
    median = statistics.median(values)
    best = max(values) if higher_is_better else min(values)
    low, high = min(values), max(values)
    if len(values) == 1:
        return median, f"{median:.{unit}f} (1 run)"
    return median, f"{median:.{unit}f} (best {best:.{unit}f}; {low:.{unit}f}..{high:.{unit}f})"


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} (1, 5, 15 min), {os.cpu_count()} CPUs"


def signal_cost(count: int, rounds: int) -> None:
    """µs per message that mapping (``pipeline.prepare``, no HTTP) costs with no send-signal receiver
    and with one no-op pre_send receiver: what the signals add to the hot path. Run it against a
    checkout from before the signals (``PYTHONPATH=<that checkout>``) for the baseline."""
    from postmark_admin import signals
    from postmark_admin.config.effective import effective_config
    from postmark_admin.sending import pipeline
    from postmark_admin.testing import override_postmark_settings

    def receiver(sender, message, **kwargs):
        return None

    with override_postmark_settings(server_token=TOKEN):
        config = effective_config()
        batch = messages(count)
        cases = [("no receiver", False)]
        if hasattr(signals, "pre_send"):
            cases.append(("one no-op pre_send receiver", True))
        for label, connect in cases:
            if connect:
                signals.pre_send.connect(receiver)
            try:
                pipeline.prepare(batch, config, fail_silently=False)  # warm
                times = []
                for _ in range(rounds):
                    gc.collect()
                    started = time.perf_counter()
                    pipeline.prepare(batch, config, fail_silently=False)
                    times.append((time.perf_counter() - started) / count * 1e6)
            finally:
                if connect:
                    signals.pre_send.disconnect(receiver)
            print(f"prepare(), {label}: {summary(times, '2', False)[1]} µs per message")


def log_cost(args: argparse.Namespace) -> None:
    """postmark_admin's N-message call with the sent-message log off and on, rounds alternating."""
    from django.core.management import call_command
    from django.db import connection

    from postmark_admin.models import SentMessage
    from postmark_admin.testing import override_postmark_settings

    call_command("migrate", "postmark_admin", verbosity=0)
    modes = {"off": [False], "on": [True], "both": [False, True]}[args.log]
    load_before = load()
    sandbox = SandboxProcess(args.latency)
    path = BACKENDS["postmark_admin"]
    times: dict[bool, list[float]] = {mode: [] for mode in modes}
    try:
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_path
        with override_postmark_settings(server_token=TOKEN, api_url=sandbox.url):
            for mode in modes:
                settings.POSTMARK_LOG_MESSAGES = mode
                time_batch(path, args.messages)  # warm: imports, connections, the log's first INSERT
            for _ in range(args.rounds):
                for mode in modes:
                    settings.POSTMARK_LOG_MESSAGES = mode
                    before = SentMessage.objects.count()
                    times[mode].append(time_batch(path, args.messages))
                    logged = SentMessage.objects.count() - before
                    if logged != (args.messages if mode else 0):
                        raise SystemExit(f"log {mode}: {logged} messages recorded, expected {args.messages}")
    finally:
        sandbox.stop()
    rows = SentMessage.objects.count()
    print(
        f"postmark_admin, {args.messages} messages in one send_messages() call, sandbox in its own process "
        f"(HTTPS, {args.latency:g} ms latency); {connection.vendor} ({connection.settings_dict['NAME']}), "
        f"{rows} sent messages in the log at the end; Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    print(f"Before: {load_before}\nAfter:  {load()}")
    print(f"Median of {args.rounds} rounds (best; slowest..fastest), log on and off alternating:")
    medians = {}
    for mode in modes:
        medians[mode], text = summary([t * 1000 for t in times[mode]], "1", False)
        print(f"  log {'on ' if mode else 'off'}: {text} ms per call")
    if len(modes) == 2:
        print(f"  the log costs {(medians[True] / medians[False] - 1) * 100:+.1f}% (medians)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--sequential", type=int, default=50)
    parser.add_argument("--latency", type=float, default=10.0, help="milliseconds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--signals", action="store_true", help="only the send signals' cost in mapping (no sandbox)"
    )
    parser.add_argument("--log", choices=["on", "off", "both"], help="postmark_admin with the log on/off")
    parser.add_argument("--database-url", help="postgres://... for --log (default: in-memory SQLite)")
    args = parser.parse_args()
    configure(args.database_url)
    if args.log:
        log_cost(args)
        return
    if args.signals:
        signal_cost(args.messages, args.rounds)
        return

    import postmarker.django.backend as postmarker_backend
    from postmarker.core import PostmarkClient as PostmarkerClient

    from postmark_admin.testing import override_postmark_settings

    load_before = load()
    sandbox = SandboxProcess(args.latency)
    try:
        os.environ["REQUESTS_CA_BUNDLE"] = sandbox.ca_path
        # Point each library at the sandbox through its own settings.
        settings.ANYMAIL = {"POSTMARK_SERVER_TOKEN": TOKEN, "POSTMARK_API_URL": sandbox.url}
        settings.POSTMARK = {"TOKEN": TOKEN, "TEST_MODE": False}
        # postmarker's Django backend has no API URL setting: give its client the sandbox's.
        postmarker_backend.PostmarkClient = lambda **kw: PostmarkerClient(root_api_url=sandbox.url, **kw)
        override = override_postmark_settings(server_token=TOKEN, api_url=sandbox.url)
        override.enable()

        rows = {}
        for name, path in BACKENDS.items():
            before = sandbox.stored()
            batch_rounds = 1 if name == "django-anymail" else args.rounds
            warm = min(args.messages, 50) if name == "django-anymail" else args.messages
            time_batch(path, warm)  # imports, connections, TLS sessions
            time_sequential(path, 3)
            rates = [args.messages / time_batch(path, args.messages) for _ in range(batch_rounds)]
            per_call = [time_sequential(path, args.sequential) for _ in range(args.rounds)]
            expected = warm + 3 + batch_rounds * args.messages + args.rounds * args.sequential
            stored = sandbox.stored() - before
            if stored != expected:
                raise SystemExit(f"{name}: the sandbox stored {stored} messages, expected {expected}")
            rows[name] = (summary(rates, "0", True), summary(per_call, "2", False))
            print(f"  measured {name}", file=sys.stderr)
    finally:
        sandbox.stop()
    load_after = load()

    print(
        f"Sandbox in its own process, HTTPS, {args.latency:g} ms latency per request, TCP connection "
        f"and TLS handshake; Python {sys.version.split()[0]}, Django {django.get_version()}"
    )
    print(f"Before: {load_before}\nAfter:  {load_after}")
    print(f"Median of {args.rounds} rounds (best; slowest..fastest); django-anymail's batch: 1 run.")
    print(f"{'backend':<16}{f'msg/s ({args.messages} in one call)':<40}{'ms per send_mail()':<30}")
    for name, ((_rate, rate_text), (_ms, ms_text)) in rows.items():
        print(f"{name:<16}{rate_text:<40}{ms_text:<30}")
    print()
    ours_rate, ours_ms = rows["postmark_admin"][0][0], rows["postmark_admin"][1][0]
    for name in ("django-anymail", "postmarker"):
        rate, ms = rows[name][0][0], rows[name][1][0]
        print(
            f"postmark_admin vs {name}: {ours_rate / rate:.1f}x throughput, "
            f"{ms / ours_ms:.1f}x faster send_mail() (medians)"
        )


if __name__ == "__main__":
    main()
