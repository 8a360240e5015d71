"""The settings page: the singleton's change form, the effective configuration, and the Postmark actions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from solo.admin import SingletonModelAdmin

from . import admin_actions, admin_status
from .conf import effective_config
from .forms import SecretInput, TestEmailForm, WebhookStreamForm

#: The permission every button that talks to Postmark needs.
API_PERMISSION = "postmark_admin.use_postmark_api"


def has_api_permission(request: HttpRequest) -> bool:
    """Whether the user may send test emails and call Postmark from the admin."""
    return request.user.is_active and request.user.has_perm(API_PERMISSION)


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
            field.widget.effective_note = admin_status.secret_source_note(effective_config(), db_field.name)
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
            "config_rows": admin_status.config_rows(config),
            "webhook_urls": admin_status.webhook_urls(request),
            "webhook_username": admin_status.webhook_username(config),
            "event_counts": admin_status.recent_event_counts(timezone.now()),
            "events_changelist_url": self._events_changelist_url(),
            "can_use_api": can_use_api,
            **(extra_context or {}),
        }
        if can_use_api:
            context["test_email_form"] = TestEmailForm(
                initial={
                    "recipient": getattr(request.user, "email", ""),
                    "subject": gettext("Postmark test email"),
                    "message_stream": "",
                },
                auto_id="id_test_%s",
            )
            context["webhook_form"] = WebhookStreamForm(
                initial={"message_stream": config.message_stream}, auto_id="id_webhook_%s"
            )
            context["action_urls"] = {name: reverse(self._url_name(name)) for name, _view in self._actions()}
        return super().change_view(request, object_id, form_url=form_url, extra_context=context)

    def _field_label(self, name: str) -> str:
        return str(self.model._meta.get_field(name).verbose_name)

    def _events_changelist_url(self) -> str | None:
        from .models import WebhookEvent

        if WebhookEvent not in self.admin_site._registry:
            return None
        return reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")

    # -- the actions -------------------------------------------------------------------------------

    def _actions(self) -> list[tuple[str, Callable[[HttpRequest], admin_actions.Outcome]]]:
        return [
            ("test_email", self._send_test_email),
            ("verify_token", lambda request: admin_actions.verify_server_token()),
            ("configure_webhook", self._configure_webhook),
            ("delivery_stats", lambda request: admin_actions.delivery_stats()),
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
        self, perform: Callable[[HttpRequest], admin_actions.Outcome]
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

    def _send_test_email(self, request: HttpRequest) -> admin_actions.Outcome:
        form = TestEmailForm(request.POST)
        if not form.is_valid():
            return admin_actions.Outcome(False, _form_errors(gettext("The test email was not sent."), form))
        return admin_actions.send_test_email(
            form.cleaned_data["recipient"], form.cleaned_data["subject"], form.cleaned_data["message_stream"]
        )

    def _configure_webhook(self, request: HttpRequest) -> admin_actions.Outcome:
        form = WebhookStreamForm(request.POST)
        if not form.is_valid():
            return admin_actions.Outcome(
                False, _form_errors(gettext("The webhook was not configured."), form)
            )
        return admin_actions.configure_webhook(
            admin_status.tracking_url(request), form.cleaned_data["message_stream"]
        )


def _form_errors(lead: str, form: Any) -> str:
    problems = [
        f"{form.fields[name].label}: {' '.join(str(error) for error in errors)}"
        for name, errors in form.errors.items()
    ]
    return f"{lead} {' '.join(problems)}"
