"""anymail's webhook URLs, answered by postmark_admin's views."""

from django.urls import path

from postmark_admin.webhooks.views import InboundWebhookView, TrackingWebhookView

urlpatterns = [
    path("anymail/postmark/tracking/", TrackingWebhookView.as_view()),
    path("anymail/postmark/inbound/", InboundWebhookView.as_view()),
]
