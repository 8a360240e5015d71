"""A token that cannot go in an HTTP header, or any failure in the transport, is a PostmarkError:
fail_silently swallows it, and without it the caller gets a PostmarkError, never a UnicodeEncodeError."""

from __future__ import annotations

import pytest
from django.core.mail import EmailMessage
from requests.adapters import HTTPAdapter

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkConfigurationError, PostmarkError, PostmarkTransportError
from postmark_admin.models import PostmarkSettings
from postmark_admin.sandbox import Sandbox
from postmark_admin.sending.client import PostmarkClient
from postmark_admin.testing import override_postmark_settings

BACKEND = "postmark_admin.backends.PostmarkBackend"
GOOD = "0f8e7d6c-5b4a-4392-8170-aabbccddeeff"
UNSENDABLE = [GOOD + "\u200b", "tok€en-" + GOOD, GOOD + "\r\nX-Injected: yes", "tok\x01" + GOOD]

pytestmark = pytest.mark.usefixtures("clean_postmark_env")


def message(**kwargs):
    return EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"], **kwargs)


@pytest.fixture
def sandbox():
    with Sandbox(token=GOOD) as running:
        yield running


@pytest.mark.django_db
@pytest.mark.parametrize("bad", UNSENDABLE)
def test_a_token_written_to_the_row_behind_the_forms_back(bad, sandbox):
    # .create() runs no validation: as a script or a data migration could write it.
    PostmarkSettings.objects.create(server_token=bad, api_url=sandbox.url)
    assert PostmarkBackend(fail_silently=True).send_messages([message()]) == 0
    with pytest.raises(PostmarkError) as caught:
        PostmarkBackend().send_messages([message()])
    assert isinstance(caught.value, PostmarkConfigurationError)
    assert "database PostmarkSettings.server_token" in str(caught.value)
    assert bad not in str(caught.value)
    assert sandbox.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("bad", UNSENDABLE)
def test_a_token_given_by_code(bad, sandbox):
    with override_postmark_settings(api_url=sandbox.url):
        assert PostmarkBackend(fail_silently=True, server_token=bad).send_messages([message()]) == 0
        with pytest.raises(PostmarkConfigurationError) as caught:
            PostmarkBackend(server_token=bad).send_messages([message()])
        assert "argument server_token" in str(caught.value)
        with pytest.raises(PostmarkConfigurationError):
            PostmarkClient(server_token=bad).get_server()
    assert sandbox.requests == []


@pytest.mark.django_db
@pytest.mark.parametrize("bad", UNSENDABLE)
def test_a_token_given_per_message_in_esp_extra(bad, sandbox):
    with override_postmark_settings(server_token=GOOD, api_url=sandbox.url):
        refused = message()
        refused.esp_extra = {"server_token": bad}
        assert PostmarkBackend(fail_silently=True).send_messages([refused, message()]) == 1
        assert refused.postmark_status.error is not None
        with pytest.raises(PostmarkConfigurationError):
            PostmarkBackend().send_messages([refused])
    assert len(sandbox.messages) == 1


@pytest.mark.parametrize(
    ("raised", "ambiguous"),
    [
        (UnicodeEncodeError("latin-1", "€", 0, 1, "ordinal not in range(256)"), False),
        (ValueError("Invalid header value"), False),
        (RuntimeError("a bug in an adapter"), True),
        (OSError("disk full"), True),
    ],
)
def test_any_transport_failure_is_a_postmark_transport_error(raised, ambiguous, monkeypatch):
    def send(self, request, **kwargs):
        raise raised

    monkeypatch.setattr(HTTPAdapter, "send", send)
    with override_postmark_settings(server_token=GOOD, api_url="http://127.0.0.1:9/"):
        assert PostmarkBackend(fail_silently=True).send_messages([message()]) == 0
        with pytest.raises(PostmarkTransportError) as caught:
            PostmarkBackend().send_messages([message()])
        assert caught.value.ambiguous is ambiguous
        with pytest.raises(PostmarkTransportError) as caught:
            PostmarkClient().get_server()
        # The original exception (its text may hold the request) is neither the cause nor shown as context.
        assert caught.value.__cause__ is None and caught.value.__suppress_context__
