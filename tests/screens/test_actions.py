"""The settings page's Postmark actions and the users' test-email action, through the sandbox.

The sandbox is configured the way an admin would: in the settings row, so the page, the
backend and the client read the same stored (encrypted) token.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils.html import escape

from postmark_admin.config.crypto import Secret
from postmark_admin.config.effective import WebhookCredential
from postmark_admin.models import PostmarkSettings
from postmark_admin.screens import actions as admin_actions
from tests.conftest import ADMIN_TEST_TOKEN, ADMIN_TEST_WEBHOOK_PASSWORD

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

SETTINGS_URL = "admin:postmark_admin_postmarksettings_change"


def action_url(name):
    return reverse(f"admin:postmark_admin_postmarksettings_{name}")


@pytest.fixture
def admin_client(client, staff_factory):
    client.force_login(
        staff_factory("operator", "postmark_admin.view_postmarksettings", "postmark_admin.use_postmark_api")
    )
    return client


def post(client, name, data=None):
    """POST an action, follow the redirect to the settings page; returns (messages, page HTML)."""
    response = client.post(action_url(name), data or {}, follow=True)
    assert response.redirect_chain == [(reverse(SETTINGS_URL), 302)]
    found = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    return found, response.content.decode()


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


def test_send_test_email_without_any_token(admin_client, db):
    found, _html = post(admin_client, "test_email", {"recipient": "to@example.com", "subject": "S"})
    text = only(found, "error")
    assert "No Postmark server token is configured" in text


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
    assert "The server token was refused" in text and "ErrorCode 10" in text
    assert "request header was invalid" in text


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
    assert "Set a webhook username and password first" in only(found, "error")
    assert not sandbox.requests


# -- delivery stats --------------------------------------------------------------------------------


def test_delivery_stats(admin_client, sandbox):
    found, _html = post(admin_client, "delivery_stats")
    assert only(found, "success") == "Delivery stats: 1 inactive addresses, 0 bounces."


def test_delivery_stats_error(admin_client, sandbox):
    sandbox.fail_next(status=500, error_code=0, message="Internal server error.")
    found, _html = post(admin_client, "delivery_stats")
    assert "Could not read delivery stats" in only(found, "error")


# -- the users changelist action ------------------------------------------------------------------

USERS = "admin:auth_user_changelist"


def test_user_action_sends_to_selected_users(client, staff_factory, sandbox, django_user_model):
    operator = staff_factory(
        "operator", "auth.view_user", "auth.change_user", "postmark_admin.use_postmark_api"
    )
    client.force_login(operator)
    assert "send_test_email_to_users" in client.get(reverse(USERS)).content.decode()
    nomail = django_user_model.objects.create_user("nomail", email="")
    response = client.post(
        reverse(USERS),
        {"action": "send_test_email_to_users", "_selected_action": [operator.pk, nomail.pk]},
        follow=True,
    )
    found = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert ("success", "Sent a Postmark test email to 1 user.") in found
    assert ("warning", "1 user has no email address.") in found
    assert [m["To"] for m in sandbox.messages] == ["operator@example.com"]


def test_user_action_reports_errors(client, staff_factory, sandbox):
    operator = staff_factory(
        "operator", "auth.view_user", "auth.change_user", "postmark_admin.use_postmark_api"
    )
    client.force_login(operator)
    sandbox.fail_next(
        status=422,
        error_code=406,
        message="You tried to send to recipient(s) that have been marked as inactive.",
    )
    response = client.post(
        reverse(USERS), {"action": "send_test_email_to_users", "_selected_action": [operator.pk]}, follow=True
    )
    found = [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]
    assert [tag for tag, _text in found] == ["error"]
    assert "ErrorCode 406" in found[0][1]


def test_user_action_hidden_and_refused_without_the_permission(client, staff_factory, sandbox):
    user = staff_factory("plain", "auth.view_user", "auth.change_user")
    client.force_login(user)
    assert "send_test_email_to_users" not in client.get(reverse(USERS)).content.decode()
    client.post(reverse(USERS), {"action": "send_test_email_to_users", "_selected_action": [user.pk]})
    assert not sandbox.messages


def test_user_action_keeps_the_sites_own_user_admin():
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.contrib.auth.admin import UserAdmin

    from postmark_admin.admin.users import install_user_action, send_test_email_to_users

    model_admin = admin.site._registry[get_user_model()]
    assert type(model_admin) is UserAdmin
    assert send_test_email_to_users not in (UserAdmin.actions or [])  # the class is untouched
    assert install_user_action(admin.site) is True
    assert list(model_admin.actions).count(send_test_email_to_users) == 1  # idempotent
    assert install_user_action(admin.AdminSite(name="empty")) is False


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


def test_user_action_installed_when_a_later_app_registers_its_own_user_admin():
    """apps.ready() re-installs the action on whatever ModelAdmin holds the user model by then."""
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.contrib.auth.admin import UserAdmin

    from postmark_admin.admin.users import send_test_email_to_users

    user_model = get_user_model()
    original = admin.site._registry[user_model]
    admin.site.unregister(user_model)
    admin.site.register(user_model, UserAdmin)  # a site replacing the UserAdmin after our import
    try:
        assert send_test_email_to_users not in (admin.site._registry[user_model].actions or ())
        apps.get_app_config("postmark_admin").ready()
        assert send_test_email_to_users in admin.site._registry[user_model].actions
    finally:
        admin.site.unregister(user_model)
        admin.site._registry[user_model] = original
