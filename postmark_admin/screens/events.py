"""What the Django admin's and Wagtail's event screens share: the capped count, the index-friendly
search, and how an event's JSON is shown."""

from __future__ import annotations

import json
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.utils.html import format_html
from django.utils.safestring import SafeString

if TYPE_CHECKING:
    from ..models import WebhookEvent

    # Paginator is generic in django-stubs only; at run time it cannot be subscripted.
    _EventPaginator = Paginator[WebhookEvent]
else:
    _EventPaginator = Paginator

#: The changelist counts matching rows up to this many, then says "more than".
COUNT_CAP = 10_000
#: The highest code point: ``prefix <= value < prefix + MAX_CHAR`` is an index range for a prefix.
MAX_CHAR = chr(0x10FFFF)


class CappedCountPaginator(_EventPaginator):
    """A paginator that never counts more than :data:`COUNT_CAP` rows.

    ``count`` is exact below the cap and ``COUNT_CAP + 1`` above it (``is_capped`` then says so):
    counting a bounded subquery costs the same on a thousand rows and on a million. The Django admin
    uses it as it is; Wagtail mixes it into its own paginator, which answers a page number that is
    not a page the way Wagtail's listings do.
    """

    # Both admins paginate a queryset, which the bounded count needs.
    object_list: QuerySet[WebhookEvent]

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: COUNT_CAP + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_CAP


def search_filter(term: str) -> Q:
    """Index-friendly search: exact recipient (as typed and lowercased), message ID or tag, or recipient prefix."""
    term = term.strip()
    condition = Q(recipient__in=sorted({term, term.lower()})) | Q(message_id=term) | Q(tag=term)
    if "@" not in term or term.endswith("*"):
        prefix = term.rstrip("*")
        if prefix:
            # A range on the recipient index; startswith keeps the answer exact whatever the collation.
            condition |= Q(
                recipient__gte=prefix, recipient__lt=prefix + MAX_CHAR, recipient__startswith=prefix
            )
    return condition


def json_block(value: Any) -> SafeString:
    """``value`` as indented JSON in ``<pre class="postmark-payload">`` (an event's metadata or payload)."""
    return format_html(
        '<pre class="postmark-payload">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )
