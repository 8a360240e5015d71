"""The deliverability desk in the Django admin: the sent messages (read-only), each message's page,
the recipient page with its "Reactivate" button, and the dashboard (docs/desk.rst).

The pages' content comes from :mod:`postmark_admin.screens` (Wagtail shows the same); this module adds
the URLs, the permission checks, the admin log entry of a reactivation and the templates.
"""

from __future__ import annotations

from typing import Any

import django
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..desk.status import RecipientState
from ..models import PostmarkSettings, SentMessage, SentRecipient
from ..screens import dashboard, message_page, recipient_page
from ..screens.events import CappedCountPaginator
from .guards import CheckedInputAdmin

#: The stream filter offers the streams among this many newest messages.
RECENT_STREAMS_SAMPLE = 1_000


class StreamFilter(admin.SimpleListFilter):
    """The streams among the newest messages (never a DISTINCT over the table)."""

    title = _("message stream")
    parameter_name = "stream"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        newest = SentMessage.objects.order_by("-submitted_at").values_list("stream", flat=True)
        values = {value for value in newest[:RECENT_STREAMS_SAMPLE] if value}
        if self.value():
            values.add(str(self.value()))
        return [(value, value) for value in sorted(values)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SentMessage]) -> QuerySet[SentMessage]:
        return queryset.filter(stream=self.value()) if self.value() else queryset


class RecipientStatusFilter(admin.SimpleListFilter):
    """Messages with at least one recipient in this status."""

    title = _("recipient status")
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(RecipientState.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[SentMessage]) -> QuerySet[SentMessage]:
        if not self.value():
            return queryset
        if self.value() not in RecipientState.values:
            raise IncorrectLookupParameters(self.value())
        matching = SentRecipient.objects.filter(message_id=OuterRef("message_id"), status=self.value())
        return queryset.filter(Exists(matching))


class SentMessageAdmin(CheckedInputAdmin):
    """Every message the backend sent (read-only); the change view is the message page."""

    list_display = ["submitted_at", "subject_link", "stream", "from_email", "tag", "sent_via"]
    list_display_links = None
    list_filter = [StreamFilter, RecipientStatusFilter, "submitted_at"]
    search_fields = ["message_id"]  # shows the box; get_search_results decides what it looks up
    search_help_text = _("An email address (any case), a message ID, or the start of a subject.")
    sortable_by = ["submitted_at"]
    ordering = ["-submitted_at", "-id"]
    list_per_page = 100
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    change_list_template = "admin/postmark_admin/sentmessage/change_list.html"

    class Media:
        css = {"all": ["postmark_admin/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        offered = {
            StreamFilter.parameter_name,
            RecipientStatusFilter.parameter_name,
            "submitted_at__gte",
            "submitted_at__lt",
        }
        return lookup in offered and super().lookup_allowed(lookup, value, request)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[SentMessage], search_term: str
    ) -> tuple[QuerySet[SentMessage], bool]:
        return message_page.search(queryset, search_term), False

    @admin.display(description=_("subject"), ordering="subject")
    def subject_link(self, obj: SentMessage) -> str:
        url = self._message_url(obj)
        return format_html('<a href="{}">{}</a>', url, obj.subject or gettext("(no subject)"))

    # -- the desk's URLs ---------------------------------------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        def view(function: Any) -> Any:
            return self.admin_site.admin_view(function)

        return [
            path("recipient/", view(self.recipient_view), name="postmark_admin_sentmessage_recipient"),
            path(
                "recipient/reactivate/",
                view(require_POST(self.reactivate_view)),
                name="postmark_admin_sentmessage_reactivate",
            ),
            path("dashboard/", view(self.dashboard_view), name="postmark_admin_sentmessage_dashboard"),
            *super().get_urls(),
        ]

    def _url(self, name: str) -> str:
        return reverse(f"{self.admin_site.name}:postmark_admin_sentmessage_{name}")

    def _message_url(self, message: SentMessage) -> str:
        return reverse(f"{self.admin_site.name}:postmark_admin_sentmessage_change", args=[message.pk])

    def _event_url(self) -> message_page.EventURL:
        if not _events_registered(self):
            return None
        name = f"{self.admin_site.name}:postmark_admin_webhookevent_change"
        return lambda pk: reverse(name, args=[pk])

    def _all_events_url(self, message: SentMessage) -> str:
        if not _events_registered(self) or message.refused:
            return ""
        url = reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")
        return f"{url}?{urlencode({'message_id': message.message_id})}"

    def _context(self, request: HttpRequest, title: str, **extra: Any) -> dict[str, Any]:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            # Django 6.1 styles breadcrumbs written as <ol class="breadcrumbs">, earlier ones a <div>.
            "breadcrumbs_as_list": django.VERSION >= (6, 1),
            "media": self.media,
            "changelist_url": self._url("changelist"),
            "recipient_url": self._url("recipient"),
            "dashboard_url": self._url("dashboard"),
            "events_url": reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")
            if _events_registered(self)
            else None,
            **extra,
        }

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        extra = {"recipient_url": self._url("recipient"), "dashboard_url": self._url("dashboard")}
        return super().changelist_view(request, {**extra, **(extra_context or {})})

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """The message page: facts, a timeline per recipient, and Postmark's record on request."""
        message = self.get_object(request, object_id)
        if message is None:
            raise Http404(gettext("No sent message has this ID."))
        if not self.has_view_permission(request, message):
            raise PermissionDenied
        page = message_page.message_page(
            message, self._event_url(), all_events_url=self._all_events_url(message)
        )
        record = None
        if request.GET.get("postmark") == "1" and page.can_fetch:
            record = message_page.fetch_postmark_record(message)
        context = self._context(
            request,
            gettext("Message: %(subject)s") % {"subject": message.subject or message.message_id},
            original=message,
            fetch_url=f"{request.path}?{urlencode({'postmark': '1'})}#postmark-record",
            **message_page.context(page, record),
        )
        return TemplateResponse(request, "admin/postmark_admin/sentmessage/message.html", context)

    def recipient_view(self, request: HttpRequest) -> HttpResponse:
        """The recipient page: look an address up, see its messages and its suppressions."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = recipient_page.AddressForm(request.GET or None)
        page = None
        if form.is_valid():
            page = recipient_page.recipient_page(form.cleaned_data["address"], self._message_url)
        context = self._context(
            request,
            gettext("Recipient lookup"),
            form=form,
            page=page,
            can_reactivate=recipient_page.can_reactivate(request),
            reactivate_url=self._url("reactivate"),
        )
        return TemplateResponse(request, "admin/postmark_admin/sentmessage/recipient.html", context)

    def reactivate_view(self, request: HttpRequest) -> HttpResponse:
        """Delete an address's suppression on a stream (POST), log it, and go back to the address."""
        if not (self.has_view_permission(request) and recipient_page.can_reactivate(request)):
            raise PermissionDenied
        outcome, address, stream = recipient_page.reactivate(request)
        if outcome.ok:
            logged = recipient_page.logged_object(address) or PostmarkSettings.get_solo()
            self.log_change(request, logged, recipient_page.log_message(address, stream))
        self.message_user(request, outcome.message, messages.SUCCESS if outcome.ok else messages.ERROR)
        query = f"?{urlencode({'address': address})}" if address else ""
        return HttpResponseRedirect(self._url("recipient") + query)

    def dashboard_view(self, request: HttpRequest) -> HttpResponse:
        """Sent, delivered, bounced, complained, opened and clicked per stream, beside Postmark's figures."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        context = self._context(
            request,
            gettext("Deliverability dashboard"),
            dashboard=dashboard.dashboard(),
            bounce_threshold=dashboard.BOUNCE_RATE_REVIEW,
            spam_threshold=dashboard.SPAM_RATE_REVIEW,
        )
        return TemplateResponse(request, "admin/postmark_admin/sentmessage/dashboard.html", context)


def _events_registered(model_admin: SentMessageAdmin) -> bool:
    from ..models import WebhookEvent

    return model_admin.admin_site.is_registered(WebhookEvent)
