"""Wagtail viewsets: the settings page (under Settings) and the read-only events viewer (main menu)."""

from __future__ import annotations

from django.contrib.auth.models import Permission
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import URLPattern, path
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from wagtail.admin.menu import MenuItem
from wagtail.admin.viewsets.base import ViewSet
from wagtail.admin.viewsets.model import ModelViewSet

from ..models import WebhookEvent
from ..screens import settings_page
from ..screens.query import refuse_unstorable_queries
from . import permissions, views


class SettingsMenuItem(MenuItem):
    """Shown only to users who may change the Postmark settings."""

    def is_shown(self, request: HttpRequest) -> bool:
        return permissions.settings_policy.user_has_permission(request.user, "change")


class PostmarkSettingsViewSet(ViewSet):
    """The settings page and one POST-only URL per Postmark action, under Wagtail's Settings menu."""

    name = views.SETTINGS_NAMESPACE
    url_prefix = "postmark/settings"
    icon = "mail"
    menu_label = _("Postmark")
    menu_name = "postmark-settings"
    add_to_settings_menu = True

    @cached_property
    def menu_item_class(self) -> type[MenuItem]:
        return SettingsMenuItem

    @property
    def menu_url(self) -> str:
        return views.settings_url()

    def get_urlpatterns(self) -> list[URLPattern]:
        return refuse_unstorable_queries(
            [
                path("", views.SettingsEditView.as_view(), name="edit"),
                *(
                    path(
                        f"{name.replace('_', '-')}/",
                        views.SettingsActionView.as_view(action=name),
                        name=name,
                    )
                    for name in settings_page.ACTION_NAMES
                ),
                path(
                    f"{settings_page.GENERATE_PASSWORD.replace('_', '-')}/",
                    views.GeneratePasswordView.as_view(),
                    name=settings_page.GENERATE_PASSWORD,
                ),
            ]
        )


class WebhookEventViewSet(ModelViewSet):
    """The webhook events: a filtered, searchable listing and an inspect view; no add, edit or delete."""

    model = WebhookEvent
    name = views.EVENTS_NAMESPACE
    url_prefix = "postmark/events"
    icon = "mail"
    menu_label = _("Postmark events")
    menu_name = "postmark-events"
    add_to_admin_menu = True
    inspect_view_enabled = True
    copy_view_enabled = False
    index_view_class = views.EventIndexView
    # As in the Django admin (the viewset hands it to the index view, whose own paginate_by it overrides).
    list_per_page = 100
    inspect_view_class = views.EventInspectView
    list_display = ["received_at", "event_type", "recipient", "message_id", "message_stream", "tag"]
    list_filter = ["event_type", "record_type", "message_stream", "received_at"]
    search_fields = ["recipient", "message_id", "tag"]
    # Searching goes through views.EventIndexView.search_queryset (the model is not in a search index).
    search_backend_name = None
    # The fields of the Django admin's event page, the same way (the model says which).
    inspect_view_fields = WebhookEvent.detail_fields()
    if not permissions.HAS_POLICY_REGISTRY:
        # Wagtail 7.x reads the policy from the viewset; 8.0+ from its registry (permissions.register_policies).
        permission_policy = permissions.events_policy

    def get_urlpatterns(self) -> list[URLPattern]:
        # Only the listing and the inspect view: the events are written by Postmark's webhooks alone,
        # so there is no add, edit, copy or delete URL to reach even with a forged request.
        return refuse_unstorable_queries(
            [
                path("", self.index_view, name="index"),
                path("results/", self.index_results_view, name="index_results"),
                path(f"inspect/<{self.pk_path_converter}:pk>/", self.inspect_view, name="inspect"),
            ]
        )

    def get_permissions_to_register(self) -> QuerySet[Permission]:
        # Only "view" means something here; Wagtail's group editor offers just that one.
        return super().get_permissions_to_register().filter(codename="view_webhookevent")
