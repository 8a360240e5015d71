"""The deliverability desk in Wagtail: the dashboard, the sent messages, a message's page and the
recipient page under Reports, and the summary panel on the admin's home page (docs/desk.rst).

What the pages show comes from :mod:`postmark_admin.screens`, as in the Django admin; a reactivation is
logged in Wagtail's own log (action ``postmark_admin.reactivate``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from django.views.generic import TemplateView
from wagtail.admin import messages
from wagtail.admin.menu import MenuItem
from wagtail.admin.ui.components import Component
from wagtail.admin.views.generic.base import WagtailAdminTemplateMixin
from wagtail.admin.viewsets.base import ViewSet
from wagtail.log_actions import log

from ..models import PostmarkSettings, SentMessage
from ..screens import dashboard, message_page, recipient_page
from ..screens.query import refuse_unstorable_queries
from .views import ForbiddenMixin

#: The desk viewset's URL namespace.
DESK_NAMESPACE = "postmark_admin_desk"
#: Wagtail's log action of a reactivation (registered in wagtail_hooks.py).
REACTIVATE_ACTION = "postmark_admin.reactivate"
#: How many messages the list shows (newest first; search narrows it).
LIST_LIMIT = 100


def desk_url(name: str, *args: Any) -> str:
    return reverse(f"{DESK_NAMESPACE}:{name}", args=args)


def message_url(message: SentMessage) -> str:
    return desk_url("message", message.pk)


def event_url(pk: int) -> str:
    from .views import EVENTS_NAMESPACE

    return reverse(f"{EVENTS_NAMESPACE}:inspect", args=[pk])


def all_events_url(message: SentMessage) -> str:
    """The events listing searched for the message's ID (an exact match on its index)."""
    from .views import EVENTS_NAMESPACE

    return f"{reverse(f'{EVENTS_NAMESPACE}:index')}?{urlencode({'q': message.message_id})}"


class DeskView(ForbiddenMixin, WagtailAdminTemplateMixin, TemplateView):
    """A desk page: needs ``view_sentmessage``; the shared partials in Wagtail's frame."""

    header_icon = "mail"
    desk_template = ""
    template_name = "postmark_admin/wagtail/desk_page.html"

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Inside ForbiddenMixin's dispatch: a refusal is a 403, not Wagtail's redirect.
        if not recipient_page.can_view(request):
            raise PermissionDenied
        response: HttpResponse = super().get(request, *args, **kwargs)
        return response

    def get_breadcrumbs_items(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = super().get_breadcrumbs_items()
        return [*items, {"url": "", "label": self.get_page_title()}]

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context: dict[str, Any] = super().get_context_data(**kwargs)
        context.update(
            desk_template=self.desk_template,
            dashboard_url=desk_url("dashboard"),
            messages_url=desk_url("messages"),
            recipient_url=desk_url("recipient"),
        )
        return context


class DashboardView(DeskView):
    page_title = _("Deliverability dashboard")
    desk_template = "postmark_admin/desk/dashboard.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return super().get_context_data(
            dashboard=dashboard.dashboard(),
            bounce_threshold=dashboard.BOUNCE_RATE_REVIEW,
            spam_threshold=dashboard.SPAM_RATE_REVIEW,
            **kwargs,
        )


class MessagesView(DeskView):
    """The newest messages; ``?q=`` an address, a MessageID or the start of a subject."""

    page_title = _("Sent messages")
    desk_template = "postmark_admin/wagtail/desk_messages.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        query = self.request.GET.get("q", "")
        messages_ = message_page.search(SentMessage.objects.order_by("-submitted_at", "-id"), query)
        rows = [(message, message_url(message)) for message in messages_[:LIST_LIMIT]]
        return super().get_context_data(rows=rows, query=query, **kwargs)


class MessageView(DeskView):
    page_title = _("Sent message")
    desk_template = "postmark_admin/desk/message.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        message = SentMessage.objects.filter(pk=kwargs.pop("pk")).first()
        if message is None:
            raise Http404(gettext("No sent message has this ID."))
        self.message = message
        page = message_page.message_page(message, event_url, all_events_url=all_events_url(message))
        record = None
        if self.request.GET.get("postmark") == "1" and page.can_fetch:
            record = message_page.fetch_postmark_record(message)
        fetch_url = f"{self.request.path}?{urlencode({'postmark': '1'})}#postmark-record"
        return super().get_context_data(fetch_url=fetch_url, **message_page.context(page, record), **kwargs)

    def get_page_title(self) -> str:
        message = getattr(self, "message", None)
        if message is None:
            return str(self.page_title)
        return gettext("Message: %(subject)s") % {"subject": message.subject or message.message_id}


class RecipientView(DeskView):
    page_title = _("Recipient lookup")
    desk_template = "postmark_admin/desk/recipient.html"

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        form = recipient_page.AddressForm(self.request.GET or None)
        page = None
        if form.is_valid():
            page = recipient_page.recipient_page(form.cleaned_data["address"], message_url)
        return super().get_context_data(
            form=form,
            page=page,
            can_reactivate=recipient_page.can_reactivate(self.request),
            reactivate_url=desk_url("reactivate"),
            **kwargs,
        )


@require_POST
def reactivate_view(request: HttpRequest) -> HttpResponse:
    """Delete an address's suppression on a stream, log it in Wagtail's log, go back to the address."""
    if not (recipient_page.can_view(request) and recipient_page.can_reactivate(request)):
        from django.views.defaults import permission_denied

        return permission_denied(request, PermissionDenied())
    outcome, address, stream = recipient_page.reactivate(request)
    if outcome.ok:
        logged = recipient_page.logged_object(address) or PostmarkSettings.get_solo()
        log(
            instance=logged,
            action=REACTIVATE_ACTION,
            user=request.user,
            data={"address": address, "stream": stream},
        )
        messages.success(request, outcome.message)
    else:
        messages.error(request, outcome.message)
    query = f"?{urlencode({'address': address})}" if address else ""
    return HttpResponseRedirect(desk_url("recipient") + query)


class DeskViewSet(ViewSet):
    """The desk's URLs (its menu items are under Reports, see :data:`MENU_ITEMS`)."""

    name = DESK_NAMESPACE
    url_prefix = "postmark/desk"
    icon = "mail"

    def get_urlpatterns(self) -> list[URLPattern]:
        return refuse_unstorable_queries(
            [
                path("", DashboardView.as_view(), name="dashboard"),
                path("messages/", MessagesView.as_view(), name="messages"),
                path("messages/<int:pk>/", MessageView.as_view(), name="message"),
                path("recipient/", RecipientView.as_view(), name="recipient"),
                path("recipient/reactivate/", reactivate_view, name="reactivate"),
            ]
        )


class DeskMenuItem(MenuItem):
    """Shown only to users who may see the desk."""

    def is_shown(self, request: HttpRequest) -> bool:
        return recipient_page.can_view(request)


#: The desk's entries under Wagtail's Reports menu: (label, URL name, menu name).
MENU_ITEMS = (
    (_("Postmark dashboard"), "dashboard", "postmark-dashboard"),
    (_("Postmark messages"), "messages", "postmark-messages"),
    (_("Postmark recipient lookup"), "recipient", "postmark-recipient"),
)


def reports_menu_item(number: int) -> MenuItem:
    """One of :data:`MENU_ITEMS` as a Reports menu item (shown to desk viewers only)."""
    label, url_name, name = MENU_ITEMS[number]
    return DeskMenuItem(label, desk_url(url_name), name=name, icon_name="mail", order=900 + number)


class SummaryPanel(Component):
    """The home page's panel: the last 24 hours and any configuration problem (desk viewers only)."""

    name = "postmark_desk_summary"
    order = 90
    template_name = "postmark_admin/wagtail/desk_summary_panel.html"

    def __init__(self, request: HttpRequest) -> None:
        self.request = request

    def get_context_data(self, parent_context: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {"postmark_desk_summary": dashboard.summary(), "dashboard_url": desk_url("dashboard")}

    def render_html(self, parent_context: Mapping[str, Any] | None = None) -> str:
        if not recipient_page.can_view(self.request):
            return ""
        return str(super().render_html(parent_context))
