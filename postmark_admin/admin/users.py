"""The "Send a Postmark test email to the selected users" action on the users changelist.

The action is added to whatever ModelAdmin is registered for the user model, so a site's
own UserAdmin keeps working: :func:`install_user_action` runs when ``postmark_admin.admin``
is imported by the admin's autodiscovery. A site that registers its UserAdmin later (in an
app listed after ``postmark_admin``) calls it again from its ``AppConfig.ready()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..screens import actions
from ..screens.settings_page import API_PERMISSION, has_api_permission
from .guards import check_selection_first

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

#: The site's user model.
_User = TypeVar("_User", bound="AbstractBaseUser")

#: The action's permission, as a ModelAdmin action names it: the codename of API_PERMISSION.
PERMISSION = API_PERMISSION.partition(".")[2]


@admin.action(description=_("Send a Postmark test email to the selected users"), permissions=[PERMISSION])
def send_test_email_to_users(
    modeladmin: admin.ModelAdmin[_User], request: HttpRequest, queryset: QuerySet[_User]
) -> None:
    """Send the settings page's test email to each selected user that has an address."""
    if not has_api_permission(request):
        # The action is hidden without the permission; a forged POST still gets nothing.
        modeladmin.message_user(
            request,
            gettext(
                "You may not send test emails: that needs the permission “Can send test emails and call "
                "Postmark from the admin”, which a superuser can give you on your user or group page."
            ),
            messages.ERROR,
        )
        return
    email_field = get_user_model().get_email_field_name()
    sent = 0
    skipped = 0
    for user in queryset:
        address = getattr(user, email_field, "") or ""
        if not address:
            skipped += 1
            continue
        outcome = actions.send_test_email(address, gettext("Postmark test email"))
        if outcome.ok:
            sent += 1
        else:
            modeladmin.message_user(request, outcome.message, messages.ERROR)
    if sent:
        modeladmin.message_user(
            request,
            ngettext(
                "Sent a Postmark test email to %(count)d user.",
                "Sent a Postmark test email to %(count)d users.",
                sent,
            )
            % {"count": sent},
            messages.SUCCESS,
        )
    if skipped:
        modeladmin.message_user(
            request,
            ngettext(
                "%(count)d user has no email address, so no test email was sent to them: add one on "
                "their user page.",
                "%(count)d users have no email address, so no test email was sent to them: add one on "
                "their user pages.",
                skipped,
            )
            % {"count": skipped},
            messages.WARNING,
        )


def install_user_action(site: admin.AdminSite | None = None) -> bool:
    """Add the action to the ModelAdmin registered for the user model on ``site``; idempotent.

    Returns whether a ModelAdmin was found. The ModelAdmin instance (not its class) is changed,
    so other admin sites and the class itself are left alone.
    """
    site = site or admin.site
    user_model = get_user_model()
    if not site.is_registered(user_model):
        return False
    model_admin = site.get_model_admin(user_model)
    current = list(model_admin.actions or ())
    if send_test_email_to_users not in current:
        model_admin.actions = [*current, send_test_email_to_users]
    # Django asks the ModelAdmin's has_<permission>_permission(request) before offering the action.
    setattr(model_admin, f"has_{PERMISSION}_permission", has_api_permission)
    # Django's admin filters by a forged selection (_selected_action=abc) as it is: a 500.
    check_selection_first(model_admin)
    return True
