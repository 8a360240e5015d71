"""Django admin registrations: the settings page, the webhook events, and the users' test-email action.

The screens live in :mod:`postmark_admin.admin_settings`, :mod:`postmark_admin.admin_events`
and :mod:`postmark_admin.admin_users`; see docs/admin.rst.
"""

from __future__ import annotations

from django.contrib import admin

from .admin_events import WebhookEventAdmin
from .admin_settings import PostmarkSettingsAdmin
from .admin_users import install_user_action
from .models import PostmarkSettings, WebhookEvent

admin.site.register(PostmarkSettings, PostmarkSettingsAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)

# django.contrib.auth's admin module is imported before this one when django.contrib.auth
# is listed before postmark_admin (the usual order).
install_user_action(admin.site)

__all__ = ["PostmarkSettingsAdmin", "WebhookEventAdmin", "install_user_action"]
