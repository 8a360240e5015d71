"""Secrets that cannot go in an HTTP header: refused by both admins' forms with a field error, and a
token stored behind the form's back makes every action answer with a message, never a 500."""

from __future__ import annotations

import pytest
from django.urls import reverse

from postmark_admin.models import PostmarkSettings
from tests.conftest import ADMIN_TEST_TOKEN, follow_action, settings_form_data

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

ZWSP_TOKEN = ADMIN_TEST_TOKEN + "\u200b"
ADMIN_URL = "admin:postmark_admin_postmarksettings_change"
WAGTAIL_URL = "postmark_admin_settings:edit"
ACTIONS = {
    "test_email": {"recipient": "jane@example.com", "subject": "Hi", "message_stream": ""},
    "verify_token": {},
    "configure_webhook": {"message_stream": "outbound"},
    "delivery_stats": {},
}

BAD_VALUES = [
    ("server_token", ZWSP_TOKEN, "contains an invisible character (U+200B ZERO WIDTH SPACE) at position 50"),
    ("server_token", "tok€en", "contains the character '€' (U+20AC EURO SIGN) at position 4"),
    ("webhook_password", "pass\u200bword", "contains an invisible character (U+200B ZERO WIDTH SPACE)"),
    ("webhook_password", "pass\rword", "contains a control character (U+000D)"),
    ("webhook_username", "hook\u00a0user", "contains an invisible character (U+00A0 NO-BREAK SPACE)"),
]


def _wagtail_or_skip():
    pytest.importorskip("wagtail", reason="Wagtail is not installed")


@pytest.mark.parametrize(("field", "value", "expected"), BAD_VALUES)
@pytest.mark.parametrize("admin", ["django", "wagtail"])
def test_the_settings_form_refuses_unsendable_secrets(
    admin, field, value, expected, login, assert_no_secrets
):
    if admin == "wagtail":
        _wagtail_or_skip()
        client = login("editor", "wagtailadmin.access_admin", "postmark_admin.change_postmarksettings")
        data = settings_form_data(**{field: value})
    else:
        client = login("editor", "postmark_admin.change_postmarksettings")
        data = settings_form_data(_save="Save", **{field: value})
    response = client.post(reverse(ADMIN_URL if admin == "django" else WAGTAIL_URL), data)
    assert response.status_code == 200
    assert expected.replace("'", "&#x27;") in response.content.decode()
    form = response.context["form"] if admin == "wagtail" else response.context["adminform"].form
    assert expected in " ".join(form.errors[field])
    assert_no_secrets(response.content)
    row = PostmarkSettings.get_solo()
    assert not getattr(row, field)


@pytest.fixture
def bad_token_row(sandbox):
    """The sandbox's row, with its token replaced behind the form's back (no validation runs)."""
    row = PostmarkSettings.objects.get()
    row.server_token = ZWSP_TOKEN
    row.save()
    return sandbox


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("admin", ["django", "wagtail"])
def test_actions_with_an_unsendable_stored_token_answer_with_a_message(admin, name, bad_token_row, login):
    if admin == "wagtail":
        _wagtail_or_skip()
        client = login(
            "operator",
            "wagtailadmin.access_admin",
            "postmark_admin.change_postmarksettings",
            "postmark_admin.use_postmark_api",
        )
        urls = reverse(f"postmark_admin_settings:{name}"), reverse(WAGTAIL_URL)
    else:
        client = login(
            "operator", "postmark_admin.change_postmarksettings", "postmark_admin.use_postmark_api"
        )
        urls = reverse(f"admin:postmark_admin_postmarksettings_{name}"), reverse(ADMIN_URL)
    found, _html = follow_action(client, *urls, ACTIONS[name])
    [(level, text)] = found
    assert level == "error"
    assert "U+200B" in text and ADMIN_TEST_TOKEN not in text
    assert bad_token_row.requests == []
