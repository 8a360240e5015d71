"""Django admin registrations: the settings page, the webhook events, and the users' test-email action.

The screens live in :mod:`postmark_admin.admin.settings`, :mod:`postmark_admin.admin.events`
and :mod:`postmark_admin.admin.users`; see docs/admin.rst.
"""

from __future__ import annotations

from django.contrib import admin

from ..models import PostmarkSettings, WebhookEvent
from .events import WebhookEventAdmin
from .settings import PostmarkSettingsAdmin
from .users import install_user_action

admin.site.register(PostmarkSettings, PostmarkSettingsAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)

# django.contrib.auth's admin module is imported before this one when django.contrib.auth
# is listed before postmark_admin (the usual order).
install_user_action(admin.site)

__all__ = ["PostmarkSettingsAdmin", "WebhookEventAdmin", "install_user_action"]
