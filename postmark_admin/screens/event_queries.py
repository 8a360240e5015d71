"""Queries over the webhook events that both admins run: a capped count and an index-friendly search."""

from __future__ import annotations

from functools import cached_property

from django.core.paginator import Paginator
from django.db.models import Q

#: The changelist counts matching rows up to this many, then says "more than".
COUNT_CAP = 10_000
#: The highest code point: ``prefix <= value < prefix + MAX_CHAR`` is an index range for a prefix.
MAX_CHAR = chr(0x10FFFF)


class CappedCountPaginator(Paginator):
    """A paginator that never counts more than :data:`COUNT_CAP` rows.

    ``count`` is exact below the cap and ``COUNT_CAP + 1`` above it (``is_capped`` then says so):
    counting a bounded subquery costs the same on a thousand rows and on a million.
    """

    @cached_property
    def count(self) -> int:  # type: ignore[override]
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
