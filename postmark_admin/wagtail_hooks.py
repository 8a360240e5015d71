"""Wagtail's hooks: the Postmark settings (Settings menu), its actions, and the events viewer.

Wagtail imports this module itself when ``wagtail`` is in INSTALLED_APPS; nothing else in
postmark_admin imports Wagtail. See docs/wagtail.rst.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wagtail import hooks

from .wagtail import permissions
from .wagtail.viewsets import PostmarkSettingsViewSet, WebhookEventViewSet

if TYPE_CHECKING:
    from django.contrib.auth.models import Permission
    from django.db.models import QuerySet
    from wagtail.admin.viewsets.base import ViewSet

# Wagtail 8.0 refuses a custom policy once a view has asked for the model's default one: register first.
permissions.register_policies()


@hooks.register("register_admin_viewset")
def register_viewsets() -> list[ViewSet]:
    return [PostmarkSettingsViewSet(), WebhookEventViewSet()]


@hooks.register("register_permissions")
def register_permissions() -> QuerySet[Permission]:
    return permissions.permissions_to_register()
