"""The Wagtail admin: settings page, Postmark actions, events viewer and permissions (needs Wagtail).

The sandbox is configured as an admin would do it, in the settings row; the action logic itself is
shared with the Django admin (postmark_admin.screens.settings_page) and tested there in more depth.
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "wagtail", reason="Wagtail is not installed (pip install 'django-postmark-admin[wagtail]')"
)

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from postmark_admin.models import PostmarkSettings, WebhookEvent
from postmark_admin.screens.settings_page import ACTION_NAMES
from tests.conftest import (
    ADMIN_TEST_TOKEN,
    ADMIN_TEST_WEBHOOK_PASSWORD,
    create_event,
    follow_action,
    messages_of,
    permission,
    settings_form_data,
)
from tests.database_down import settings_database_down

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

ACCESS = "wagtailadmin.access_admin"
CHANGE = "postmark_admin.change_postmarksettings"
API = "postmark_admin.use_postmark_api"
VIEW_EVENTS = "postmark_admin.view_webhookevent"
SETTINGS_URL = "postmark_admin_settings:edit"
EVENTS_URL = "postmark_admin_events:index"


@pytest.fixture
def operator(login):
    """May edit the settings and use the Postmark buttons, and see the events."""
    return login("operator", ACCESS, CHANGE, API, VIEW_EVENTS)


# -- the settings page -----------------------------------------------------------------------------


def test_menu_entries_and_settings_page(operator, sandbox, assert_no_secrets):
    home = operator.get(reverse("wagtailadmin_home")).content.decode()
    assert reverse(SETTINGS_URL) in home
    assert reverse(EVENTS_URL) in home

    response = operator.get(reverse(SETTINGS_URL))
    assert response.status_code == 200
    html = response.content.decode()
    assert_no_secrets(html)
    # Wagtail's own edit template, the same fields, and the shared panels.
    assert 'id="w-editor-form"' in html
    for field in ["server_token", "api_url", "message_stream", "webhook_username", "webhook_password"]:
        assert f'name="{field}"' in html
    assert "A value is stored here. Leave blank to keep it." in html
    assert 'id="postmark-effective-config"' in html
    assert "postmark-config-server_token" in html
    assert sandbox.url in html
    assert f'value="http://testserver{reverse("postmark_admin:tracking")}"' in html
    for name in ACTION_NAMES:
        assert reverse(f"postmark_admin_settings:{name}") in html


def test_saving_stores_secrets_encrypted_and_blank_keeps_them(operator, db, assert_no_secrets):
    response = operator.post(
        reverse(SETTINGS_URL),
        settings_form_data(
            server_token=ADMIN_TEST_TOKEN,
            api_url="http://127.0.0.1:9/",
            message_stream="broadcasts",
            webhook_username="hook",
            webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD,
            timeout="12.5",
            ignore_unsupported_features="True",
        ),
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    row = PostmarkSettings.get_solo()
    assert row.server_token.reveal() == ADMIN_TEST_TOKEN
    assert row.webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD
    assert (row.api_url, row.message_stream, row.timeout, row.ignore_unsupported_features) == (
        "http://127.0.0.1:9/",
        "broadcasts",
        12.5,
        True,
    )
    assert_no_secrets(operator.get(reverse(SETTINGS_URL)).content)

    # Blank secret inputs keep the stored values; the clear box empties one.
    operator.post(
        reverse(SETTINGS_URL), settings_form_data(api_url="http://127.0.0.1:9/", webhook_password_clear="on")
    )
    row = PostmarkSettings.get_solo()
    assert row.server_token.reveal() == ADMIN_TEST_TOKEN
    assert not row.webhook_password


def test_invalid_form_does_not_echo_the_typed_secret(operator, db, assert_no_secrets):
    response = operator.post(
        reverse(SETTINGS_URL), settings_form_data(server_token=ADMIN_TEST_TOKEN, api_url="nope")
    )
    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()
    assert_no_secrets(response.content)
    assert not PostmarkSettings.get_solo().server_token


# -- the actions -----------------------------------------------------------------------------------


def post_action(client, name, data=None):
    found, _html = follow_action(
        client, reverse(f"postmark_admin_settings:{name}"), reverse(SETTINGS_URL), data
    )
    return found


def test_verify_token(operator, sandbox, assert_no_secrets):
    [(level, text)] = post_action(operator, "verify_token")
    assert level == "success" and "Postmark sandbox" in text
    assert_no_secrets(text)


def test_delivery_stats(operator, sandbox):
    [(level, text)] = post_action(operator, "delivery_stats")
    assert level == "success" and text.startswith("Delivery stats:")


def test_send_test_email(operator, sandbox, assert_no_secrets):
    [(level, text)] = post_action(
        operator, "test_email", {"recipient": "jane@example.com", "subject": "Hello", "message_stream": ""}
    )
    assert level == "success", text
    [message] = sandbox.messages
    assert (message["To"], message["Subject"]) == ("jane@example.com", "Hello")
    assert "MessageID is " in text and "MessageID is ?" not in text
    assert_no_secrets(text)


def test_send_test_email_form_errors(operator, sandbox):
    [(level, text)] = post_action(operator, "test_email", {"recipient": "not-an-address", "subject": "x"})
    assert level == "error" and text.startswith("The test email was not sent.")
    assert sandbox.messages == []


def test_configure_webhook(operator, sandbox, assert_no_secrets):
    [(level, text)] = post_action(operator, "configure_webhook", {"message_stream": "outbound"})
    assert level == "success" and text.startswith("Created webhook"), text
    [(level, text)] = post_action(operator, "configure_webhook", {"message_stream": "outbound"})
    assert level == "success" and text.startswith("Updated webhook"), text
    assert_no_secrets(text)


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_actions_are_post_only(operator, sandbox, name):
    assert operator.get(reverse(f"postmark_admin_settings:{name}")).status_code == 405


# -- permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("perms", "settings_status", "actions_status", "events_status"),
    [
        pytest.param((), 403, 403, 403, id="no-postmark-permission"),
        pytest.param((CHANGE,), 200, 403, 403, id="settings-only"),
        pytest.param((API,), 403, 403, 403, id="api-without-settings"),
        pytest.param((VIEW_EVENTS,), 403, 403, 200, id="events-only"),
    ],
)
def test_permissions(login, sandbox, perms, settings_status, actions_status, events_status):
    client = login("editor", ACCESS, *perms)
    home = client.get(reverse("wagtailadmin_home")).content.decode()
    assert (reverse(SETTINGS_URL) in home) == (settings_status == 200)
    assert (reverse(EVENTS_URL) in home) == (events_status == 200)

    page = client.get(reverse(SETTINGS_URL))
    assert page.status_code == settings_status
    if settings_status == 200:
        # Without the API permission the page shows no Postmark buttons.
        assert 'id="postmark-actions"' not in page.content.decode()
    for name in ACTION_NAMES:
        assert client.post(reverse(f"postmark_admin_settings:{name}")).status_code == actions_status
    assert sandbox.requests == []
    assert client.get(reverse(EVENTS_URL)).status_code == events_status


def test_anonymous_users_are_sent_to_the_login_page(client, sandbox):
    for url in [reverse(SETTINGS_URL), reverse(EVENTS_URL), reverse("postmark_admin_settings:verify_token")]:
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_group_editor_offers_the_postmark_permissions(login):
    html = login("root", superuser=True).get(reverse("wagtailusers_groups:add")).content.decode()
    for name in [CHANGE, API, VIEW_EVENTS]:
        assert f'value="{permission(name).pk}"' in html, name
    for codename in ["add_webhookevent", "change_webhookevent", "delete_webhookevent"]:
        assert f'value="{permission("postmark_admin." + codename).pk}"' not in html, codename


def test_permissions_granted_through_a_wagtail_group(client, django_user_model, sandbox):
    from django.contrib.auth.models import Group

    group = Group.objects.create(name="Postmark operators")
    for perm in [ACCESS, CHANGE, API]:
        group.permissions.add(permission(perm))
    user = django_user_model.objects.create_user("member", password="pw")
    user.groups.add(group)
    client.force_login(user)
    assert client.get(reverse(SETTINGS_URL)).status_code == 200
    [(level, _text)] = post_action(client, "verify_token")
    assert level == "success"


# -- the events viewer -----------------------------------------------------------------------------


@pytest.fixture
def events(db):
    return [
        create_event(1),
        create_event(2, "bounced", tag="welcome", metadata={"order": "42"}),
        create_event(3, message_stream="broadcast", received_at=timezone.now() - timezone.timedelta(days=3)),
    ]


def listed(client, **params):
    response = client.get(reverse(EVENTS_URL), params)
    assert response.status_code == 200
    html = response.content.decode()
    return {event.recipient for event in WebhookEvent.objects.all() if event.recipient in html}


def test_events_listing_filters_and_search(operator, events):
    assert listed(operator) == {"user1@example.com", "user2@example.com", "user3@example.com"}
    assert listed(operator, event_type="bounced") == {"user2@example.com"}
    assert listed(operator, record_type="Delivery") == {"user1@example.com", "user3@example.com"}
    assert listed(operator, message_stream="broadcast") == {"user3@example.com"}
    # Exact recipient, message ID or tag, or a recipient prefix: the same search as the Django admin.
    assert listed(operator, q="user1@example.com") == {"user1@example.com"}
    assert listed(operator, q="message-3") == {"user3@example.com"}
    assert listed(operator, q="welcome") == {"user2@example.com"}
    assert listed(operator, q="user*") == {"user1@example.com", "user2@example.com", "user3@example.com"}
    response = operator.get(reverse("postmark_admin_events:index_results"), {"q": "user2@example.com"})
    assert response.status_code == 200 and "user2@example.com" in response.content.decode()


def test_events_inspect_view_shows_the_payload(operator, events):
    event = events[1]
    response = operator.get(reverse("postmark_admin_events:inspect", args=[event.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "user2@example.com" in html and "Bounce" in html
    assert "&quot;order&quot;: &quot;42&quot;" in html
    assert 'class="postmark-payload"' in html


def test_events_cannot_be_added_edited_or_deleted(login, events):
    # Even a superuser finds no add, edit or delete URL, and no button leading to one.
    client = login("root", superuser=True)
    for name, args in [("add", []), ("edit", [events[0].pk]), ("delete", [events[0].pk])]:
        with pytest.raises(NoReverseMatch):
            reverse(f"postmark_admin_events:{name}", args=args)
    html = client.get(reverse(EVENTS_URL)).content.decode()
    assert "/postmark/events/new/" not in html and "/postmark/events/edit/" not in html
    inspect = client.get(reverse("postmark_admin_events:inspect", args=[events[0].pk])).content.decode()
    assert "/postmark/events/delete/" not in inspect


def test_events_listing_query_count_does_not_grow_with_rows(operator, events, django_assert_max_num_queries):
    with django_assert_max_num_queries(30) as captured:
        operator.get(reverse(EVENTS_URL))
    few = len(captured.captured_queries)
    for number in range(4, 40):
        create_event(number)
    with django_assert_max_num_queries(few):
        operator.get(reverse(EVENTS_URL))


# -- no address gives a 5xx (tests/screens/test_hostile_input.py walks every screen) ----------------


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        ("abc", "Page 1 of 2"),  # not a number: the first page, as Wagtail's own listings do
        ("0", "Page 2 of 2"),  # not a page: the last page
        ("-1", "Page 2 of 2"),
        ("999999", "Page 2 of 2"),
        ("99999999999999999999", "Page 2 of 2"),
        ("2", "Page 2 of 2"),
    ],
)
@pytest.mark.parametrize("view", [EVENTS_URL, "postmark_admin_events:index_results"])
def test_events_listing_answers_any_page_number_as_wagtail_does(
    operator, events, monkeypatch, view, page, shown
):
    # The listing's paginator was Django's: get_elided_page_range() raised on "abc", 0 and 999999 (a 500).
    from postmark_admin.wagtail.views import EventIndexView

    monkeypatch.setattr(EventIndexView, "get_paginate_by", lambda self, queryset: 2)
    response = operator.get(reverse(view), {"p": page})
    assert response.status_code == 200
    assert shown in response.content.decode()


def test_events_listing_says_more_than_the_capped_count(operator, events, monkeypatch):
    from postmark_admin.screens import events as screen_events

    monkeypatch.setattr(screen_events, "COUNT_CAP", 2)
    monkeypatch.setattr("postmark_admin.wagtail.views.COUNT_CAP", 2)
    html = operator.get(reverse(EVENTS_URL)).content.decode()
    assert "More than 2 webhook events" in html


@pytest.mark.parametrize(
    "query",
    ["q=%00", "record_type=%00", "message_stream=a%00b", "event_type=%00", "p=%00", "%00=1"],
)
@pytest.mark.parametrize("view", [EVENTS_URL, "postmark_admin_events:index_results"])
def test_events_listing_refuses_nul_before_the_database(operator, events, view, query):
    # PostgreSQL refuses NUL in text: a search or filter value holding one was a 500 there.
    response = operator.get(f"{reverse(view)}?{query}")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


def test_events_listing_shows_100_events_a_page_as_the_django_admin_does(operator, events):
    # The viewset's list_per_page (Wagtail's default 20) used to override the view's paginate_by.
    assert operator.get(reverse(EVENTS_URL)).context["paginator"].per_page == 100


# -- the webhook password: warnings and the generate button ----------------------------------------

GENERATE_URL = "postmark_admin_settings:generate_webhook_password"


def test_settings_page_warns_about_a_short_password_and_plain_http(operator, db):
    PostmarkSettings.objects.create(webhook_username="hook", webhook_password="short-pw")
    html = operator.get(reverse(SETTINGS_URL)).content.decode()
    assert "is shorter than 16 characters" in html
    assert "Postmark would send the webhook password unencrypted" in html  # http://testserver
    assert "short-pw" not in html
    PostmarkSettings.objects.update(webhook_password="a-long-enough-password")
    html = operator.get(reverse(SETTINGS_URL), secure=True).content.decode()
    assert "is shorter than" not in html and "unencrypted" not in html


def test_generate_a_webhook_password_shows_it_once(operator, sandbox, assert_no_secrets):
    assert reverse(GENERATE_URL) in operator.get(reverse(SETTINGS_URL)).content.decode()
    assert operator.get(reverse(GENERATE_URL)).status_code == 405

    response = operator.post(reverse(GENERATE_URL))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    page = response.content.decode()
    password = PostmarkSettings.get_solo().webhook_password.reveal()
    assert len(password) == 43
    assert f'value="{password}"' in page
    assert 'id="postmark-configure-webhook"' in page
    assert_no_secrets(page)
    assert password not in operator.get(reverse(SETTINGS_URL)).content.decode()

    [(level, _text)] = post_action(operator, "configure_webhook", {"message_stream": "outbound"})
    assert level == "success"
    assert sandbox.webhooks[0]["HttpAuth"]["Password"] == password


def test_generate_needs_the_change_permission(login, sandbox):
    client = login("apionly", ACCESS, API)
    assert client.post(reverse(GENERATE_URL)).status_code == 403
    assert PostmarkSettings.get_solo().webhook_password.reveal() == ADMIN_TEST_WEBHOOK_PASSWORD


# -- the settings row cannot be read (issue 11, item 3) -------------------------------------------


def test_unreadable_settings_row_shows_the_error_not_a_500(operator, tmp_path, settings):
    # The row's database is unreachable (a real closed port, or a directory for SQLite); sessions and users
    # are on the default database, which answers. settings.py holds a token a fallback would use.
    settings.POSTMARK_SERVER_TOKEN = ADMIN_TEST_TOKEN
    with settings_database_down(tmp_path):
        for response in (
            operator.get(reverse(SETTINGS_URL)),
            operator.post(reverse(SETTINGS_URL), settings_form_data(message_stream="lost")),
        ):
            assert response.status_code == 503
            html = response.content.decode()
            assert "could not be read from the database" in html
            assert ADMIN_TEST_TOKEN not in html
            assert 'name="message_stream"' not in html  # no form that could not be saved
        for name in ACTION_NAMES:
            response = operator.post(
                reverse(f"postmark_admin_settings:{name}"),
                {"recipient": "to@example.com", "subject": "Hi", "message_stream": "outbound"},
            )
            assert response.status_code == 302
            page = operator.get(response["Location"])
            assert page.status_code == 503
            [(level, text)] = messages_of(page)
            assert level == "error" and "could not be read from the database" in text
        assert operator.get(reverse(EVENTS_URL)).status_code == 200


def test_the_settings_page_warns_while_test_mode_is_on(operator, sandbox, settings):
    html = operator.get(reverse(SETTINGS_URL)).content.decode()
    assert "postmark-test-mode" not in html and 'name="test_mode"' in html
    settings.POSTMARK_TEST_MODE = True
    html = operator.get(reverse(SETTINGS_URL)).content.decode()
    assert 'class="help-block help-warning postmark-test-mode" role="alert"' in html
    assert "Test mode: Postmark validates messages but delivers nothing." in html
