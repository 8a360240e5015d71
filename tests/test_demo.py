"""The demo command: its first-start seed, and end to end in a real browser, the story a visitor follows
in the README.

The seed (example/example/demo_seed.py) runs against a real sandbox posting its webhooks to the live
server; two starts of ``rundemo --no-serve`` on one SQLite file seed once. The browser test starts
``example/manage.py rundemo`` in a subprocess on a fresh SQLite file, logs in with the login it prints,
sends test emails through the admin to the sandbox it started, sees them on the sandbox's page, sees the
Delivery and Bounce events the sandbox posts back, sees the bounced address refused on the next send, and
stops the demo with SIGINT (Ctrl-C).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, free_port, log_in_with_the_form, needs_chromium, save_screenshot

# -- the first-start seed ------------------------------------------------------------------------------


@pytest.fixture
def seed_sandbox(live_server, transactional_db, clean_postmark_env, settings):
    """The demo's sandbox, as rundemo wires it: every tracking webhook posted back to the live server."""
    from django.urls import reverse

    from example.example.management.commands.rundemo import SANDBOX_TOKEN, WEBHOOK_EVENTS, WEBHOOK_USERNAME
    from postmark_admin.models import PostmarkSettings
    from postmark_admin.sandbox import Sandbox

    settings.POSTMARK_LOG_MESSAGES = True  # as in example/example/settings.py
    auth = (WEBHOOK_USERNAME, "seed-hook-password")
    url = live_server.url + reverse("postmark_admin:tracking")
    with Sandbox(
        token=SANDBOX_TOKEN, webhook_url=url, webhook_auth=auth, webhook_events=WEBHOOK_EVENTS
    ) as box:
        PostmarkSettings.objects.create(
            server_token=SANDBOX_TOKEN,
            api_url=box.url,
            default_from_email="Demo <demo@example.com>",
            webhook_username=WEBHOOK_USERNAME,
            webhook_password=auth[1],
        )
        yield box


def test_the_seed_sends_a_realistic_mix_once(seed_sandbox):
    from django.db.models import Count
    from django.utils import timezone

    from example.example.demo_seed import UNSUBSCRIBED_BY_HAND, WEEK, first_start, seed_demo
    from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent

    assert first_start()
    seeded = seed_demo(seed_sandbox)
    assert seeded is not None and seeded.refused == 1
    assert seeded.sent == len(SentMessage.objects.exclude(message_id__startswith="refused:")) > 10
    # Everything went through the sandbox: the log's messages are the ones it accepted.
    assert {m["MessageID"] for m in seed_sandbox.messages} == set(
        SentMessage.objects.exclude(message_id__startswith="refused:").values_list("message_id", flat=True)
    )

    statuses = dict(SentRecipient.objects.values_list("status").annotate(n=Count("id")))
    for status in ("delivered", "opened", "clicked", "bounced", "complained", "refused"):
        assert statuses.get(status, 0) >= 1, statuses
    assert set(SentMessage.objects.values_list("stream", flat=True)) == {"outbound", "broadcast"}
    assert set(SentMessage.objects.values_list("sent_via", flat=True)) >= {"batch", "single"}
    events = set(WebhookEvent.objects.values_list("event_type", flat=True))
    assert {"delivered", "opened", "clicked", "bounced", "complained"} <= events
    assert not WebhookEvent.objects.filter(message_id="").exclude(record_type="SubscriptionChange").exists()

    # Postmark's side: the hard bounce, the spam complaint (on the broadcast stream) and the manual one.
    assert "hardbounce.kim@example.com" in seed_sandbox.suppressed("outbound")
    assert "spamcomplaint.erin@example.com" in seed_sandbox.suppressed("broadcast")
    assert UNSUBSCRIBED_BY_HAND in seed_sandbox.suppressed("outbound")

    # Backdated, so the dashboard's chart has a week to draw: each day's messages and their events.
    today = timezone.now().date()
    days = {(today - at.date()).days for at in SentMessage.objects.values_list("submitted_at", flat=True)}
    assert days == set(WEEK)
    bounce = WebhookEvent.objects.get(record_type="Bounce", recipient="hardbounce.kim@example.com")
    assert (today - timezone.localtime(bounce.received_at, dt.UTC).date()).days == 2
    assert SentRecipient.objects.get(address="hardbounce.kim@example.com").status == "bounced"

    # A second start seeds nothing.
    counts = (SentMessage.objects.count(), WebhookEvent.objects.count(), len(seed_sandbox.messages))
    assert not first_start()
    assert seed_demo(seed_sandbox) is None
    assert (SentMessage.objects.count(), WebhookEvent.objects.count(), len(seed_sandbox.messages)) == counts


def test_rundemo_seeds_on_the_first_start_only(tmp_path):
    database = tmp_path / "demo.sqlite3"
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POSTMARK_", "ANYMAIL_", "DJANGO_", "DATABASE_URL"))
    }
    env.update(DATABASE_URL=f"sqlite:///{database}", PYTHONUNBUFFERED="1")
    command = [sys.executable, "example/manage.py", "rundemo", "--no-serve", "--port", str(free_port())]

    def start() -> tuple[str, int]:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        with sqlite3.connect(database) as db:
            [(count,)] = db.execute("SELECT COUNT(*) FROM postmark_admin_sentmessage").fetchall()
        return done.stdout, count

    printed, first = start()
    assert re.search(r"Seeded \d+ messages over 7 days", printed), printed
    assert first > 10
    printed, second = start()
    assert "not seeding again" in printed and "Seeded" not in printed, printed
    assert second == first


# -- the demo in a browser -----------------------------------------------------------------------------


@pytest.fixture
def demo(tmp_path):
    port = free_port()
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POSTMARK_", "ANYMAIL_", "DJANGO_", "DATABASE_URL"))
    }
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", PYTHONUNBUFFERED="1")
    process = subprocess.Popen(
        [sys.executable, "example/manage.py", "rundemo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C" in line:
                break
        printed = "".join(lines)
        assert "Press Ctrl-C" in printed, printed
        login = re.search(r"Login:\s+(\S+) / (\S+)", printed)
        sandbox_url = re.search(r"Postmark sandbox:\s+(\S+)", printed).group(1)
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                requests.get(f"{base}/admin/login/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        yield {
            "process": process,
            "base": base,
            "username": login.group(1),
            "password": login.group(2),
            "sandbox": sandbox_url,
            "printed": printed,
        }
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def send_test_email(page, base: str, recipient: str) -> str:
    page.goto(f"{base}/admin/postmark_admin/postmarksettings/")
    page.fill("#id_test_recipient", recipient)
    page.fill("#id_test_subject", f"Demo test to {recipient}")
    with page.expect_navigation():
        page.click("input[name=_send_test_email]")
    page.wait_for_selector(".messagelist li")
    return page.inner_text(".messagelist")


def wait_for_event(page, base: str, css_class: str, recipient: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        page.goto(f"{base}/admin/postmark_admin/webhookevent/?q={recipient}")
        if page.locator(f"#result_list .{css_class}").count():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"no {css_class} event for {recipient}: {page.inner_text('#content')}")
        time.sleep(0.5)


@pytest.mark.browser
@needs_chromium
def test_the_demo_story(demo, page):
    base = demo["base"]
    assert "sandbox" in demo["printed"].lower()

    login_url = f"{base}/admin/login/?next=/admin/postmark_admin/postmarksettings/"
    log_in_with_the_form(page, login_url, demo["username"], demo["password"])

    # The settings and the effective configuration: the sandbox's URL, from the database.
    page.wait_for_selector("#postmark-effective-config")
    panel = page.inner_text("#postmark-effective-config")
    assert demo["sandbox"] in panel and "database" in panel
    assert "demo-sandbox-token" not in page.content()

    # A test email: accepted, listed on the sandbox's own page, then its Delivery comes back (no Open:
    # the test email is plain text, and Postmark can only track opens of HTML mail).
    message = send_test_email(page, base, "visitor@example.com")
    assert "Test email sent to visitor@example.com" in message, message
    page.goto(demo["sandbox"])
    assert "visitor@example.com" in page.inner_text("body")
    wait_for_event(page, base, "postmark-event-delivered", "visitor@example.com")
    save_screenshot(page, "demo-events")

    # A bouncing address: accepted once, a Bounce comes back, and the next send is refused.
    message = send_test_email(page, base, "hardbounce@example.com")
    assert "Test email sent to hardbounce@example.com" in message, message
    wait_for_event(page, base, "postmark-event-bounced", "hardbounce@example.com")
    message = send_test_email(page, base, "hardbounce@example.com")
    assert "406" in message and "inactive" in message.lower(), message

    # Ctrl-C stops everything the demo started.
    process = demo["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=20) == 0
    rest = process.stdout.read()
    assert "Demo stopped." in rest, rest
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/admin/login/", timeout=2)
    with pytest.raises(requests.ConnectionError):
        requests.get(demo["sandbox"], timeout=2)
