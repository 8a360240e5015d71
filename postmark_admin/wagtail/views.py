"""The Wagtail admin's Postmark views: the settings page, its action buttons, and the read-only events.

The settings page is Wagtail's generic edit view bound to the django-solo row; what it shows
besides the form, and what the buttons do, comes from :mod:`postmark_admin.screens.settings_page`, which
the Django admin uses too.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import method_decorator
from django.utils.formats import number_format
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.defaults import permission_denied
from django.views.generic import TemplateView, View
from wagtail.admin import messages
from wagtail.admin.paginator import WagtailPaginator
from wagtail.admin.panels import MultiFieldPanel, ObjectList
from wagtail.admin.views import generic
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.log_actions import log

from ..config.api_hosts import guard_api_url_change
from ..config.mailers import mailer_config
from ..exceptions import PostmarkSettingsUnavailable
from ..models import PostmarkSettings, WebhookEvent
from ..screens import actions, settings_page
from ..screens.events import COUNT_CAP, CappedCountPaginator, json_block, search_filter
from .permissions import events_policy, settings_policy

#: The settings viewset's URL namespace (see :class:`~postmark_admin.wagtail.viewsets.PostmarkSettingsViewSet`).
SETTINGS_NAMESPACE = "postmark_admin_settings"
#: The events viewset's URL namespace.
EVENTS_NAMESPACE = "postmark_admin_events"


class ForbiddenMixin(View):
    """Answer a refused permission with HTTP 403.

    Wagtail's admin turns PermissionDenied into a redirect to its dashboard; a refusal here is a
    real 403 so that scripts, tests and the browser all see the same thing.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied as error:
            return permission_denied(request, error)


def settings_url(name: str = "edit") -> str:
    return reverse(f"{SETTINGS_NAMESPACE}:{name}")


def settings_panel() -> ObjectList:
    """The same fields, in the same groups, as the Django admin's settings page."""
    return ObjectList(
        [
            MultiFieldPanel(list(group.fields), heading=group.heading, help_text=group.description)
            for group in settings_page.FIELD_GROUPS
        ]
    )


class SettingsEditView(ForbiddenMixin, generic.EditView):
    """Edit the Postmark settings row; secrets are write-only (see :class:`~postmark_admin.config.secret_form.SecretInput`)."""

    model = PostmarkSettings
    permission_policy = settings_policy
    permission_required = "change"
    template_name = "postmark_admin/wagtail/settings_edit.html"
    header_icon = "mail"
    page_title = _("Postmark settings")
    success_message = _("The Postmark settings were saved.")
    error_message = _("The Postmark settings could not be saved due to errors.")

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._unavailable() or super().get(request, *args, **kwargs)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self._unavailable() or super().post(request, *args, **kwargs)

    def _unavailable(self) -> HttpResponse | None:
        """While the settings row cannot be read: the page with that error (HTTP 503), not a form nor a 500."""
        try:
            mailer_config()
        except PostmarkSettingsUnavailable as error:
            context = {"page_title": self.page_title, "header_icon": self.header_icon, "error": str(error)}
            template = "postmark_admin/wagtail/settings_unavailable.html"
            return TemplateResponse(self.request, template, context, status=503)
        return None

    def get_object(self, queryset: QuerySet[PostmarkSettings] | None = None) -> PostmarkSettings:
        return PostmarkSettings.get_solo()

    def get_panel(self) -> ObjectList:
        return settings_panel().bind_to_model(PostmarkSettings)

    def get_form(
        self, form_class: type[forms.ModelForm[PostmarkSettings]] | None = None
    ) -> forms.ModelForm[PostmarkSettings]:
        form: forms.ModelForm[PostmarkSettings] = super().get_form(form_class)
        config = mailer_config()
        for name, field in form.fields.items():
            settings_page.note_secret_source(name, field, config)
        return form

    def save_instance(self) -> PostmarkSettings:
        # The token never follows the API URL to another origin (see postmark_admin.config.api_hosts).
        api_url_change = guard_api_url_change(self.form)
        instance: PostmarkSettings = super().save_instance()
        if api_url_change is not None:
            (messages.warning if api_url_change.token_cleared else messages.info)(
                self.request, api_url_change.user_message()
            )
        return instance

    def get_page_subtitle(self) -> str:
        return str(self.page_title)

    def get_edit_url(self) -> str:
        return settings_url()

    def get_success_url(self) -> str:
        return settings_url()

    def get_success_buttons(self) -> None:
        return None

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        can_use_api = settings_page.has_api_permission(self.request)
        context.update(settings_page.page_context(self.request, mailer_config(), can_use_api))
        if events_policy.user_has_permission(self.request.user, "view"):
            context["events_index_url"] = reverse(f"{EVENTS_NAMESPACE}:index")
        # The page itself needs the change permission, which is all the button needs.
        context["generate_password_url"] = settings_url(settings_page.GENERATE_PASSWORD)
        if can_use_api:
            context["action_urls"] = {name: settings_url(name) for name in settings_page.ACTION_NAMES}
        return context


@method_decorator(require_POST, name="dispatch")
class SettingsActionView(ForbiddenMixin, View):
    """One of the settings page's Postmark buttons: run it, report in a message, return to the page."""

    action: str = ""

    def post(self, request: HttpRequest) -> HttpResponse:
        if not (
            settings_policy.user_has_permission(request.user, "change")
            and settings_page.has_api_permission(request)
        ):
            raise PermissionDenied
        outcome = settings_page.run_action(self.action, request)
        (messages.success if outcome.ok else messages.error)(request, outcome.message)
        return HttpResponseRedirect(settings_url())


@method_decorator(require_POST, name="dispatch")
class GeneratePasswordView(ForbiddenMixin, WagtailAdminTemplateMixin, TemplateView):
    """Store a new random webhook password and show it this once (never again, nowhere else)."""

    template_name = "postmark_admin/wagtail/new_webhook_password.html"
    page_title = _("New webhook password")
    header_icon = "mail"

    def post(self, request: HttpRequest) -> HttpResponse:
        if not settings_policy.user_has_permission(request.user, "change"):
            raise PermissionDenied
        new = settings_page.generate_webhook_password(request)
        if isinstance(new, actions.Outcome):
            messages.error(request, new.message)
            return HttpResponseRedirect(settings_url())
        log(
            instance=PostmarkSettings.get_solo(),
            action="wagtail.edit",
            user=request.user,
            content_changed=True,
        )
        can_use_api = settings_page.has_api_permission(request)
        context = self.get_context_data(
            **settings_page.new_password_context(request, new, mailer_config(), can_use_api),
            settings_url=settings_url(),
        )
        if can_use_api:
            context["action_urls"] = {name: settings_url(name) for name in settings_page.ACTION_NAMES}
        response = self.render_to_response(context)
        # The only page that ever holds the password: no cache, no back-button copy.
        add_never_cache_headers(response)
        return response

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = super().get_breadcrumbs_items()
        return [
            *items,
            {"url": settings_url(), "label": _("Postmark settings")},
            {"url": "", "label": self.page_title},
        ]


# -- the events ------------------------------------------------------------------------------------


class EventPaginator(CappedCountPaginator, WagtailPaginator):
    """Wagtail's paginator (a page number that is not a page shows the first or the last page) with the
    capped count, which it reports as "more than 10,000 webhook events"."""

    @cached_property
    def items_count_label(self) -> str:
        if not self.is_capped:
            return str(super().items_count_label)
        return gettext("more than %(count)s %(name)s") % {
            "count": number_format(COUNT_CAP, force_grouping=True),
            "name": self.verbose_name_plural,
        }


class EventIndexView(ForbiddenMixin, generic.IndexView):
    """Newest first, index-friendly search (as in the Django admin), and no full ``COUNT(*)``."""

    default_ordering = "-received_at"
    paginator_class = EventPaginator

    def search_queryset(self, queryset: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
        if not self.is_searching:
            return queryset
        return queryset.filter(search_filter(self.search_query))


class EventInspectView(ForbiddenMixin, generic.InspectView):
    """Every stored field of one event, with the metadata and Postmark's payload as indented JSON.

    The event type shows its label through ``WebhookEvent.get_event_type_display``, as Wagtail does
    for every field with choices.
    """

    object: WebhookEvent

    def get_metadata_display_value(self) -> SafeString | str:
        return json_block(self.object.metadata) if self.object.metadata else "-"

    def get_payload_display_value(self) -> SafeString:
        return json_block(self.object.payload)
