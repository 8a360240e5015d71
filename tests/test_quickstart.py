"""docs/quickstart.rst, followed as a new user would, on the Django this suite runs with.

``django-admin startproject`` in a temporary folder; the quickstart's code blocks named ``quickstart-*``,
read out of the .rst file itself, applied to the settings.py and urls.py it wrote (Django 6.1's MAILERS
block or, before 6.1, EMAIL_BACKEND); ``migrate``; ``createsuperuser``; ``runserver`` on a free loopback
port and ``python -m postmark_admin.sandbox`` beside it. Then, through the admin over HTTP as a browser
would (log in, fill the forms the pages serve): save the sandbox's token and URL on the settings page and
send a test email, which the sandbox must receive. The README's Install section must show the same blocks.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
import time
import urllib.request
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import django
import pytest

import postmark_admin
from tests.conftest import ROOT, free_port

QUICKSTART = ROOT / "docs" / "quickstart.rst"
README = ROOT / "README.md"
HAS_MAILERS = django.VERSION >= (6, 1)
TOKEN = "quickstart-sandbox-token"
PASSWORD = "quickstart-admin-password-7Lx2"


def named_code_blocks(rst: str) -> dict[str, str]:
    """The body of every ``.. code-block::`` that has a ``:name:`` option, by name, dedented."""
    blocks = {}
    lines = rst.splitlines()
    for index, line in enumerate(lines):
        if not line.startswith(".. code-block::"):
            continue
        cursor, name = index + 1, None
        while cursor < len(lines) and lines[cursor].strip().startswith(":"):
            option = re.match(r"\s+:name:\s*(\S+)", lines[cursor])
            name = option.group(1) if option else name
            cursor += 1
        body = []
        for text in lines[cursor:]:
            if text.strip() and not text.startswith("   "):
                break
            body.append(text)
        if name:
            blocks[name] = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
    return blocks


def quickstart_blocks() -> dict[str, str]:
    blocks = named_code_blocks(QUICKSTART.read_text())
    assert {
        "quickstart-settings",
        "quickstart-mailers",
        "quickstart-email-backend",
        "quickstart-urls",
    } <= set(blocks), sorted(blocks)
    return blocks


def test_readme_install_section_shows_the_quickstart_blocks():
    readme = README.read_text()
    install = readme[readme.index("## Install") : readme.index("\n## ", readme.index("## Install") + 1)]
    shown = re.findall(r"```python\n(.*?)```", install, flags=re.S)
    blocks = quickstart_blocks()
    names = ["quickstart-settings", "quickstart-mailers", "quickstart-email-backend", "quickstart-urls"]
    assert shown == [blocks[name] for name in names]


def test_named_code_blocks_reads_the_bodies_and_only_named_blocks():
    rst = (
        "Text\n\n.. code-block:: python\n   :caption: a\n   :name: one\n\n   A = [\n       1,\n   ]\n\n"
        "   B = 2\nAfter\n\n.. code-block:: sh\n\n   unnamed\n"
    )
    assert named_code_blocks(rst) == {"one": "A = [\n    1,\n]\n\nB = 2\n"}


class Forms(HTMLParser):
    """Every <form> of a page by id: its action and the fields a browser would submit (no buttons)."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self._form: dict | None = None
        self._select: str | None = None
        self._textarea: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attributes = {key: value or "" for key, value in attrs}
        if tag == "form":
            self._form = {"action": attributes.get("action", ""), "fields": {}}
            self.forms[attributes.get("id", f"form-{len(self.forms)}")] = self._form
        if self._form is None or not attributes.get("name"):
            return
        fields, name = self._form["fields"], attributes["name"]
        if tag == "input":
            kind = attributes.get("type", "text")
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in attributes:
                return
            fields[name] = attributes.get("value", "on" if kind == "checkbox" else "")
        elif tag == "select":
            self._select = name
            fields.setdefault(name, None)
        elif tag == "option" and self._select:
            if fields[self._select] is None or "selected" in attributes:
                fields[self._select] = attributes.get("value", "")
        elif tag == "textarea":
            self._textarea = name
            fields[name] = ""

    def handle_data(self, data):
        if self._form is not None and self._textarea:
            self._form["fields"][self._textarea] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def messages_on(html: str) -> list[str]:
    """The texts of the admin's message list."""
    listed = re.search(r'<ul class="messagelist">(.*?)</ul>', html, flags=re.S)
    items = re.findall(r"<li[^>]*>(.*?)</li>", listed.group(1) if listed else "", flags=re.S)
    return [unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]


def run(*args: str, cwd: Path, env: dict[str, str], timeout: float = 120) -> str:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(args)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port} after {timeout} s")


def stop(process: subprocess.Popen) -> str:
    process.terminate()
    try:
        output, _ = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return output or ""


@pytest.fixture
def user_env(tmp_path):
    """A user's shell: no test settings, no Postmark variables, and this suite's postmark_admin first."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("POSTMARK_", "ANYMAIL_", "DJANGO_"))
    }
    env["PYTHONPATH"] = str(Path(postmark_admin.__file__).resolve().parent.parent)
    env["PYTHONUNBUFFERED"] = "1"
    env["HOME"] = str(tmp_path)
    return env


def django_admin() -> list[str]:
    script = Path(sys.executable).with_name("django-admin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "django"]


@pytest.mark.quickstart
def test_the_quickstart_on_a_new_project_sends_a_test_email_to_the_sandbox(tmp_path, user_env):
    requests = pytest.importorskip("requests")
    blocks = quickstart_blocks()
    project = tmp_path / "site"
    project.mkdir()
    run(*django_admin(), "startproject", "mysite", str(project), cwd=tmp_path, env=user_env)

    settings_py = project / "mysite" / "settings.py"
    settings = settings_py.read_text()
    if HAS_MAILERS:
        written = re.findall(r"^MAILERS = \{\n.*?^\}\n", settings, flags=re.S | re.M)
        assert len(written) == 1, "Django 6.1's startproject writes one MAILERS block"
        assert "django.core.mail.backends.console.EmailBackend" in written[0]
        settings = settings.replace(written[0], blocks["quickstart-mailers"])
    else:
        assert "MAILERS" not in settings and "EMAIL_BACKEND" not in settings
        settings += "\n" + blocks["quickstart-email-backend"]
    settings_py.write_text(settings + "\n" + blocks["quickstart-settings"])
    urls_py = project / "mysite" / "urls.py"
    urls_py.write_text(urls_py.read_text() + "\n" + blocks["quickstart-urls"])

    python = sys.executable
    run(python, "manage.py", "check", cwd=project, env=user_env)
    run(python, "manage.py", "migrate", "--no-input", cwd=project, env=user_env)
    run(
        python,
        "manage.py",
        "createsuperuser",
        "--no-input",
        cwd=project,
        env={
            **user_env,
            "DJANGO_SUPERUSER_USERNAME": "admin",
            "DJANGO_SUPERUSER_EMAIL": "admin@example.com",
            "DJANGO_SUPERUSER_PASSWORD": PASSWORD,
        },
    )

    port = free_port()
    sandbox = subprocess.Popen(
        [python, "-m", "postmark_admin.sandbox", "--token", TOKEN],
        cwd=project,
        env=user_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    server = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=project,
        env=user_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        first_line = sandbox.stdout.readline()
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+/)", first_line)
        assert match, first_line + stop(sandbox)
        sandbox_url = match.group(1)
        wait_for_port(port, server)
        site = f"http://127.0.0.1:{port}"
        browser = requests.Session()

        # Log in with the admin's login form.
        page = browser.get(f"{site}/admin/login/?next=/admin/", timeout=30)
        login = Forms(page.text).forms["login-form"]
        fields = {**login["fields"], "username": "admin", "password": PASSWORD}
        page = browser.post(page.url, data=fields, timeout=30)
        assert page.url == f"{site}/admin/", page.text

        # The settings page: save the sandbox's server token and API URL.
        settings_url = f"{site}/admin/postmark_admin/postmarksettings/"
        page = browser.get(settings_url, timeout=30)
        assert page.status_code == 200 and page.url == settings_url, page.url
        form = Forms(page.text).forms["postmarksettings_form"]
        assert {"server_token", "api_url"} <= set(form["fields"]), form
        fields = {**form["fields"], "server_token": TOKEN, "api_url": sandbox_url, "_continue": "1"}
        page = browser.post(settings_url, data=fields, timeout=30)
        assert any("was changed successfully" in text for text in messages_on(page.text)), page.text

        # Send a test email with the form under "Talk to Postmark".
        form = Forms(page.text).forms["postmark-test-email"]
        assert {"recipient", "subject"} <= set(form["fields"]), form
        fields = {**form["fields"], "recipient": "someone@example.com", "subject": "Quickstart"}
        page = browser.post(site + form["action"], data=fields, timeout=60)
        assert page.url == settings_url
        sent = [text for text in messages_on(page.text) if "Test email sent to someone@example.com" in text]
        assert sent, messages_on(page.text)

        with urllib.request.urlopen(f"{sandbox_url}sandbox/messages", timeout=10) as answer:
            [message] = json.load(answer)
        assert message["To"] == "someone@example.com"
        assert message["From"] == "You <you@your-confirmed-domain.example>"
        assert message["Subject"] == "Quickstart"
        assert message["MessageID"] in sent[0]
    finally:
        server_output = stop(server)
        stop(sandbox)
    assert "Traceback" not in server_output, server_output
