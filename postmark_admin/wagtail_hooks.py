"""Wagtail's hooks: the Postmark settings (Settings menu), its actions, and the events viewer.

Wagtail imports this module itself when ``wagtail`` is in INSTALLED_APPS; nothing else in
postmark_admin imports Wagtail. See docs/wagtail.rst.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _
from wagtail import hooks

from .wagtail import desk, permissions
from .wagtail.viewsets import PostmarkSettingsViewSet, WebhookEventViewSet

if TYPE_CHECKING:
    from typing import Any

    from django.contrib.auth.models import Permission
    from django.db.models import QuerySet
    from django.http import HttpRequest
    from wagtail.admin.viewsets.base import ViewSet
    from wagtail.log_actions import LogActionRegistry

# Wagtail 8.0 refuses a custom policy once a view has asked for the model's default one: register first.
permissions.register_policies()


@hooks.register("register_admin_viewset")
def register_viewsets() -> list[ViewSet]:
    return [PostmarkSettingsViewSet(), WebhookEventViewSet(), desk.DeskViewSet()]


# Wagtail takes one menu item per hook function: the desk's three entries under Reports.
for _number in range(len(desk.MENU_ITEMS)):
    hooks.register("register_reports_menu_item", functools.partial(desk.reports_menu_item, _number))


@hooks.register("construct_homepage_panels")
def add_desk_summary(request: HttpRequest, panels: list[Any]) -> None:
    panels.append(desk.SummaryPanel(request))


@hooks.register("register_log_actions")
def register_desk_log_actions(actions: LogActionRegistry) -> None:
    actions.register_action(
        desk.REACTIVATE_ACTION, _("Reactivate suppression"), _("Reactivated an address Postmark suppressed")
    )


@hooks.register("register_permissions")
def register_permissions() -> QuerySet[Permission]:
    return permissions.permissions_to_register()
