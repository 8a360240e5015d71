"""The demo command, end to end in a real browser: the story a visitor follows in the README.

Starts ``example/manage.py rundemo`` in a subprocess on a fresh SQLite file, logs in with the login it
prints, sends test emails through the admin to the sandbox it started, sees them on the sandbox's page,
sees the Delivery and Bounce events the sandbox posts back, sees the bounced address refused on
the next send, and stops the demo with SIGINT (Ctrl-C).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, free_port, log_in_with_the_form, needs_chromium, save_screenshot

pytestmark = [
    pytest.mark.browser,
    needs_chromium,
]


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
