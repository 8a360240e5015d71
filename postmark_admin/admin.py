"""Django admin for the settings row."""

from __future__ import annotations

from django.contrib import admin
from solo.admin import SingletonModelAdmin

from .models import PostmarkSettings


@admin.register(PostmarkSettings)
class PostmarkSettingsAdmin(SingletonModelAdmin):
    fieldsets = [
        (None, {"fields": ["server_token", "api_url", "message_stream", "default_from_email", "timeout"]}),
        ("Webhooks", {"fields": ["webhook_username", "webhook_password"]}),
        ("Sending", {"fields": ["ignore_unsupported_features"]}),
    ]
