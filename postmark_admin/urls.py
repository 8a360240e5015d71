"""Postmark's webhook URLs: ``path("postmark/", include("postmark_admin.urls"))``.

The names ``postmark_admin:tracking`` and ``postmark_admin:inbound`` are what the
system checks and the admin look up.
"""

from django.urls import path

from .webhooks.views import InboundWebhookView, TrackingWebhookView

app_name = "postmark_admin"

urlpatterns = [
    path("tracking/", TrackingWebhookView.as_view(), name="tracking"),
    path("inbound/", InboundWebhookView.as_view(), name="inbound"),
    # Without the slash too: APPEND_SLASH cannot redirect a POST without losing its body.
    path("tracking", TrackingWebhookView.as_view()),
    path("inbound", InboundWebhookView.as_view()),
]
