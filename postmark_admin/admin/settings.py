"""The settings page: the singleton's change form, the effective configuration, and the Postmark actions."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import django
from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import translation
from django.utils.cache import add_never_cache_headers
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from solo.admin import SingletonModelAdmin

from ..config.api_hosts import ApiUrlChange, guard_api_url_change
from ..config.mailers import mailer_config
from ..exceptions import PostmarkSettingsUnavailable
from ..models import PostmarkSettings, WebhookEvent
from ..screens import actions, settings_page
from .guards import CheckedInputAdmin

#: The Django admin also shows when the row last changed, after the groups both admins show.
HISTORY = settings_page.FieldGroup(_("History"), ("updated_at",))


class PostmarkSettingsAdmin(CheckedInputAdmin, SingletonModelAdmin):
    """The Postmark settings page; see docs/admin.rst."""

    change_form_template = "admin/postmark_admin/postmarksettings/change_form.html"
    fieldsets = [
        (group.heading, {"fields": group.fields, "description": group.description})
        for group in (*settings_page.FIELD_GROUPS, HISTORY)
    ]
    readonly_fields = ["updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The API URL change a form being saved makes, from save_form to construct_change_message.
        self._api_url_changes: weakref.WeakKeyDictionary[Any, ApiUrlChange] = weakref.WeakKeyDictionary()

    class Media:
        css = {"all": ["postmark_admin/admin.css"]}

    def formfield_for_dbfield(
        self, db_field: models.Field[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> forms.Field | None:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if field is not None:
            settings_page.note_secret_source(db_field.name, field, mailer_config())
        return field

    # -- saving: the token never follows the API URL to another origin ------------------------------

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        api_url_change = guard_api_url_change(form)
        if api_url_change is not None:
            self._api_url_changes[form] = api_url_change
            level = messages.WARNING if api_url_change.token_cleared else messages.INFO
            self.message_user(request, api_url_change.user_message(), level)
        return super().save_form(request, form, change)

    def construct_change_message(
        self, request: HttpRequest, form: Any, formsets: Any, add: bool = False
    ) -> list[dict[str, dict[str, list[str]]]]:
        message = super().construct_change_message(request, form, formsets, add)
        api_url_change = self._api_url_changes.pop(form, None)
        if api_url_change is not None:
            # The log shows it as "Changed API URL origin from ... to ...; the stored server token was cleared."
            message.append({"changed": {"fields": [api_url_change.log_message()]}})
        return message

    # -- the page ----------------------------------------------------------------------------------

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        try:
            config = mailer_config()
        except PostmarkSettingsUnavailable as error:
            return self._unavailable(request, error)
        if request.method == "GET" and config.undecryptable:
            messages.error(
                request,
                gettext(
                    "A secret stored in the database cannot be decrypted with SECRET_KEY or "
                    "SECRET_KEY_FALLBACKS (%(fields)s): it is ignored until you enter it again below, or "
                    "until the previous SECRET_KEY is added to SECRET_KEY_FALLBACKS in settings.py."
                )
                % {"fields": ", ".join(self._field_label(name) for name in config.undecryptable)},
            )
        can_use_api = settings_page.has_api_permission(request)
        context = {
            **settings_page.page_context(request, config, can_use_api),
            "events_changelist_url": self._events_changelist_url(),
            # Django 6.1 styles breadcrumbs written as <ol class="breadcrumbs">, earlier ones a <div>.
            "breadcrumbs_as_list": django.VERSION >= (6, 1),
            **(extra_context or {}),
        }
        if self.has_change_permission(request):
            context["generate_password_url"] = reverse(self._url_name(settings_page.GENERATE_PASSWORD))
        if can_use_api:
            context["action_urls"] = {
                name: reverse(self._url_name(name)) for name in settings_page.ACTION_NAMES
            }
        return super().change_view(request, object_id, form_url=form_url, extra_context=context)

    def _unavailable(self, request: HttpRequest, error: PostmarkSettingsUnavailable) -> HttpResponse:
        """The page while the settings row cannot be read: the error, not a form (nor a 500)."""
        context = {
            **self.admin_site.each_context(request),
            "title": self.model._meta.verbose_name,
            "opts": self.model._meta,
            "error": str(error),
        }
        template = "admin/postmark_admin/postmarksettings/unavailable.html"
        return TemplateResponse(request, template, context, status=503)

    def _field_label(self, name: str) -> str:
        labels = {field.name: field.verbose_name for field in PostmarkSettings._meta.fields}
        return str(labels[name])

    def _events_changelist_url(self) -> str | None:
        if not self.admin_site.is_registered(WebhookEvent):
            return None
        return reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")

    # -- the actions -------------------------------------------------------------------------------

    def _url_name(self, action: str) -> str:
        return f"{self.admin_site.name}:postmark_admin_postmarksettings_{action}"

    def get_urls(self) -> list[URLPattern]:
        action_urls: list[URLPattern] = [
            path(
                f"{name.replace('_', '-')}/",
                self.admin_site.admin_view(require_POST(self._action_view(name))),
                name=f"postmark_admin_postmarksettings_{name}",
            )
            for name in settings_page.ACTION_NAMES
        ]
        generate = path(
            "generate-webhook-password/",
            self.admin_site.admin_view(require_POST(self.generate_password_view)),
            name=f"postmark_admin_postmarksettings_{settings_page.GENERATE_PASSWORD}",
        )
        return [*action_urls, generate, *super().get_urls()]

    def _action_view(self, action: str) -> Callable[[HttpRequest], HttpResponse]:
        def view(request: HttpRequest) -> HttpResponse:
            if not (
                self.has_view_or_change_permission(request) and settings_page.has_api_permission(request)
            ):
                raise PermissionDenied
            outcome = settings_page.run_action(action, request)
            self.message_user(request, outcome.message, messages.SUCCESS if outcome.ok else messages.ERROR)
            return HttpResponseRedirect(
                reverse(f"{self.admin_site.name}:postmark_admin_postmarksettings_change")
            )

        return view

    def generate_password_view(self, request: HttpRequest) -> HttpResponse:
        """Store a new random webhook password and show it this once (never again, nowhere else)."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        settings_url = reverse(self._url_name("change"))
        new = settings_page.generate_webhook_password(request)
        if isinstance(new, actions.Outcome):
            self.message_user(request, new.message, messages.ERROR)
            return HttpResponseRedirect(settings_url)
        # As Django logs a form's changes: the field's label untranslated, translated when shown.
        with translation.override(None):
            label = str(capfirst(PostmarkSettings._meta.get_field("webhook_password").verbose_name))
        self.log_change(request, PostmarkSettings.get_solo(), [{"changed": {"fields": [label]}}])
        can_use_api = settings_page.has_api_permission(request)
        context = {
            **self.admin_site.each_context(request),
            **settings_page.new_password_context(request, new, mailer_config(), can_use_api),
            "title": gettext("New webhook password"),
            "opts": self.opts,
            "settings_url": settings_url,
        }
        if can_use_api:
            context["action_urls"] = {
                name: reverse(self._url_name(name)) for name in settings_page.ACTION_NAMES
            }
        response = TemplateResponse(
            request, "admin/postmark_admin/postmarksettings/new_webhook_password.html", context
        )
        # The only page that ever holds the password: no cache, no back-button copy.
        add_never_cache_headers(response)
        return response
