"""Test mode: every send goes with Postmark's POSTMARK_API_TEST token, validated and never delivered."""

from __future__ import annotations

import pytest
import requests
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config.effective import Source, effective_config
from postmark_admin.exceptions import PostmarkAPIError
from postmark_admin.message import PostmarkMessage
from postmark_admin.sandbox import Sandbox
from postmark_admin.testing import override_postmark_settings

FROM = "from@example.com"
TEST_TOKEN = "POSTMARK_API_TEST"


def _message(to: str = "to@example.com") -> EmailMessage:
    return EmailMessage("Hi", "Body", FROM, [to])


@pytest.mark.postmark_sandbox(webhook_url="http://127.0.0.1:9/never", webhook_events=("Delivery",))
def test_test_mode_sends_with_the_test_token_and_nothing_is_delivered(postmark_sandbox):
    messages = [_message(f"t{i}@example.com") for i in range(3)]
    with override_postmark_settings(test_mode=True):
        assert PostmarkBackend().send_messages(messages[:1]) == 1
        assert PostmarkBackend().send_messages(messages[1:]) == 2
    assert [(r.path, r.headers["X-Postmark-Server-Token"]) for r in postmark_sandbox.requests] == [
        ("/email", TEST_TOKEN),
        ("/email/batch", TEST_TOKEN),
    ]
    for message in messages:
        status = message.postmark_status
        assert status.status == {"sent"} and status.message_id
        assert status.results[0]["Message"] == "Test job accepted"
    assert postmark_sandbox.messages == [] and postmark_sandbox.webhook_posts == []


def test_test_mode_needs_no_server_token_and_replaces_esp_extra_tokens(clean_postmark_env):
    with Sandbox() as sandbox, override_postmark_settings(api_url=sandbox.url, test_mode=True):
        message = PostmarkMessage("Hi", "Body", FROM, ["to@example.com"])
        message.esp_extra = {"server_token": "another-servers-token"}
        assert PostmarkBackend().send_messages([_message(), message]) == 2
        # Planned as two calls (by token), both sent with the test token.
        tokens = [request.headers["X-Postmark-Server-Token"] for request in sandbox.requests]
        assert tokens == [TEST_TOKEN, TEST_TOKEN]
        assert sandbox.messages == []


def test_test_mode_still_reports_what_postmark_refuses(postmark_sandbox):
    template = PostmarkMessage(from_email=FROM, to=["to@example.com"], template_id="no-such-template")
    template.merge_global_data = {}
    with override_postmark_settings(test_mode=True), pytest.raises(PostmarkAPIError) as raised:
        PostmarkBackend().send_messages([template])
    assert raised.value.error_code == 1101


@pytest.mark.parametrize(
    ("setting", "value"),
    [("POSTMARK_TEST_MODE", True), ("POSTMARK", {"TEST_MODE": True})],
    ids=["POSTMARK_TEST_MODE", "postmarker's POSTMARK TEST_MODE"],
)
def test_test_mode_from_settings_py(postmark_sandbox, settings, setting, value):
    setattr(settings, setting, value)
    resolved = effective_config().sources["test_mode"]
    assert (resolved.value, resolved.source) == (True, Source.SETTINGS)
    assert PostmarkBackend().send_messages([_message()]) == 1
    assert postmark_sandbox.requests[0].headers["X-Postmark-Server-Token"] == TEST_TOKEN


def test_test_mode_per_mailer_option(postmark_sandbox):
    assert PostmarkBackend(test_mode=True).send_messages([_message()]) == 1
    assert PostmarkBackend().send_messages([_message()]) == 1
    tokens = [request.headers["X-Postmark-Server-Token"] for request in postmark_sandbox.requests]
    assert tokens == [TEST_TOKEN, postmark_sandbox.token]
    assert len(postmark_sandbox.messages) == 1


# -- the sandbox answers the test token as Postmark does (shared/postmark-api.md §1) ---------------


def _post(sandbox: Sandbox, path: str, body: object) -> requests.Response:
    headers = {
        "X-Postmark-Server-Token": TEST_TOKEN,
        "Accept": "application/json",
        "Content-Type": "application/json",
    }
    return requests.post(sandbox.url + path, json=body, headers=headers, timeout=5)


PLAIN = {"From": FROM, "To": "to@example.com", "Subject": "Hi", "TextBody": "Body"}
TEMPLATED = {"From": FROM, "To": "to@example.com", "TemplateAlias": "welcome", "TemplateModel": {}}


@pytest.mark.parametrize(
    ("path", "body", "batch"),
    [
        ("email", PLAIN, False),
        ("email/batch", [PLAIN, PLAIN], True),
        ("email/withTemplate", TEMPLATED, False),
        ("email/batchWithTemplates", {"Messages": [TEMPLATED]}, True),
    ],
)
def test_sandbox_answers_the_test_token_like_postmark(path, body, batch):
    with Sandbox(webhook_url="http://127.0.0.1:9/never", inactive=["to@example.com"]) as sandbox:
        answer = _post(sandbox, path, body)
        assert answer.status_code == 200
        results = answer.json() if batch else [answer.json()]
        for result in results:
            # ErrorCode 0, "Test job accepted", a MessageID; no suppression check, nothing stored or posted.
            assert set(result) == {"To", "SubmittedAt", "MessageID", "ErrorCode", "Message"}
            assert (result["ErrorCode"], result["Message"]) == (0, "Test job accepted")
        assert sandbox.messages == [] and sandbox.webhook_posts == []


def test_sandbox_refuses_invalid_messages_for_the_test_token_too():
    with Sandbox() as sandbox:
        answer = _post(sandbox, "email", {**PLAIN, "To": "not an address"})
        assert answer.status_code == 422 and answer.json()["ErrorCode"] == 300
