"""Django admin registrations: the settings page, the webhook events, the deliverability desk,
and the users' test-email action.

The screens live in :mod:`postmark_admin.admin.settings`, :mod:`postmark_admin.admin.events`
and :mod:`postmark_admin.admin.users`; see docs/admin.rst.
"""

from __future__ import annotations

from django.contrib import admin

from ..models import PostmarkSettings, SentMessage, WebhookEvent
from .desk import SentMessageAdmin
from .events import WebhookEventAdmin
from .index_summary import install_index_summary
from .settings import PostmarkSettingsAdmin
from .users import install_user_action

admin.site.register(PostmarkSettings, PostmarkSettingsAdmin)
admin.site.register(WebhookEvent, WebhookEventAdmin)
admin.site.register(SentMessage, SentMessageAdmin)

# django.contrib.auth's admin module is imported before this one when django.contrib.auth
# is listed before postmark_admin (the usual order).
install_user_action(admin.site)
# The desk's summary on the admin's index page (docs/desk.rst).
install_index_summary(admin.site)

__all__ = [
    "PostmarkSettingsAdmin",
    "SentMessageAdmin",
    "WebhookEventAdmin",
    "install_index_summary",
    "install_user_action",
]
