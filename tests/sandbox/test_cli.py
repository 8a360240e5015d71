"""``python -m postmark_admin.sandbox`` and ``manage.py postmark_sandbox`` as real processes."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys

import pytest
import requests

from postmark_admin.sandbox.cli import sandbox_from_options
from tests.conftest import ROOT


def start(args):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines = []
    for line in process.stdout:
        lines.append(line)
        if "Ctrl-C" in line:
            break
    else:
        process.kill()
        pytest.fail(f"no banner; stdout={lines!r} stderr={process.stderr.read()!r}")
    return process, "".join(lines)


def stop(process):
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=15)
    return process.returncode, out, err


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "postmark_admin.sandbox"],
        ["-m", "django", "postmark_sandbox"],
    ],
    ids=["python-m", "manage.py"],
)
def test_serves_until_sigint(command):
    process, banner = start([*command, "--token", "cli-token", "--latency", "1"])
    try:
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", banner).group(1)
        assert "Server token: cli-token" in banner
        answer = requests.post(
            url + "email",
            json={"From": "a@example.com", "To": "b@example.com", "TextBody": "x"},
            headers={
                "X-Postmark-Server-Token": "cli-token",
                "Accept": "application/json",
                "Content-Type": "application/json",
            },
            timeout=10,
        )
        assert answer.status_code == 200
        assert answer.json()["ErrorCode"] == 0
    finally:
        returncode, out, err = stop(process)
    assert returncode == 0, err
    assert "stopped" in out
    assert "Traceback" not in err


def test_https_banner_names_the_ca():
    process, banner = start(["-m", "postmark_admin.sandbox", "--https"])
    try:
        url = re.search(r"listening on (https://127\.0\.0\.1:\d+/)", banner).group(1)
        ca_path = re.search(r"CA certificate: (\S+)", banner).group(1)
        answer = requests.get(
            url + "server",
            headers={"X-Postmark-Server-Token": "sandbox-token", "Accept": "application/json"},
            verify=ca_path,
            timeout=10,
        )
        assert answer.json()["DeliveryType"] == "Sandbox"
    finally:
        returncode, _, err = stop(process)
    assert returncode == 0, err


def options(**overrides):
    base = {
        "host": "127.0.0.1",
        "port": 0,
        "token": "t",
        "https": False,
        "latency": 250.0,
        "webhook_url": None,
        "webhook_user": None,
        "webhook_password": None,
        "webhook_events": "Delivery",
    }
    base.update(overrides)
    return base


def test_options_to_sandbox(monkeypatch):
    monkeypatch.delenv("POSTMARK_SANDBOX_WEBHOOK_PASSWORD", raising=False)
    sandbox = sandbox_from_options(
        options(
            webhook_url="http://127.0.0.1:8000/hook/",
            webhook_user="u",
            webhook_password="p",
            webhook_events="Delivery, Bounce",
        )
    )
    assert sandbox.latency == 0.25
    hook = sandbox.webhooks[0]
    assert hook["HttpAuth"] == {"Username": "u", "Password": "p"}
    assert {name for name, s in hook["Triggers"].items() if s["Enabled"]} == {"Delivery", "Bounce"}


def test_password_from_the_environment(monkeypatch):
    monkeypatch.setenv("POSTMARK_SANDBOX_WEBHOOK_PASSWORD", "from-env")
    sandbox = sandbox_from_options(options(webhook_url="http://127.0.0.1:8000/hook/", webhook_user="u"))
    assert sandbox.webhooks[0]["HttpAuth"]["Password"] == "from-env"


def test_credentials_without_url_are_refused(monkeypatch):
    monkeypatch.delenv("POSTMARK_SANDBOX_WEBHOOK_PASSWORD", raising=False)
    with pytest.raises(ValueError, match="--webhook-url"):
        sandbox_from_options(options(webhook_user="u"))
    with pytest.raises(ValueError, match="Opened"):
        sandbox_from_options(options(webhook_url="http://127.0.0.1/h", webhook_events="Opened"))


def test_management_command_refuses_bad_options(monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.delenv("POSTMARK_SANDBOX_WEBHOOK_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="--webhook-url"):
        call_command("postmark_sandbox", "--webhook-user", "u")


def test_management_command_help():
    from postmark_admin.management.commands.postmark_sandbox import Command

    text = Command().create_parser("manage.py", "postmark_sandbox").format_help()
    assert "Run a local emulator of Postmark's API" in text
    assert "--webhook-events" in text
