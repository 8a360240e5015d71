"""The clear server token is invisible to frame inspection: Django's error reports (the DEBUG page,
error mails, reporters that capture locals) of any exception on the send path never show it.

Two kinds of report: of the PostmarkError a failed request raises, and of an exception that would
escape from the very moment the request is handed to the HTTP adapter (a traceback made of every frame
then on the stack: views, actions, the backend, the pipeline, the client, requests), with Django's
sensitive-variables filter active (DEBUG = False, as error mails) and inactive (DEBUG = True).
"""

from __future__ import annotations

import sys
import types

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings
from django.urls import reverse
from django.views.debug import ExceptionReporter
from requests.adapters import HTTPAdapter

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkError, PostmarkTransportError
from postmark_admin.sending.client import PostmarkClient
from postmark_admin.testing import override_postmark_settings
from tests.conftest import ADMIN_TEST_TOKEN, free_port

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

ACTIONS = {
    "test_email": {"recipient": "jane@example.com", "subject": "Hi", "message_stream": ""},
    "verify_token": {},
    "configure_webhook": {"message_stream": "outbound"},
    "delivery_stats": {},
}


def reports(exc_type, exc_value, tb) -> list[str]:
    """The HTML and text reports of an exception, with the sensitive-variables filter on and off."""
    found = []
    for debug in (False, True):
        with override_settings(DEBUG=debug):
            reporter = ExceptionReporter(None, exc_type, exc_value, tb)
            found += [reporter.get_traceback_html(), reporter.get_traceback_text()]
    return found


def assert_hidden(texts: list[str]) -> None:
    assert texts
    for text in texts:
        assert ADMIN_TEST_TOKEN not in text
        assert ADMIN_TEST_TOKEN[-12:] not in text


def stack_traceback(frame: types.FrameType) -> types.TracebackType:
    """A traceback through every frame from the test function down to ``frame``: what a report would
    show of an exception raised at ``frame`` that nothing catches."""
    frames = []
    current: types.FrameType | None = frame
    while current is not None:
        frames.append(current)
        if current.f_code.co_filename == __file__ and current.f_code.co_name.startswith("test_"):
            break
        current = current.f_back
    tb = None
    for each in frames:  # innermost first: each wraps the ones below it
        tb = types.TracebackType(tb, each, each.f_lasti, each.f_lineno)
    assert tb is not None
    return tb


@pytest.fixture
def reports_at_send(monkeypatch):
    """Every HTTP request made is first reported as if an exception escaped from the adapter."""
    made: list[str] = []
    real_send = HTTPAdapter.send

    def send(self, request, *args, **kwargs):
        assert request.headers["X-Postmark-Server-Token"] == ADMIN_TEST_TOKEN  # the real token goes out
        error = RuntimeError("raised inside requests")
        made.extend(reports(RuntimeError, error, stack_traceback(sys._getframe())))
        return real_send(self, request, *args, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", send)
    return made


def message():
    return EmailMessage("Hi", "Body", "sender@example.com", ["to@example.com"])


@pytest.mark.parametrize("debug", [False, True])
def test_client_error_report_on_a_refused_connection(debug):
    with (
        override_postmark_settings(server_token=ADMIN_TEST_TOKEN, api_url=f"http://127.0.0.1:{free_port()}/"),
        override_settings(POSTMARK_MAX_RETRIES=0, DEBUG=debug),
        pytest.raises(PostmarkTransportError) as caught,
    ):
        PostmarkClient().get_server()
    assert_hidden(reports(caught.type, caught.value, caught.tb))


def test_client_error_report_when_the_adapter_raises(monkeypatch):
    def send(self, request, **kwargs):
        raise RuntimeError("an adapter bug")

    monkeypatch.setattr(HTTPAdapter, "send", send)
    with override_postmark_settings(server_token=ADMIN_TEST_TOKEN, api_url="http://127.0.0.1:9/"):
        for call in (
            lambda: PostmarkClient().get_server(),
            lambda: PostmarkBackend().send_messages([message()]),
        ):
            with pytest.raises(PostmarkError) as caught:
                call()
            assert_hidden(reports(caught.type, caught.value, caught.tb))


@pytest.mark.django_db
def test_client_and_backend_frames_at_the_moment_of_sending(sandbox, reports_at_send):
    PostmarkClient().get_server()
    assert PostmarkBackend().send_messages([message()]) == 1
    with override_settings(POSTMARK_MAX_CONCURRENT_REQUESTS=4):
        # Several chunks (one per token): sent from worker threads.
        other = message()
        other.esp_extra = {"server_token": ADMIN_TEST_TOKEN}
        assert PostmarkBackend().send_messages([message(), other]) == 2
    assert len(reports_at_send) == 4 * 4
    assert_hidden(reports_at_send)


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("admin", ["django", "wagtail"])
def test_every_admin_action_at_the_moment_of_sending(admin, name, sandbox, login, reports_at_send):
    if admin == "wagtail":
        pytest.importorskip("wagtail", reason="Wagtail is not installed")
        client = login(
            "operator",
            "wagtailadmin.access_admin",
            "postmark_admin.change_postmarksettings",
            "postmark_admin.use_postmark_api",
        )
        url = reverse(f"postmark_admin_settings:{name}")
    else:
        client = login(
            "operator", "postmark_admin.change_postmarksettings", "postmark_admin.use_postmark_api"
        )
        url = reverse(f"admin:postmark_admin_postmarksettings_{name}")
    response = client.post(url, ACTIONS[name])
    assert response.status_code == 302
    assert reports_at_send
    assert_hidden(reports_at_send)
