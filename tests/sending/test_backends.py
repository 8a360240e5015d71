"""PostmarkBackend end to end: real HTTP to the sandbox, Django 5.2 and 6.x setups."""

from __future__ import annotations

import warnings

import django
import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives, send_mail
from django.test import override_settings

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config import row_cache as settings_cache
from postmark_admin.exceptions import (
    PostmarkAPIError,
    PostmarkConfigurationError,
    PostmarkError,
    PostmarkInvalidMessage,
    PostmarkRecipientsRefused,
    PostmarkSettingsUnavailable,
    PostmarkUnsupportedFeature,
)
from postmark_admin.message import PostmarkMessage, attach_inline_image
from postmark_admin.sandbox import Sandbox
from postmark_admin.testing import override_postmark_settings
from tests.database_down import default_database_down, settings_database_down

BACKEND = "postmark_admin.backends.PostmarkBackend"
HAS_MAILERS = django.VERSION >= (6, 1)
FROM = "from@example.com"


def mailer_settings(**options):
    """Make ``send_mail()`` use PostmarkBackend: MAILERS on Django 6.1+, EMAIL_BACKEND before."""
    if HAS_MAILERS:
        return override_settings(MAILERS={"default": {"BACKEND": BACKEND, "OPTIONS": options}})
    assert not options
    return override_settings(EMAIL_BACKEND=BACKEND)


@pytest.fixture
def backend(postmark_sandbox):
    return PostmarkBackend()


def test_send_mail_end_to_end(postmark_sandbox):
    with mailer_settings(), warnings.catch_warnings():
        warnings.simplefilter("error")
        assert send_mail("Hi", "Body", FROM, ["to@example.com"], html_message="<p>Body</p>") == 1
    [stored] = postmark_sandbox.messages
    assert (stored["From"], stored["To"], stored["Subject"]) == (FROM, "to@example.com", "Hi")
    # The default stream is Postmark's own when a message names none: left out.
    assert (stored["TextBody"], stored["HtmlBody"], stored.get("MessageStream")) == (
        "Body",
        "<p>Body</p>",
        None,
    )
    [request] = postmark_sandbox.requests
    assert (request.method, request.path) == ("POST", "/email")
    assert request.headers["X-Postmark-Server-Token"] == postmark_sandbox.token
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["Accept"] == "application/json"


@pytest.mark.skipif(not HAS_MAILERS, reason="MAILERS is Django 6.1's")
def test_mailers_options_are_constructor_arguments():
    # The empty override stands in for the settings row (no database here).
    with Sandbox() as sandbox, override_postmark_settings():
        options = {"server_token": sandbox.token, "api_url": sandbox.url, "message_stream": "broadcast"}
        with mailer_settings(**options), warnings.catch_warnings():
            warnings.simplefilter("error")
            assert send_mail("Hi", "Body", FROM, ["to@example.com"]) == 1
            assert mail.mailers.default.arguments["message_stream"] == "broadcast"
        assert sandbox.messages[0]["MessageStream"] == "broadcast"


@pytest.mark.skipif(not HAS_MAILERS, reason="MAILERS is Django 6.1's")
def test_unknown_mailers_option_is_refused():
    from django.core.mail import InvalidMailer

    with mailer_settings(server_tokn="x"), pytest.raises(InvalidMailer, match="server_tokn"):
        mail.mailers.default  # noqa: B018


def test_options_are_the_configuration_fields_but_the_webhook_credentials():
    from postmark_admin.backends import OPTIONS
    from postmark_admin.config.fields import FIELDS

    assert set(OPTIONS) == set(FIELDS) - {"webhook_credentials"}


def test_options_set_to_none_count_as_not_given():
    backend = PostmarkBackend(server_token=None, api_url="http://127.0.0.1:9/", timeout=None)
    assert backend.arguments == {"api_url": "http://127.0.0.1:9/"}


def test_get_connection_keywords_win_over_overrides():
    with (
        Sandbox(token="from-arguments") as sandbox,
        override_postmark_settings(server_token="wrong", api_url="x"),
    ):
        backend = PostmarkBackend(server_token="from-arguments", api_url=sandbox.url, timeout=5)
        assert backend.send_messages([EmailMessage("Hi", "Body", FROM, ["to@example.com"])]) == 1
        assert sandbox.requests[0].headers["X-Postmark-Server-Token"] == "from-arguments"
        assert "from-arguments" not in repr(backend)


def test_batch_of_1200_messages_takes_three_requests(backend, postmark_sandbox):
    messages = [EmailMessage("Hi", f"Body {i}", FROM, [f"to{i}@example.com"]) for i in range(1200)]
    assert backend.send_messages(messages) == 1200
    assert sorted(len(r.json_body) for r in postmark_sandbox.requests) == [200, 500, 500]
    assert {r.path for r in postmark_sandbox.requests} == {"/email/batch"}
    stored = {m["To"]: m["TextBody"] for m in postmark_sandbox.messages}
    ids = set()
    for i, message in enumerate(messages):
        status = message.postmark_status
        assert status.status == {"sent"}
        assert stored[f"to{i}@example.com"] == f"Body {i}"
        assert status.recipients[f"to{i}@example.com"].message_id == status.message_id
        assert message.anymail_status is status
        ids.add(status.message_id)
    assert len(ids) == 1200


def test_a_failed_chunk_marks_only_its_messages_and_is_raised_after_the_others(backend, postmark_sandbox):
    # Two chunks in flight at once; whichever the sandbox answers first fails (500: may have been sent).
    postmark_sandbox.fail_next(status=500, error_code=0, count=1, path="/email/batch")
    messages = [EmailMessage("Hi", f"Body {i}", FROM, [f"to{i}@example.com"]) for i in range(1000)]
    with pytest.raises(PostmarkAPIError) as caught:
        backend.send_messages(messages)
    assert len(postmark_sandbox.requests) == 2
    failed = [m for m in messages if m.postmark_status.status == {"unknown"}]
    sent = [m for m in messages if m.postmark_status.status == {"sent"}]
    assert (len(failed), len(sent), len(postmark_sandbox.messages)) == (500, 500, 500)
    # Each chunk is 500 consecutive messages; the error raised is the first failed message's.
    assert failed in (messages[:500], messages[500:])
    assert caught.value.email_message is failed[0]
    assert [error.email_message for error in caught.value.errors] == failed
    stored = {m["To"] for m in postmark_sandbox.messages}
    assert stored == {m.to[0] for m in sent}


def test_batches_are_split_by_token_and_endpoint(backend, postmark_sandbox):
    plain = [EmailMessage("Hi", "B", FROM, [f"p{i}@example.com"]) for i in range(3)]
    templated = [
        PostmarkMessage(
            from_email=FROM, to=[f"t{i}@example.com"], template_id="welcome", merge_global_data={"name": i}
        )
        for i in range(2)
    ]
    other = EmailMessage("Hi", "B", FROM, ["o@example.com"])
    other.esp_extra = {"server_token": "another-server"}
    with pytest.raises(PostmarkAPIError) as caught:
        backend.send_messages([plain[0], templated[0], other, plain[1], templated[1], plain[2]])
    paths = sorted((r.path, r.headers["X-Postmark-Server-Token"]) for r in postmark_sandbox.requests)
    assert paths == [
        ("/email", "another-server"),
        ("/email/batch", postmark_sandbox.token),
        ("/email/batchWithTemplates", postmark_sandbox.token),
    ]
    # The sandbox refuses the unknown token (401): only that message fails; the others are sent.
    assert (caught.value.status_code, caught.value.email_message) == (401, other)
    assert other.postmark_status.status == {"failed"}
    assert len(postmark_sandbox.messages) == 5
    assert [m.postmark_status.status for m in plain + templated] == [{"sent"}] * 5


def test_one_refused_message_does_not_hide_the_others(backend, postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    good = [EmailMessage("Hi", "B", FROM, [f"g{i}@example.com"]) for i in range(3)]
    bad = EmailMessage("Hi", "B", FROM, ["gone@example.com"])
    with pytest.raises(PostmarkRecipientsRefused) as caught:
        backend.send_messages([good[0], bad, good[1], good[2]])
    assert caught.value.email_message is bad
    assert caught.value.error_code == 406
    assert caught.value.errors == [caught.value]
    assert len(postmark_sandbox.messages) == 3
    assert bad.postmark_status.recipients["gone@example.com"].status == "rejected"
    assert [m.postmark_status.status for m in good] == [{"sent"}] * 3


def test_fail_silently_returns_the_number_sent(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    backend = PostmarkBackend(fail_silently=True)
    messages = [
        EmailMessage("Hi", "B", FROM, ["a@example.com"]),
        EmailMessage("Hi", "B", FROM, ["gone@example.com"]),
        EmailMessage("Hi", "B", FROM, ["b@example.com"]),
    ]
    assert backend.send_messages(messages) == 2
    one = EmailMessage("Hi", "B", FROM, ["gone@example.com"])
    assert backend.send_messages([one]) == 0
    assert one.postmark_status.status == {"rejected"}
    unsupported = EmailMessage("Hi", "B", FROM, ["c@example.com"])
    unsupported.send_at = 1
    assert backend.send_messages([unsupported, EmailMessage("Hi", "B", FROM, ["d@example.com"])]) == 1
    assert isinstance(unsupported.postmark_status.error, PostmarkUnsupportedFeature)


def test_partial_success_rejects_only_inactive_recipients(backend, postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    message = EmailMessage(
        "Hi", "B", FROM, ["ok@example.com", "Gone <GONE@example.com>"], cc=["cc@example.com"]
    )
    assert backend.send_messages([message]) == 1
    status = message.postmark_status
    assert status.recipients["ok@example.com"].status == "sent"
    assert status.recipients["cc@example.com"].status == "sent"
    assert status.recipients["GONE@example.com"].status == "rejected"
    assert status.status == {"sent", "rejected"}
    assert "inactive" in status.results[0]["Message"]


def test_unsupported_feature_fails_before_any_request(backend, postmark_sandbox):
    messages = [
        EmailMessage("Hi", "B", FROM, ["a@example.com"]),
        EmailMessage("Hi", "B", FROM, ["b@example.com"]),
    ]
    messages[1].tags = ["one", "two"]
    with pytest.raises(PostmarkUnsupportedFeature, match="multiple tags") as caught:
        backend.send_messages(messages)
    assert caught.value.email_message is messages[1]
    assert postmark_sandbox.requests == []


def test_ignore_unsupported_features_sends_without_them(postmark_sandbox):
    message = EmailMessage("Hi", "B", FROM, ["a@example.com"])
    message.tags = ["one", "two"]
    message.send_at = 1
    assert PostmarkBackend(ignore_unsupported_features=True).send_messages([message]) == 1
    assert postmark_sandbox.messages[0]["Tag"] == "one"


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage("Hi", "B", FROM, [f"r{i}@example.com" for i in range(51)]),
        PostmarkMessage("Hi", "B", FROM, ["a@example.com"], metadata={"k" * 21: "v"}),
        EmailMessage("Hi", "B", FROM, [], bcc=[]),
    ],
    ids=["51 recipients", "metadata key", "no recipients"],
)
def test_invalid_message_fails_before_any_request(backend, postmark_sandbox, message):
    with pytest.raises(PostmarkInvalidMessage):
        backend.send_messages([message])
    assert postmark_sandbox.requests == []


def test_templates_and_merge_data_through_batch_with_templates(backend, postmark_sandbox):
    message = PostmarkMessage(
        from_email=FROM,
        to=["Ann <ann@example.com>", "bob@example.com"],
        template_id="welcome",
        merge_global_data={"product_name": "Site"},
        merge_data={"ann@example.com": {"name": "Ann"}, "bob@example.com": {"name": "Bob"}},
        tags=["welcome"],
        metadata={"campaign": "c1"},
        track_opens=True,
        track_clicks=True,
    )
    assert backend.send_messages([message]) == 1
    [request] = postmark_sandbox.requests
    assert request.path == "/email/batchWithTemplates"
    assert [m["TemplateModel"]["name"] for m in request.json_body["Messages"]] == ["Ann", "Bob"]
    assert [m["TemplateModel"] for m in postmark_sandbox.messages] == [
        {"product_name": "Site", "name": "Ann"},
        {"product_name": "Site", "name": "Bob"},
    ]
    status = message.postmark_status
    assert status.status == {"sent"}
    assert isinstance(status.message_id, set) and len(status.message_id) == 2


def test_single_template_message_uses_with_template(backend, postmark_sandbox):
    message = PostmarkMessage(from_email=FROM, to=["a@example.com"], template_id=1001, merge_global_data={})
    message.merge_global_data = {"action_url": "https://x.example/r"}
    assert backend.send_messages([message]) == 1
    assert postmark_sandbox.requests[0].path == "/email/withTemplate"
    assert postmark_sandbox.messages[0]["TemplateModel"] == {"action_url": "https://x.example/r"}


def test_merge_data_for_one_recipient_is_still_a_batch_send(backend, postmark_sandbox):
    # As in django-anymail: merge_data means a batch call, however many recipients.
    message = PostmarkMessage(
        from_email=FROM,
        to=["alice@example.com"],
        template_id="welcome",
        merge_data={"alice@example.com": {"name": "Alice"}, "nobody@example.com": {"name": "N"}},
        merge_global_data={"site": "ExampleCo"},
    )
    assert backend.send_messages([message]) == 1
    [request] = postmark_sandbox.requests
    assert request.path == "/email/batchWithTemplates"
    assert request.json_body == {
        "Messages": [
            {
                "From": FROM,
                "To": "alice@example.com",
                "TemplateAlias": "welcome",
                "TemplateModel": {"site": "ExampleCo", "name": "Alice"},
            }
        ]
    }
    [result] = message.postmark_status.results
    assert message.postmark_status.recipients["alice@example.com"].message_id == result["MessageID"]


def test_a_refused_batch_send_of_one_raises_like_a_single_send(backend, postmark_sandbox):
    # The batch answers 200 with the refusal inside: the same exception as the single endpoint's 422.
    postmark_sandbox.inactive.add("gone@example.com")
    message = EmailMessage("Hi", "B", FROM, ["gone@example.com"])
    message.merge_data = {}
    with pytest.raises(PostmarkRecipientsRefused) as caught:
        backend.send_messages([message])
    assert postmark_sandbox.requests[0].path == "/email/batch"
    assert caught.value.error_code == 406
    assert message.postmark_status.status == {"rejected"}


def test_attachments_and_inline_images_reach_the_sandbox(backend, postmark_sandbox):
    message = EmailMultiAlternatives("Hi", "B", FROM, ["a@example.com"])
    cid = attach_inline_image(message, b"\x89PNG\r\n\x1a\n...", filename="logo.png")
    message.attach_alternative(f'<img src="cid:{cid}">', "text/html")
    message.attach("report.csv", "a,b\n1,2\n", "text/csv")
    assert backend.send_messages([message]) == 1
    attachments = postmark_sandbox.messages[0]["Attachments"]
    assert [(a["Name"], a["ContentType"], a.get("ContentID")) for a in attachments] == [
        ("logo.png", "image/png", f"cid:{cid}"),
        ("report.csv", "text/csv", None),
    ]


def test_sequential_send_mail_calls_reuse_one_connection(postmark_sandbox):
    with mailer_settings():
        for i in range(10):
            assert send_mail("Hi", "Body", FROM, [f"to{i}@example.com"]) == 1
    assert len(postmark_sandbox.requests) == 10
    assert postmark_sandbox.connections_opened == 1
    assert len({r.connection_id for r in postmark_sandbox.requests}) == 1


def test_every_backend_instance_shares_the_pool(postmark_sandbox):
    for i in range(5):
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, [f"to{i}@example.com"])])
    assert postmark_sandbox.connections_opened == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("log", [False, True], ids=["log-off", "log-on"])
def test_no_sql_query_per_message_once_warm(monkeypatch, clean_postmark_env, settings, log):
    """With the sent-message log off a warm send runs no SQL; with it on, a fixed count per request."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from postmark_admin.models import PostmarkSettings, SentMessage

    settings.POSTMARK_LOG_MESSAGES = log
    monkeypatch.setattr(settings_cache, "LOCAL_TTL", 3600)
    with Sandbox() as sandbox:
        row = PostmarkSettings.get_solo()
        row.server_token = sandbox.token
        row.api_url = sandbox.url
        row.save()
        backend = PostmarkBackend()
        backend.send_messages([EmailMessage("Hi", "B", FROM, ["warm@example.com"])])
        # Committed (transaction=True), so the row is cached: sending costs no query of its own.
        with CaptureQueriesContext(connection) as queries:
            for i in range(20):
                backend.send_messages([EmailMessage("Hi", "B", FROM, [f"to{i}@example.com"])])
            backend.send_messages([EmailMessage("Hi", "B", FROM, [f"b{i}@example.com"]) for i in range(100)])
        assert len(sandbox.messages) == 121
    statements = [query["sql"].split(None, 1)[0].upper() for query in queries.captured_queries]
    if not log:
        assert statements == []
        return
    # 21 requests (20 single, 1 batch of 100), each: its INSERT, then the SELECT of events stored first.
    # PostgreSQL: one statement (WITH ... INSERT messages, INSERT recipients), in autocommit. SQLite has
    # no data-modifying CTE: two INSERTs between BEGIN and COMMIT.
    if connection.vendor == "postgresql":
        assert statements == ["WITH", "SELECT"] * 21
    else:
        assert statements == ["BEGIN", "INSERT", "INSERT", "COMMIT", "SELECT"] * 21
    assert SentMessage.objects.count() == 121


@pytest.mark.django_db(transaction=True)
def test_token_changed_in_the_admin_is_used_by_the_next_send(clean_postmark_env):
    from postmark_admin.models import PostmarkSettings

    with Sandbox() as sandbox:
        row = PostmarkSettings.get_solo()
        row.server_token = "old-token"
        row.api_url = sandbox.url
        row.save()
        backend = PostmarkBackend()
        with pytest.raises(PostmarkAPIError) as caught:
            backend.send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])])
        assert caught.value.status_code == 401
        row.server_token = sandbox.token
        row.save()
        assert backend.send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])]) == 1
        assert [r.headers["X-Postmark-Server-Token"] for r in sandbox.requests] == [
            "old-token",
            sandbox.token,
        ]


def test_missing_token_names_the_places_looked(clean_postmark_env):
    with override_postmark_settings(api_url="http://127.0.0.1:9/"):
        with pytest.raises(PostmarkConfigurationError, match="POSTMARK_SERVER_TOKEN"):
            PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])])
        assert (
            PostmarkBackend(fail_silently=True).send_messages([EmailMessage("Hi", "B", FROM, ["a@x.org"])])
            == 0
        )


def test_configured_default_from_replaces_djangos_default(postmark_sandbox):
    with override_postmark_settings(default_from_email="Admin <admin@example.com>"):
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", None, ["a@example.com"])])
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", "own@example.com", ["a@example.com"])])
    assert [m["From"] for m in postmark_sandbox.messages] == ["Admin <admin@example.com>", "own@example.com"]


def test_errors_are_postmark_errors_and_carry_postmarks_answer(backend, postmark_sandbox):
    message = EmailMessage("Hi", "B", FROM, ["a@example.com"])
    message.esp_extra = {"MessageStream": "no-such-stream"}
    with pytest.raises(PostmarkAPIError) as caught:
        backend.send_messages([message])
    error = caught.value
    assert isinstance(error, PostmarkError)
    assert (error.status_code, error.error_code) == (422, 1235)
    assert "no-such-stream" in error.message
    assert error.email_message is message
    assert "1235" in str(error)


@pytest.mark.parametrize("where", ["default", "routed"])
@pytest.mark.django_db(transaction=True)
def test_settings_row_unreadable_raises_and_sends_nothing(where, tmp_path, settings, clean_postmark_env):
    # Issue 11, item 3: settings.py names another token and API URL; a silent fallback would send there.
    down = default_database_down if where == "default" else settings_database_down
    with Sandbox(token="token-from-settings-py") as sandbox:
        settings.POSTMARK_SERVER_TOKEN = sandbox.token
        settings.POSTMARK_API_URL = sandbox.url
        with down(tmp_path), mailer_settings():
            with pytest.raises(PostmarkSettingsUnavailable) as raised:
                PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["a@example.com"])])
            assert isinstance(raised.value, PostmarkError)
            assert "could not be read from the database" in str(raised.value)
            assert sandbox.token not in str(raised.value)
            with pytest.raises(PostmarkSettingsUnavailable):
                send_mail("Hi", "B", FROM, ["a@example.com"])
            assert send_mail("Hi", "B", FROM, ["a@example.com"], fail_silently=True) == 0
            assert (
                PostmarkBackend(fail_silently=True).send_messages(
                    [EmailMessage("Hi", "B", FROM, ["b@x.org"])]
                )
                == 0
            )
        assert sandbox.requests == []
