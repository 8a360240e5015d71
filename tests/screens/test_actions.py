"""The settings page's Postmark actions, through the Django admin and the sandbox.

The sandbox is configured the way an admin would: in the settings row, so the page, the
backend and the client read the same stored (encrypted) token.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from postmark_admin.config.crypto import Secret
from postmark_admin.config.effective import WebhookCredential
from postmark_admin.models import PostmarkSettings
from postmark_admin.screens import actions as admin_actions
from tests.conftest import ADMIN_TEST_TOKEN, ADMIN_TEST_WEBHOOK_PASSWORD, follow_action

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

SETTINGS_URL = "admin:postmark_admin_postmarksettings_change"


def action_url(name):
    return reverse(f"admin:postmark_admin_postmarksettings_{name}")


@pytest.fixture
def admin_client(login):
    return login("operator", "postmark_admin.view_postmarksettings", "postmark_admin.use_postmark_api")


def post(client, name, data=None):
    """POST an action, follow the redirect to the settings page; returns (messages, page HTML)."""
    return follow_action(client, action_url(name), reverse(SETTINGS_URL), data)


def only(found, level):
    assert [tag for tag, _text in found] == [level], found
    return found[0][1]


# -- send test email -------------------------------------------------------------------------------


def test_send_test_email_reports_the_message_id(admin_client, sandbox, assert_no_secrets):
    found, html = post(
        admin_client, "test_email", {"recipient": "to@example.com", "subject": "Hello", "message_stream": ""}
    )
    text = only(found, "success")
    [sent] = sandbox.messages
    assert sent["MessageID"] in text
    assert (sent["To"], sent["From"], sent["Subject"]) == (
        "to@example.com",
        "Admin Tests <sender@example.com>",
        "Hello",
    )
    assert sent.get("MessageStream", "outbound") == "outbound"
    assert escape(text) in html
    assert_no_secrets(html)


def test_send_test_email_on_a_chosen_stream(admin_client, sandbox):
    found, _html = post(
        admin_client,
        "test_email",
        {"recipient": "to@example.com", "subject": "S", "message_stream": "broadcast"},
    )
    only(found, "success")
    assert sandbox.messages[0]["MessageStream"] == "broadcast"


def test_send_test_email_shows_postmarks_error_code_and_message(admin_client, sandbox, assert_no_secrets):
    sandbox.fail_next(
        status=422, error_code=400, message="The 'From' address you supplied is not a Sender Signature."
    )
    found, html = post(admin_client, "test_email", {"recipient": "to@example.com", "subject": "S"})
    text = only(found, "error")
    assert "ErrorCode 400" in text
    assert "The &#x27;From&#x27; address you supplied is not a Sender Signature." in html
    assert "to@example.com" in text
    assert not sandbox.messages
    assert_no_secrets(html)


def test_send_test_email_with_a_wrong_token(admin_client, sandbox, assert_no_secrets):
    row = PostmarkSettings.get_solo()
    row.server_token = "wrong-token-0123456789"
    row.save()
    found, html = post(admin_client, "test_email", {"recipient": "to@example.com", "subject": "S"})
    text = only(found, "error")
    assert "HTTP 401" in text and "ErrorCode 10" in text
    assert "wrong-token-0123456789" not in html
    assert_no_secrets(html)


NO_TOKEN = (
    "No server token is configured. Enter one under “Server API token” on this page, or set "
    "POSTMARK_SERVER_TOKEN in settings.py or the environment."
)


@pytest.fixture
def tokenless_sandbox(db):
    """A sandbox the settings row points at, with no server token anywhere."""
    from postmark_admin.sandbox import Sandbox

    with Sandbox() as running:
        PostmarkSettings.objects.create(
            api_url=running.url, webhook_username="hookuser", webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD
        )
        yield running


@pytest.mark.parametrize(
    ("action", "data", "lead"),
    [
        ("verify_token", None, ""),
        (
            "test_email",
            {"recipient": "to@example.com", "subject": "S"},
            "The test email to to@example.com was not sent. ",
        ),
        ("configure_webhook", {"message_stream": "outbound"}, "The webhook was not configured. "),
        ("delivery_stats", None, "Could not read delivery stats. "),
    ],
)
def test_without_any_token_nothing_is_sent_and_the_page_says_where_to_enter_one(
    admin_client, tokenless_sandbox, action, data, lead
):
    # Issue 12, item 11: not "The server token was refused": Postmark is not even asked.
    found, _html = post(admin_client, action, data)
    assert only(found, "error") == lead + NO_TOKEN
    assert tokenless_sandbox.requests == []


def test_an_undecryptable_token_says_how_to_recover_it(tokenless_sandbox, settings):
    row = PostmarkSettings.get_solo()
    row.server_token = "a-token-stored-under-the-old-key"
    row.save()
    # The action itself: a new SECRET_KEY would log the admin out too.
    settings.SECRET_KEY = "a-new-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
    outcome = admin_actions.verify_server_token()
    text = outcome.message
    assert not outcome.ok
    assert "cannot be decrypted" in text and "SECRET_KEY_FALLBACKS" in text and "“Server API token”" in text
    assert tokenless_sandbox.requests == []


def test_send_test_email_form_errors(admin_client, sandbox):
    found, _html = post(
        admin_client, "test_email", {"recipient": "nope", "subject": "", "message_stream": "bad stream"}
    )
    text = only(found, "error")
    assert "Recipient:" in text and "Subject:" in text and "Message stream:" in text
    assert not sandbox.requests


def test_test_email_form_defaults_to_the_admins_address(admin_client, sandbox):
    html = admin_client.get(reverse(SETTINGS_URL)).content.decode()
    assert 'name="recipient" value="operator@example.com"' in html


# -- verify server token ---------------------------------------------------------------------------


def test_verify_server_token(admin_client, sandbox, assert_no_secrets):
    found, html = post(admin_client, "verify_token")
    text = only(found, "success")
    assert "Postmark sandbox" in text and "delivery type" in text
    assert [r.path for r in sandbox.requests] == ["/server"]
    assert_no_secrets(html)


def test_verify_server_token_refused(admin_client, sandbox):
    sandbox.fail_next(
        status=401,
        error_code=10,
        message="The Server Token you provided in the X-Postmark-Server-Token request header was invalid.",
    )
    found, _html = post(admin_client, "verify_token")
    text = only(found, "error")
    assert text.startswith("Postmark refused the server token.") and "ErrorCode 10" in text
    assert "request header was invalid" in text
    assert "into “Server API token” on this page" in text  # where to fix it


def test_verify_server_token_when_postmark_cannot_be_reached(admin_client, sandbox):
    sandbox.fail_next(status=503, error_code=100, count=10)
    found, _html = post(admin_client, "verify_token")
    text = only(found, "error")
    assert text.startswith("The server token could not be verified.")
    assert "refused" not in text


# -- configure webhook -----------------------------------------------------------------------------


def test_configure_webhook_creates_then_updates_without_duplicating(admin_client, sandbox, assert_no_secrets):
    found, html = post(admin_client, "configure_webhook", {"message_stream": "outbound"})
    assert "Created webhook" in only(found, "success")
    assert_no_secrets(html)
    [webhook] = sandbox.webhooks
    assert webhook["Url"] == "http://testserver/postmark/tracking/"
    assert webhook["MessageStream"] == "outbound"
    assert webhook["HttpAuth"] == {"Username": "hookuser", "Password": ADMIN_TEST_WEBHOOK_PASSWORD}
    enabled = {name for name, trigger in webhook["Triggers"].items() if trigger["Enabled"]}
    assert enabled == {"Delivery", "Bounce", "SpamComplaint", "Open", "Click", "SubscriptionChange"}

    row = PostmarkSettings.get_solo()
    row.webhook_username = "rotated"
    row.save()
    found, _html = post(admin_client, "configure_webhook", {"message_stream": "outbound"})
    assert "Updated webhook" in only(found, "success")
    [webhook] = sandbox.webhooks
    assert webhook["HttpAuth"]["Username"] == "rotated"

    # Another stream gets its own webhook.
    found, _html = post(admin_client, "configure_webhook", {"message_stream": "broadcast"})
    assert "Created webhook" in only(found, "success")
    assert sorted(w["MessageStream"] for w in sandbox.webhooks) == ["broadcast", "outbound"]


def test_configure_webhook_error(admin_client, sandbox):
    sandbox.fail_next(status=422, error_code=606, message="Invalid webhook URL.", path="/webhooks")
    found, _html = post(admin_client, "configure_webhook", {"message_stream": "outbound"})
    text = only(found, "error")
    assert "ErrorCode 606" in text and "Invalid webhook URL." in text
    assert not sandbox.webhooks


def test_configure_webhook_needs_credentials(admin_client, sandbox):
    row = PostmarkSettings.get_solo()
    row.webhook_password = ""
    row.save()
    found, _html = post(admin_client, "configure_webhook", {"message_stream": "outbound"})
    text = only(found, "error")
    assert "No webhook credentials are configured" in text
    assert "“webhook username” and “webhook password” on this page" in text
    assert not sandbox.requests


# -- delivery stats --------------------------------------------------------------------------------


def test_delivery_stats(admin_client, sandbox):
    found, _html = post(admin_client, "delivery_stats")
    assert only(found, "success") == "Delivery stats: 1 inactive addresses, 0 bounces."


def test_delivery_stats_error(admin_client, sandbox):
    sandbox.fail_next(status=500, error_code=0, message="Internal server error.")
    found, _html = post(admin_client, "delivery_stats")
    assert "Could not read delivery stats" in only(found, "error")


# -- the pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("webhooks", "url", "expected"),
    [
        ([], "https://a.example/postmark/tracking/", None),
        (
            [{"ID": 1, "Url": "https://a.example/postmark/tracking/"}],
            "https://a.example/postmark/tracking/",
            1,
        ),
        (
            [{"ID": 2, "Url": "https://u:p@A.example/postmark/tracking"}],
            "https://a.example/postmark/tracking/",
            2,
        ),
        (
            [{"ID": 3, "Url": "http://a.example/postmark/tracking/"}],
            "https://a.example/postmark/tracking/",
            None,
        ),
        (
            [{"ID": 4, "Url": "https://a.example:8443/postmark/tracking/"}],
            "https://a.example/postmark/tracking/",
            None,
        ),
        (
            [
                {"ID": 5, "Url": "https://a.example/other/"},
                {"ID": 6, "Url": "https://a.example/postmark/tracking/"},
            ],
            "https://a.example/postmark/tracking/",
            6,
        ),
        ([{"ID": 7, "Url": None}], "https://a.example/postmark/tracking/", None),
    ],
)
def test_find_webhook(webhooks, url, expected):
    found = admin_actions.find_webhook(webhooks, url)
    assert (found["ID"] if found else None) == expected


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        ({}, "Delivery stats: 0 inactive addresses, 0 bounces."),
        (
            {
                "InactiveMails": 3,
                "Bounces": [
                    {"Name": "All", "Count": 5},
                    {"Type": "HardBounce", "Name": "Hard bounce", "Count": 4},
                    {"Type": "Transient", "Name": "Message delayed", "Count": 1},
                ],
            },
            "Delivery stats: 3 inactive addresses, 5 bounces (Hard bounce: 4, Message delayed: 1).",
        ),
        (
            {"InactiveMails": 0, "Bounces": [{"Type": "SoftBounce", "Name": "Soft bounce", "Count": 2}]},
            "Delivery stats: 0 inactive addresses, 2 bounces (Soft bounce: 2).",
        ),
    ],
)
def test_summarize_delivery_stats(stats, expected):
    assert admin_actions.summarize_delivery_stats(stats) == expected


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (
            {"ID": 1, "Name": "Prod", "DeliveryType": "Live", "ApiTokens": [ADMIN_TEST_TOKEN]},
            "server “Prod” (ID 1), delivery type Live.",
        ),
        ({"ID": 2, "Name": "Test", "DeliveryType": "Sandbox"}, "delivers none."),
        ({}, "server “?” (ID ?), delivery type ?."),
    ],
)
def test_describe_server_never_shows_tokens(server, expected):
    text = admin_actions.describe_server(server)
    assert text.endswith(expected)
    assert ADMIN_TEST_TOKEN not in text


def test_webhook_definition():
    body = admin_actions.webhook_definition(
        "https://a.example/postmark/tracking/", WebhookCredential("u", Secret("p" * 20)), "outbound"
    )
    assert body["HttpAuth"] == {"Username": "u", "Password": "p" * 20}
    assert body["MessageStream"] == "outbound"
    assert body["Triggers"]["Open"] == {"Enabled": True, "PostFirstOpenOnly": False}
    assert body["Triggers"]["Bounce"] == {"Enabled": True, "IncludeContent": False}


@pytest.mark.parametrize(
    ("error_code", "token_from", "expected"),
    [
        (10, "database", "into “Server API token” on this page"),
        (10, "argument", "comes from settings.MAILERS['default']['OPTIONS']['server_token'], which wins"),
        (400, "database", "under “default From address for test emails” on this page"),
        (401, "database", "POSTMARK_DEFAULT_FROM_EMAIL"),
        (1235, "database", "under “default message stream” on this page"),
        (606, "database", "public https:// address"),
        (300, "database", ""),
        (422, "database", ""),
    ],
)
def test_error_advice_says_where_to_fix_it(error_code, token_from, expected):
    from postmark_admin.config.effective import Resolved, Source, effective_config
    from postmark_admin.testing import override_postmark_settings

    with override_postmark_settings():  # no database needed
        config = effective_config()
    if token_from == "argument":
        origin = "settings.MAILERS['default']['OPTIONS']['server_token']"
        config = type(config)(
            **{**vars(config), "sources": {"server_token": Resolved(Secret("x"), Source.ARGUMENT, origin)}}
        )
    advice = admin_actions.error_advice(error_code, config)
    assert (expected in advice) if expected else advice == ""
