"""The desk's summary on the Django admin's index page: the last 24 hours and any configuration problem.

The quickstart adds ``postmark_admin`` *after* ``django.contrib.admin`` in INSTALLED_APPS, so an
``admin/index.html`` of ours would never be found. Instead :func:`install_index_summary` gives the
site (this instance only) an index view that adds ``postmark_desk_summary`` to the context, and, unless
the site already names its own ``index_template``, the template
``admin/postmark_admin/index.html``, which extends ``admin/index.html`` (the site's or Django's) and
adds the summary above the application list. A site with its own index template adds
``{% include "admin/postmark_admin/desk_summary.html" %}`` where it wants the summary (docs/desk.rst).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin import AdminSite
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse

from ..screens import dashboard
from ..screens.recipient_page import can_view

INDEX_TEMPLATE = "admin/postmark_admin/index.html"


class IndexWithSummary:
    """An admin site's ``index`` view that adds the desk's summary for users who may see the desk."""

    def __init__(self, site: AdminSite, index: Callable[..., TemplateResponse]) -> None:
        self.site = site
        self.index = index

    def __call__(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        extra = dict(extra_context or {})
        if can_view(request):
            extra["postmark_desk_summary"] = dashboard.summary()
            try:
                extra["postmark_desk_dashboard_url"] = reverse(
                    f"{self.site.name}:postmark_admin_sentmessage_dashboard"
                )
            except NoReverseMatch:
                extra["postmark_desk_dashboard_url"] = None
        return self.index(request, extra)


def install_index_summary(site: AdminSite) -> None:
    """Show the desk's summary on ``site``'s index page (an instance change; calling it again changes nothing)."""
    if not isinstance(site.index, IndexWithSummary):
        # An assignment, not vars(): django.contrib.admin.site is a LazyObject, which forwards it.
        site.index = IndexWithSummary(site, site.index)  # type: ignore[method-assign]
    if site.index_template is None:
        site.index_template = INDEX_TEMPLATE
