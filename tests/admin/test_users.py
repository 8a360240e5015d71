"""The users changelist's test-email action (postmark_admin.admin.users), through the sandbox."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import messages_of

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

USERS = "admin:auth_user_changelist"


@pytest.fixture
def operator(client, staff_factory):
    """Logged in, may see and change the users and use the Postmark API."""
    user = staff_factory("operator", "auth.view_user", "auth.change_user", "postmark_admin.use_postmark_api")
    client.force_login(user)
    return user


def test_user_action_sends_to_selected_users(client, operator, sandbox, django_user_model):
    assert "send_test_email_to_users" in client.get(reverse(USERS)).content.decode()
    nomail = django_user_model.objects.create_user("nomail", email="")
    response = client.post(
        reverse(USERS),
        {"action": "send_test_email_to_users", "_selected_action": [operator.pk, nomail.pk]},
        follow=True,
    )
    found = messages_of(response)
    assert ("success", "Sent a Postmark test email to 1 user.") in found
    assert (
        "warning",
        "1 user has no email address, so no test email was sent to them: add one on their user page.",
    ) in found
    assert [m["To"] for m in sandbox.messages] == ["operator@example.com"]


def test_user_action_reports_errors(client, operator, sandbox):
    sandbox.fail_next(
        status=422,
        error_code=406,
        message="You tried to send to recipient(s) that have been marked as inactive.",
    )
    response = client.post(
        reverse(USERS), {"action": "send_test_email_to_users", "_selected_action": [operator.pk]}, follow=True
    )
    found = messages_of(response)
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

    model_admin = admin.site.get_model_admin(get_user_model())
    assert type(model_admin) is UserAdmin
    assert send_test_email_to_users not in (UserAdmin.actions or [])  # the class is untouched
    assert install_user_action(admin.site) is True
    assert list(model_admin.actions).count(send_test_email_to_users) == 1  # idempotent
    assert install_user_action(admin.AdminSite(name="empty")) is False


def test_user_action_installed_when_a_later_app_registers_its_own_user_admin():
    """apps.ready() re-installs the action on whatever ModelAdmin holds the user model by then."""
    from django.apps import apps
    from django.contrib import admin
    from django.contrib.auth import get_user_model
    from django.contrib.auth.admin import UserAdmin

    from postmark_admin.admin.users import send_test_email_to_users

    user_model = get_user_model()
    original = admin.site.get_model_admin(user_model)
    admin.site.unregister(user_model)
    admin.site.register(user_model, UserAdmin)  # a site replacing the UserAdmin after our import
    try:
        assert send_test_email_to_users not in (admin.site.get_model_admin(user_model).actions or ())
        apps.get_app_config("postmark_admin").ready()
        assert send_test_email_to_users in admin.site.get_model_admin(user_model).actions
    finally:
        admin.site.unregister(user_model)
        admin.site._registry[user_model] = original
