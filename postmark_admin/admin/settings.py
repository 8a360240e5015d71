"""The settings page: the singleton's change form, the effective configuration, and the Postmark actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from solo.admin import SingletonModelAdmin

from ..config.effective import effective_config
from ..config.secret_form import SecretInput
from ..screens import actions, panels, settings_page

# The panels' data and the actions are shared with the Wagtail admin (postmark_admin.screens.settings_page).
API_PERMISSION = settings_page.API_PERMISSION
has_api_permission = settings_page.has_api_permission


class PostmarkSettingsAdmin(SingletonModelAdmin):
    """The Postmark settings page; see docs/admin.rst."""

    change_form_template = "admin/postmark_admin/postmarksettings/change_form.html"
    fieldsets = [
        (
            _("Sending"),
            {"fields": ["server_token", "api_url", "message_stream", "default_from_email", "timeout"]},
        ),
        (
            _("Webhooks"),
            {
                "fields": ["webhook_username", "webhook_password"],
                "description": _(
                    "The HTTP basic auth credentials Postmark must send to this site's webhook URLs."
                ),
            },
        ),
        (_("Compatibility"), {"fields": ["ignore_unsupported_features"]}),
    ]
    readonly_fields = ["updated_at"]

    class Media:
        css = {"all": ["postmark_admin/admin.css"]}

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.fieldsets, (_("History"), {"fields": ["updated_at"]})]

    def formfield_for_dbfield(self, db_field: models.Field, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None and isinstance(field.widget, SecretInput):
            field.widget.effective_note = panels.secret_source_note(effective_config(), db_field.name)
        return field

    # -- the page ----------------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        config = effective_config()
        if request.method == "GET" and config.undecryptable:
            messages.error(
                request,
                gettext(
                    "A secret stored in the database cannot be decrypted with SECRET_KEY or "
                    "SECRET_KEY_FALLBACKS (%(fields)s): it is ignored until you enter it again."
                )
                % {"fields": ", ".join(self._field_label(name) for name in config.undecryptable)},
            )
        can_use_api = has_api_permission(request)
        context = {
            **settings_page.page_context(request, config, can_use_api),
            "events_changelist_url": self._events_changelist_url(),
            **(extra_context or {}),
        }
        if can_use_api:
            context["action_urls"] = {name: reverse(self._url_name(name)) for name, _view in self._actions()}
        return super().change_view(request, object_id, form_url=form_url, extra_context=context)

    def _field_label(self, name: str) -> str:
        return str(self.model._meta.get_field(name).verbose_name)

    def _events_changelist_url(self) -> str | None:
        from ..models import WebhookEvent

        if WebhookEvent not in self.admin_site._registry:
            return None
        return reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")

    # -- the actions -------------------------------------------------------------------------------

    def _actions(self) -> list[tuple[str, Callable[[HttpRequest], actions.Outcome]]]:
        return [
            (name, lambda request, name=name: settings_page.run_action(name, request))
            for name in settings_page.ACTION_NAMES
        ]

    def _url_name(self, action: str) -> str:
        return f"{self.admin_site.name}:postmark_admin_postmarksettings_{action}"

    def get_urls(self) -> list[URLPattern]:
        action_urls = [
            path(
                f"{name.replace('_', '-')}/",
                self.admin_site.admin_view(require_POST(self._action_view(perform))),
                name=f"postmark_admin_postmarksettings_{name}",
            )
            for name, perform in self._actions()
        ]
        return action_urls + super().get_urls()

    def _action_view(
        self, perform: Callable[[HttpRequest], actions.Outcome]
    ) -> Callable[[HttpRequest], HttpResponse]:
        def view(request: HttpRequest) -> HttpResponse:
            if not (self.has_view_or_change_permission(request) and has_api_permission(request)):
                raise PermissionDenied
            outcome = perform(request)
            self.message_user(request, outcome.message, messages.SUCCESS if outcome.ok else messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:postmark_admin_postmarksettings_change")
            )

        return view
