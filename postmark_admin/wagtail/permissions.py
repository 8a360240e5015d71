"""Wagtail permission policies: Django's model permissions, which Wagtail's group editor assigns.

* the settings page: ``postmark_admin.change_postmarksettings``;
* its Postmark buttons: also ``postmark_admin.use_postmark_api`` (as in the Django admin);
* the events viewer: ``postmark_admin.view_webhookevent``; nobody may add, edit or delete events.

Wagtail 8.0 wants custom policies registered with ``wagtail.permissions.register_permission_policy``
before any view asks for them; Wagtail 7.x has no registry and reads the viewset's
``permission_policy``. :func:`register_policies` handles both.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db.models import QuerySet
from wagtail.permission_policies import ModelPermissionPolicy

from ..models import PostmarkSettings, WebhookEvent

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser, Permission

try:  # Wagtail 8.0+
    from wagtail.permissions import register_permission_policy
except ImportError:  # Wagtail 7.x
    register_permission_policy = None

#: Whether Wagtail looks policies up in its registry (8.0+) rather than on the viewset.
HAS_POLICY_REGISTRY = register_permission_policy is not None


class ReadOnlyPermissionPolicy(ModelPermissionPolicy):
    """Only the ``view`` action is ever granted: the events are written by Postmark's webhooks alone."""

    allowed_actions = frozenset({"view"})

    def user_has_permission(self, user: AbstractBaseUser | AnonymousUser, action: str) -> bool:
        return action in self.allowed_actions and super().user_has_permission(user, action)

    def user_has_any_permission(self, user: AbstractBaseUser | AnonymousUser, actions: Iterable[str]) -> bool:
        return any(self.user_has_permission(user, action) for action in actions)

    def users_with_any_permission(self, actions: Iterable[str]) -> QuerySet[AbstractBaseUser]:
        return super().users_with_any_permission([a for a in actions if a in self.allowed_actions])


settings_policy = ModelPermissionPolicy(PostmarkSettings)
events_policy = ReadOnlyPermissionPolicy(WebhookEvent)

_registered = False


def register_policies() -> None:
    """Register the policies with Wagtail 8's registry (a no-op on 7.x, and when already done)."""
    global _registered
    if register_permission_policy is None or _registered:
        return
    register_permission_policy(PostmarkSettings, settings_policy)
    register_permission_policy(WebhookEvent, events_policy)
    _registered = True


def permissions_to_register() -> QuerySet[Permission]:
    """The settings page's and the desk's Permission rows for Wagtail's group editor (the events viewset
    adds its own)."""
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(
        content_type__app_label="postmark_admin",
        codename__in=[
            "change_postmarksettings",
            "use_postmark_api",
            # The deliverability desk (postmark_admin.wagtail.desk).
            "view_sentmessage",
            "reactivate_suppression",
        ],
    )
