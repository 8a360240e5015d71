"""The settings page: editing, write-only secrets, the effective configuration, webhook URLs, permissions."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

import django
import pytest
from django.contrib import admin
from django.db import connection
from django.test import override_settings
from django.urls import path, reverse
from django.utils import timezone

from postmark_admin.config.crypto import encrypt
from postmark_admin.models import PostmarkSettings, WebhookEvent
from tests.conftest import (
    ADMIN_TEST_TOKEN,
    ADMIN_TEST_WEBHOOK_PASSWORD,
    follow_action,
    messages_of,
    settings_form_data,
)
from tests.database_down import settings_database_down

SETTINGS_URL = "admin:postmark_admin_postmarksettings_change"
ACTIONS = ["test_email", "verify_token", "configure_webhook", "delivery_stats"]

pytestmark = pytest.mark.usefixtures("clean_postmark_env")


def form_data(**changes):
    """The settings form's POST data as the Django admin's Save button sends it."""
    return settings_form_data(_save="Save", **changes)


@pytest.fixture
def superuser_client(login):
    return login("root", superuser=True)


def get_page(client):
    response = client.get(reverse(SETTINGS_URL))
    assert response.status_code == 200
    return response.content.decode()


def test_every_field_is_editable_and_secrets_are_stored_encrypted(superuser_client, assert_no_secrets):
    response = superuser_client.post(
        reverse(SETTINGS_URL),
        form_data(
            server_token=ADMIN_TEST_TOKEN,
            api_url="http://127.0.0.1:9/",
            message_stream="broadcasts",
            default_from_email="sender@example.com",
            timeout="12.5",
            webhook_username="hook",
            webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD,
            ignore_unsupported_features="True",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row = PostmarkSettings.get_solo()
    assert row.server_token.reveal() == ADMIN_TEST_TOKEN
    assert row.webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD
    assert (row.api_url, row.message_stream, row.default_from_email, row.timeout) == (
        "http://127.0.0.1:9/",
        "broadcasts",
        "sender@example.com",
        12.5,
    )
    assert (row.webhook_username, row.ignore_unsupported_features) == ("hook", True)
    html = get_page(superuser_client)
    assert_no_secrets(html)
    # The panel shows at most the last four characters, and where each value came from.
    assert "********" + ADMIN_TEST_TOKEN[-4:] in html
    assert "database PostmarkSettings.server_token" in html
    assert "hook / ********" + ADMIN_TEST_WEBHOOK_PASSWORD[-4:] in html
    assert "A value is stored here. Leave blank to keep it." in html


def test_blank_keeps_and_the_box_clears(superuser_client, assert_no_secrets):
    PostmarkSettings.objects.create(
        server_token=ADMIN_TEST_TOKEN, webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD
    )
    superuser_client.post(reverse(SETTINGS_URL), form_data(message_stream="kept"))
    row = PostmarkSettings.get_solo()
    assert row.server_token.reveal() == ADMIN_TEST_TOKEN
    assert row.message_stream == "kept"
    assert_no_secrets(get_page(superuser_client))

    superuser_client.post(reverse(SETTINGS_URL), form_data(server_token_clear="on"))
    row = PostmarkSettings.get_solo()
    assert not row.server_token
    assert row.webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD
    html = get_page(superuser_client)
    assert_no_secrets(html)
    assert "Not set here" in html


def test_a_form_error_does_not_echo_the_typed_secret(superuser_client, assert_no_secrets):
    response = superuser_client.post(
        reverse(SETTINGS_URL), form_data(server_token=ADMIN_TEST_TOKEN, message_stream="not a stream!")
    )
    assert response.status_code == 200
    assert "errornote" in response.content.decode()
    assert_no_secrets(response.content)


@override_settings(POSTMARK_SERVER_TOKEN=ADMIN_TEST_TOKEN)
def test_secret_from_settings_py_is_named_with_its_origin(superuser_client, assert_no_secrets):
    html = get_page(superuser_client)
    assert_no_secrets(html)
    assert "The effective value comes from settings.py (settings.POSTMARK_SERVER_TOKEN)." in html
    assert "********" + ADMIN_TEST_TOKEN[-4:] in html


def test_secret_from_the_environment(superuser_client, clean_postmark_env, assert_no_secrets):
    clean_postmark_env.setenv("POSTMARK_SERVER_TOKEN", ADMIN_TEST_TOKEN)
    html = get_page(superuser_client)
    assert_no_secrets(html)
    assert "The effective value comes from environment (environment POSTMARK_SERVER_TOKEN)." in html


def test_effective_configuration_panel_lists_every_field_with_its_source(superuser_client):
    html = get_page(superuser_client)
    for label in (
        "Server API token",
        "API URL",
        "Default message stream",
        "From address of test emails",
        "Webhook credentials",
        "Ignore unsupported features",
        "Request timeout",
    ):
        assert label in html
    assert "https://api.postmarkapp.com/" in html
    assert "settings.DEFAULT_FROM_EMAIL" in html
    assert "No value is set anywhere: enter one here, or set it in settings.py or the environment." in html


def _config_row(html: str, name: str) -> str:
    """The text of the effective-configuration panel's row for ``name``, tags removed."""
    [row] = re.findall(rf'<tr class="postmark-config-{name}">(.*?)</tr>', html, flags=re.S)
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", row)).split())


def test_the_panel_shows_the_timeout_from_email_timeout(superuser_client, settings):
    # Issue 12, item 5: Django's EMAIL_TIMEOUT counts, and the panel says it is where the value came from.
    if django.VERSION >= (6, 1):
        del settings.MAILERS  # Django 6.1 refuses EMAIL_TIMEOUT beside MAILERS
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert _config_row(get_page(superuser_client), "timeout") == "Request timeout 30 seconds default default"
    settings.EMAIL_TIMEOUT = 12
    assert (
        _config_row(get_page(superuser_client), "timeout")
        == "Request timeout 12 seconds settings.py settings.EMAIL_TIMEOUT"
    )


def test_the_panel_shows_the_default_mailers_options(superuser_client, settings):
    settings.MAILERS = {
        "default": {"BACKEND": "postmark_admin.backends.PostmarkBackend", "OPTIONS": {"timeout": 4}}
    }
    assert (
        _config_row(get_page(superuser_client), "timeout")
        == "Request timeout 4 seconds code argument settings.MAILERS['default']['OPTIONS']['timeout']"
    )


def test_undecryptable_secret_shows_an_admin_error(superuser_client, assert_no_secrets):
    PostmarkSettings.objects.create()
    with override_settings(SECRET_KEY="another-secret-key-that-is-long-enough-0123456789"):
        stored = encrypt(ADMIN_TEST_TOKEN)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE postmark_admin_postmarksettings SET server_token = %s", [stored])
    response = superuser_client.get(reverse(SETTINGS_URL))
    html = response.content.decode()
    errors = [text for level, text in messages_of(response) if level == "error"]
    assert errors and "cannot be decrypted" in errors[0] and "server API token" in errors[0]
    assert "cannot be decrypted with the current SECRET_KEY: enter it again" in html
    assert_no_secrets(html)


def test_webhook_urls_are_absolute_and_show_the_username_only(superuser_client, assert_no_secrets):
    PostmarkSettings.objects.create(webhook_username="hookuser", webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD)
    html = get_page(superuser_client)
    assert 'value="http://testserver/postmark/tracking/"' in html
    assert 'value="http://testserver/postmark/inbound/"' in html
    assert "username <code>hookuser</code>" in html
    assert_no_secrets(html)


#: This module doubles as a URLconf without postmark_admin.urls.
urlpatterns = [path("admin/", admin.site.urls)]


@override_settings(ROOT_URLCONF=__name__)
def test_without_webhook_urls_the_page_says_how_to_add_them(superuser_client):
    assert 'include("postmark_admin.urls")' in get_page(superuser_client)


def test_breadcrumbs_are_written_in_the_markup_the_installed_django_styles(superuser_client):
    # django-solo writes Django 5.2's <div class="breadcrumbs">; Django 6.1 styles only an <ol>.
    html = get_page(superuser_client)
    home = f'<a href="{reverse("admin:index")}">Home</a>'
    app = f'<a href="{reverse("admin:app_list", args=["postmark_admin"])}">Postmark</a>'
    if django.VERSION >= (6, 1):
        expected = f'<ol class="breadcrumbs">\n<li>{home}</li>\n<li>{app}</li>\n'
        expected += '<li aria-current="page">Postmark settings</li>\n</ol>'
        assert '<div class="breadcrumbs">' not in html
    else:
        expected = f'<div class="breadcrumbs">\n{home}\n&rsaquo; {app}\n&rsaquo; Postmark settings\n</div>'
        assert '<ol class="breadcrumbs">' not in html
    assert expected in html


def test_summary_counts_events_of_the_last_24_hours_by_type(superuser_client):
    now = timezone.now()
    for index, (event_type, age) in enumerate(
        [("delivered", 1), ("delivered", 2), ("bounced", 3), ("opened", 30), ("delivered", 25)]
    ):
        WebhookEvent.objects.create(
            dedupe_key=f"k{index}", event_type=event_type, received_at=now - timedelta(hours=age)
        )
    html = get_page(superuser_client)
    summary = html.split('id="postmark-recent-events"')[1].split("</div>")[0]
    assert '<span class="postmark-event postmark-event-delivered">delivered</span> 2' in summary
    assert '<span class="postmark-event postmark-event-bounced">bounced</span> 1' in summary
    assert "opened" not in summary


# -- permissions ----------------------------------------------------------------------------------

VIEW = "postmark_admin.view_postmarksettings"
CHANGE = "postmark_admin.change_postmarksettings"
API = "postmark_admin.use_postmark_api"


@pytest.mark.parametrize(
    ("perms", "page_status", "can_save", "sees_buttons", "action_status"),
    [
        ((), 403, False, False, 403),
        ((API,), 403, False, False, 403),
        ((VIEW,), 200, False, False, 403),
        ((CHANGE,), 200, True, False, 403),
        ((VIEW, API), 200, False, True, 302),
        ((CHANGE, API), 200, True, True, 302),
    ],
)
def test_permissions_matrix(login, perms, page_status, can_save, sees_buttons, action_status):
    PostmarkSettings.objects.create()
    client = login("someone", *perms)
    response = client.get(reverse(SETTINGS_URL))
    assert response.status_code == page_status
    if page_status == 200:
        html = response.content.decode()
        assert ('name="_save"' in html) is can_save
        assert ('id="postmark-actions"' in html) is sees_buttons
        assert ("Send test email" in html) is sees_buttons
    response = client.post(reverse(SETTINGS_URL), form_data(message_stream="changed"))
    assert PostmarkSettings.get_solo().message_stream == ("changed" if can_save else "")
    for action in ACTIONS:
        url = reverse(f"admin:postmark_admin_postmarksettings_{action}")
        # A form error is enough to tell "allowed" (302 and a message) from "refused" (403).
        response = client.post(url, {"recipient": "not an address", "message_stream": "bad stream!"})
        assert response.status_code == action_status, action


def test_actions_need_post_and_csrf(superuser_client, staff_factory):
    from django.test import Client

    url = reverse("admin:postmark_admin_postmarksettings_verify_token")
    assert superuser_client.get(url).status_code == 405
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_factory("strict", superuser=True))
    assert strict.post(url).status_code == 403


def test_anonymous_is_sent_to_the_login_page(client, db):
    for name in [SETTINGS_URL, *(f"admin:postmark_admin_postmarksettings_{action}" for action in ACTIONS)]:
        response = client.post(reverse(name)) if name != SETTINGS_URL else client.get(reverse(name))
        assert response.status_code == 302
        assert "/admin/login/" in response["Location"]


# -- the webhook password: warnings and the generate button ----------------------------------------

GENERATE_URL = "admin:postmark_admin_postmarksettings_generate_webhook_password"


def webhook_status(client, username: str, password: str) -> int:
    """The tracking URL's answer to a Delivery posted with these credentials."""
    import base64

    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return client.post(
        reverse("postmark_admin:tracking"),
        {"RecordType": "Delivery", "MessageID": "m-1", "Recipient": "a@example.com"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {token}",
    ).status_code


@pytest.mark.parametrize(("password", "warned"), [("short-pw", True), ("x" * 15, True), ("x" * 16, False)])
def test_the_page_warns_about_a_short_webhook_password(superuser_client, password, warned):
    PostmarkSettings.objects.create(webhook_username="hook", webhook_password=password)
    html = superuser_client.get(reverse(SETTINGS_URL), HTTP_HOST="localhost").content.decode()
    assert ("is shorter than 16 characters" in html) == warned
    assert password not in html.replace("x" * 16, "")  # never the password itself


@pytest.mark.parametrize(
    ("host", "secure", "warned"),
    [
        ("testserver", False, True),
        ("example.com", False, True),
        ("example.com", True, False),
        ("localhost:8000", False, False),
        ("127.0.0.1:8000", False, False),
        ("[::1]:8000", False, False),
    ],
)
def test_the_page_warns_about_plain_http_webhook_urls_on_a_public_host(
    superuser_client, host, secure, warned
):
    with override_settings(ALLOWED_HOSTS=["*"]):
        html = superuser_client.get(reverse(SETTINGS_URL), HTTP_HOST=host, secure=secure).content.decode()
    assert ("Postmark would send the webhook password unencrypted" in html) == warned


def test_generate_a_webhook_password_shows_it_once_and_postmark_gets_it(
    superuser_client, sandbox, assert_no_secrets
):
    html = get_page(superuser_client)
    assert reverse(GENERATE_URL) in html and "Generate a new webhook password" in html
    assert webhook_status(superuser_client, "hookuser", ADMIN_TEST_WEBHOOK_PASSWORD) == 200

    response = superuser_client.post(reverse(GENERATE_URL))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    password = PostmarkSettings.get_solo().webhook_password.reveal()
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", password)  # secrets.token_urlsafe(32)
    assert f'value="{password}"' in page
    assert f'value="http://hookuser:{password}@testserver/postmark/inbound/"' in page
    assert "This page is the only place it is ever shown" in page
    assert_no_secrets(page)  # the old password is gone from the row, and from the page

    # Stored encrypted, and the only credential the webhooks now accept.
    with connection.cursor() as cursor:
        cursor.execute("SELECT webhook_password FROM postmark_admin_postmarksettings")
        assert password not in cursor.fetchone()[0]
    assert webhook_status(superuser_client, "hookuser", password) == 200
    assert webhook_status(superuser_client, "hookuser", ADMIN_TEST_WEBHOOK_PASSWORD) == 401

    # Never shown again: not on the settings page, not in the message or the history.
    assert password not in get_page(superuser_client)
    from django.contrib.admin.models import LogEntry

    [entry] = LogEntry.objects.all()
    assert entry.get_change_message() == "Changed Webhook password."
    assert password not in entry.change_message

    # The page's "Configure webhook" button hands it to Postmark.
    form = re.search(r'<form method="post" action="([^"]+)"[^>]*id="postmark-configure-webhook"', page)
    assert form
    found, after = follow_action(
        superuser_client, form.group(1), reverse(SETTINGS_URL), {"message_stream": "outbound"}
    )
    assert [level for level, _text in found] == ["success"]
    [webhook] = sandbox.webhooks
    assert webhook["HttpAuth"] == {"Username": "hookuser", "Password": password}
    assert password not in after


def test_generate_needs_the_change_permission(login, sandbox):
    client = login("viewer", "postmark_admin.view_postmarksettings", "postmark_admin.use_postmark_api")
    assert reverse(GENERATE_URL) not in get_page(client)
    assert client.post(reverse(GENERATE_URL)).status_code == 403
    assert PostmarkSettings.get_solo().webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD


def test_generate_is_post_only(superuser_client, sandbox):
    assert superuser_client.get(reverse(GENERATE_URL)).status_code == 405
    assert PostmarkSettings.get_solo().webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD


def test_generate_without_the_api_permission_says_how_to_give_it_to_postmark(login, sandbox):
    client = login("editor", "postmark_admin.change_postmarksettings")
    page = client.post(reverse(GENERATE_URL)).content.decode()
    assert 'id="postmark-configure-webhook"' not in page
    assert "ask someone who may use the Postmark API" in page
    assert PostmarkSettings.get_solo().webhook_password.reveal() in page


def test_generate_needs_a_webhook_username(superuser_client, db):
    PostmarkSettings.objects.create(webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD)
    response = superuser_client.post(reverse(GENERATE_URL))
    assert response.status_code == 302
    [(level, text)] = messages_of(response)
    assert level == "error" and "set a webhook username" in text
    assert PostmarkSettings.get_solo().webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD


# -- the settings row cannot be read (issue 11, item 3) -------------------------------------------


def test_unreadable_settings_row_shows_the_error_not_a_500(superuser_client, tmp_path, settings):
    # The row's database is unreachable (a real closed port, or a directory for SQLite); sessions and users
    # are on the default database, which answers. settings.py holds a token a fallback would use.
    settings.POSTMARK_SERVER_TOKEN = ADMIN_TEST_TOKEN
    with settings_database_down(tmp_path):
        for response in (
            superuser_client.get(reverse(SETTINGS_URL)),
            superuser_client.post(reverse(SETTINGS_URL), form_data(message_stream="lost")),
        ):
            assert response.status_code == 503
            html = response.content.decode()
            assert "could not be read from the database" in html
            assert ADMIN_TEST_TOKEN not in html
            assert 'name="message_stream"' not in html  # no form that could not be saved
        for action in ACTIONS:
            response = superuser_client.post(
                reverse(f"admin:postmark_admin_postmarksettings_{action}"),
                {"recipient": "to@example.com", "subject": "Hi", "message_stream": "outbound"},
                follow=True,
            )
            assert response.status_code == 503  # back on the settings page, which shows the error
            [(level, text)] = messages_of(response)
            assert level == "error" and "could not be read from the database" in text
        changelist = superuser_client.get(reverse("admin:postmark_admin_webhookevent_changelist"))
        assert changelist.status_code == 200


def test_test_mode_is_a_field_of_the_row_and_the_page_warns_while_it_is_on(superuser_client):
    assert "postmark-test-mode" not in get_page(superuser_client)
    response = superuser_client.post(reverse(SETTINGS_URL), form_data(test_mode="True"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert PostmarkSettings.get_solo().test_mode is True
    html = get_page(superuser_client)
    assert '<ul class="messagelist postmark-test-mode" role="alert"><li class="warning">' in html
    assert "Test mode: Postmark validates messages but delivers nothing." in html
    assert "database PostmarkSettings.test_mode" in html
