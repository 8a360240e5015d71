"""PostmarkClient over real HTTP: retries only when nothing can have been sent, errors, secrecy."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.mail import EmailMessage
from django.test import override_settings

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkAPIError, PostmarkTransportError
from postmark_admin.sandbox import Sandbox
from postmark_admin.sending.client import PostmarkClient, retry_delay
from postmark_admin.testing import override_postmark_settings
from tests.conftest import free_port

FROM = "from@example.com"
SECRET = "super-secret-server-token-1234"


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch):
    """Record the backoff instead of sleeping."""
    delays: list[float] = []
    monkeypatch.setattr(PostmarkClient, "sleep", staticmethod(delays.append))
    with override_settings(POSTMARK_RETRY_BACKOFF=0.01, POSTMARK_MAX_RETRIES=3):
        yield delays


def message(to="to@example.com"):
    return EmailMessage("Hi", "Body", FROM, [to])


@pytest.mark.parametrize(("status", "error_code"), [(503, 100), (429, 0)])
def test_429_and_503_are_retried_with_backoff(postmark_sandbox, _fast_retries, status, error_code):
    postmark_sandbox.fail_next(status=status, error_code=error_code, count=2)
    assert PostmarkBackend().send_messages([message()]) == 1
    assert len(postmark_sandbox.requests) == 3
    assert len(postmark_sandbox.messages) == 1
    assert len(_fast_retries) == 2


def test_retries_are_bounded(postmark_sandbox, _fast_retries):
    postmark_sandbox.fail_next(status=503, count=10)
    with pytest.raises(PostmarkAPIError) as caught:
        PostmarkBackend().send_messages([message()])
    assert (caught.value.status_code, caught.value.error_code) == (503, 100)
    assert len(postmark_sandbox.requests) == 4  # 1 + POSTMARK_MAX_RETRIES
    assert message().recipients() and postmark_sandbox.messages == []


def test_retry_delay_grows_exponentially_with_jitter_and_a_cap():
    for attempt in range(8):
        delays = [retry_delay(attempt, 0.5, 10.0) for _ in range(200)]
        assert all(0 <= d <= min(10.0, 0.5 * 2**attempt) for d in delays)
        assert len(set(delays)) > 1


@pytest.mark.parametrize(
    ("fault", "ambiguous", "exception"),
    [
        ({"status": 500, "error_code": 0, "after_processing": True}, None, PostmarkAPIError),
        ({"drop": True, "after_processing": True}, True, PostmarkTransportError),
    ],
    ids=["500 after processing", "connection dropped after processing"],
)
def test_ambiguous_failures_are_never_retried(postmark_sandbox, fault, ambiguous, exception):
    postmark_sandbox.fail_next(**fault)
    sent = message()
    with pytest.raises(exception) as caught:
        PostmarkBackend().send_messages([sent])
    assert len(postmark_sandbox.requests) == 1
    assert len(postmark_sandbox.messages) == 1  # Postmark did send it: exactly once
    assert sent.postmark_status.status == {"unknown"}
    assert caught.value.email_message is sent
    if ambiguous is not None:
        assert caught.value.ambiguous is ambiguous


def test_read_timeout_is_ambiguous_and_not_retried(postmark_sandbox):
    postmark_sandbox.latency = 0.6
    with override_postmark_settings(timeout=0.2), pytest.raises(PostmarkTransportError) as caught:
        PostmarkBackend().send_messages([message()])
    assert caught.value.ambiguous
    assert "may or may not" in str(caught.value)
    time.sleep(1.5)  # a retry would have arrived by now
    assert len(postmark_sandbox.requests) == 1


def test_connection_refused_is_retried_then_raised(_fast_retries):
    # Nothing listens on the port: every attempt fails before sending.
    settings = override_postmark_settings(server_token=SECRET, api_url=f"http://127.0.0.1:{free_port()}/")
    with settings, pytest.raises(PostmarkTransportError) as caught:
        PostmarkBackend().send_messages([message()])
    assert not caught.value.ambiguous
    assert "nothing was sent" in str(caught.value)
    assert len(_fast_retries) == 3


@pytest.mark.parametrize(("status", "error_code"), [(401, 10), (422, 300)])
def test_401_and_422_are_not_retried(postmark_sandbox, status, error_code):
    postmark_sandbox.fail_next(status=status, error_code=error_code, message="Refused.")
    with pytest.raises(PostmarkAPIError) as caught:
        PostmarkClient().get_server()
    assert (caught.value.status_code, caught.value.error_code, caught.value.message) == (
        status,
        error_code,
        "Refused.",
    )
    assert len(postmark_sandbox.requests) == 1


def test_the_token_never_appears_in_errors_or_logs(caplog):
    caplog.set_level(logging.DEBUG)
    with (
        Sandbox(token="the-right-one") as sandbox,
        override_postmark_settings(server_token=SECRET, api_url=sandbox.url),
    ):
        errors = []
        for action in (
            lambda: PostmarkBackend().send_messages([message()]),
            lambda: PostmarkClient().get_server(),
            lambda: PostmarkBackend(fail_silently=True).send_messages([message()]),
        ):
            try:
                action()
            except PostmarkAPIError as error:
                errors.append(error)
        sandbox.fail_next(drop=True)
        try:
            PostmarkClient().get_server()
        except PostmarkTransportError as error:
            errors.append(error)
        assert len(errors) == 3
        assert sandbox.requests[0].headers["X-Postmark-Server-Token"] == SECRET
        shown = [str(e) for e in errors] + [repr(e) for e in errors] + [repr(vars(e)) for e in errors]
        shown += [record.getMessage() for record in caplog.records]
        shown += [repr(PostmarkClient()), repr(PostmarkBackend(server_token=SECRET))]
        assert caplog.records
        assert not [text for text in shown if SECRET in text]


def test_admin_endpoints(postmark_sandbox):
    api = PostmarkClient()
    assert api.get_server()["Name"]
    assert "InactiveMails" in api.get_delivery_stats()
    streams = {s["ID"] for s in api.list_message_streams()["MessageStreams"]}
    assert {"outbound", "broadcast"} <= streams
    created = api.create_webhook(
        {
            "Url": "https://example.com/hook",
            "MessageStream": "outbound",
            "Triggers": {"Delivery": {"Enabled": True}},
        }
    )
    assert api.list_webhooks(message_stream="outbound")["Webhooks"][0]["ID"] == created["ID"]
    updated = api.update_webhook(created["ID"], {"Url": "https://example.com/other"})
    assert updated["Url"] == "https://example.com/other"
    api.delete_webhook(created["ID"])
    assert api.list_webhooks()["Webhooks"] == []
    assert api.get_bounces(count=10, inactive=True)["Bounces"] == []
    with pytest.raises(PostmarkAPIError) as caught:
        api.activate_bounce(12345)
    assert caught.value.status_code in (404, 422)
    assert api.send({"From": FROM, "To": "a@example.com", "Subject": "s", "TextBody": "t"})["ErrorCode"] == 0
    answers = api.send_batch([{"From": FROM, "To": f"b{i}@example.com", "TextBody": "t"} for i in range(2)])
    assert [a["ErrorCode"] for a in answers] == [0, 0]
    template = {"From": FROM, "To": "c@example.com", "TemplateAlias": "welcome", "TemplateModel": {}}
    assert api.send_with_template(template)["ErrorCode"] == 0
    assert [a["ErrorCode"] for a in api.send_batch_with_templates([template, template])] == [0, 0]
    assert [r.path for r in postmark_sandbox.requests][-4:] == [
        "/email",
        "/email/batch",
        "/email/withTemplate",
        "/email/batchWithTemplates",
    ]


@pytest.mark.postmark_sandbox(https=True)
def test_https_with_the_sandbox_ca(postmark_sandbox, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", postmark_sandbox.ca_path)
    for i in range(3):
        assert PostmarkBackend().send_messages([message(f"t{i}@example.com")]) == 1
    assert postmark_sandbox.url.startswith("https://")
    assert postmark_sandbox.connections_opened == 1


@pytest.mark.postmark_sandbox(https=True)
def test_untrusted_certificate_is_not_retried(postmark_sandbox, monkeypatch, _fast_retries):
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(PostmarkTransportError, match="TLS") as caught:
        PostmarkClient().get_server()
    assert not caught.value.ambiguous
    assert _fast_retries == []
