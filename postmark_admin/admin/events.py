"""The webhook events changelist and detail page: read-only, and fast on millions of rows.

What keeps it fast (bench/admin_events.py measures it):

* no ``COUNT(*)`` over the table: :class:`CappedCountPaginator` counts at most
  :data:`COUNT_CAP` rows and ``show_full_result_count`` is off;
* filters whose choices cost no full scan (known values plus those among the newest rows);
* a date hierarchy built from index probes instead of ``SELECT DISTINCT`` over a date function;
* searches that use the model's indexes: exact recipient, message ID and tag, and a recipient prefix
  as an index range;
* only the lookups the page offers: Django's admin would otherwise run any field lookup named in the
  address (``?payload__contains=``, ``?recipient__regex=``), each a full scan, some a database error.

No address gives a 5xx: NUL in the query string is answered 400 (:mod:`postmark_admin.screens.query`),
a lookup the page does not offer 400 too, and a date drill-down that names no date goes back to the
list, as Django does for a bad filter value.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from functools import cached_property
from typing import Any
from urllib.parse import urlencode

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..models import WebhookEvent
from ..screens.events import CappedCountPaginator, json_block, search_filter
from ..webhooks.events import RecordType
from .guards import CheckedInputAdmin

#: Filters offer the values found among this many newest rows (plus the known ones).
RECENT_VALUES_SAMPLE = 1_000
#: The record types the filter offers even before an event of that type arrives.
KNOWN_RECORD_TYPES = tuple(record_type.value for record_type in RecordType)
#: The detail fields shown through a method here (a coloured label, pretty JSON), not as stored.
_SHOWN_AS = {"event_type": "event_label", "metadata": "metadata_pretty"}
#: The indexed fields the address may filter on exactly: the filters, and the detail page's related links.
EXACT_LOOKUP_FIELDS = ("event_type", "record_type", "message_stream", "recipient", "message_id", "tag")


class RecentValuesFilter(admin.SimpleListFilter):
    """Choices: the known values, plus those among the newest rows (never a DISTINCT over the table)."""

    field_name = ""
    known: tuple[str, ...] = ()

    def known_values(self) -> tuple[str, ...]:
        return self.known

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[WebhookEvent]
    ) -> list[tuple[str, str]]:
        newest = model_admin.get_queryset(request).order_by("-received_at", "-id")
        recent = newest.values_list(self.field_name, flat=True)[:RECENT_VALUES_SAMPLE]
        values = {*self.known_values(), *(value for value in recent if value)}
        selected = self.value()
        if selected:
            values.add(selected)
        return [(value, value) for value in sorted(values)]

    def queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
        selected = self.value()
        return queryset.filter(**{self.field_name: selected}) if selected else queryset


class RecordTypeFilter(RecentValuesFilter):
    title = _("record type")
    parameter_name = field_name = "record_type"
    known = KNOWN_RECORD_TYPES


class MessageStreamFilter(RecentValuesFilter):
    title = _("message stream")
    parameter_name = field_name = "message_stream"

    def known_values(self) -> tuple[str, ...]:
        from ..config.effective import effective_config
        from ..exceptions import PostmarkSettingsUnavailable

        try:
            return (effective_config().message_stream,)
        except PostmarkSettingsUnavailable:
            return ()  # the settings row cannot be read: the streams among the newest events still show


def _local_midnight(day: date) -> datetime:
    moment = datetime(day.year, day.month, day.day)
    return timezone.make_aware(moment) if timezone.is_naive(moment) and _use_tz() else moment


def _use_tz() -> bool:
    from django.conf import settings

    return bool(settings.USE_TZ)


def drill_down_date(year: Any, month: Any, day: Any) -> tuple[int | None, int | None, int | None]:
    """The date drill-down's year, month and day as numbers (each None when absent).

    Raises ValueError unless they name a day, a month or a year whose next one still exists (the
    drill-down queries up to the start of the next): a month needs its year, a day its month.
    """
    year, month, day = (_last_int(value) for value in (year, month, day))
    if year is None:
        if month is not None or day is not None:
            raise ValueError("a month or a day without a year")
        return None, None, None
    if not date.min.year < year < date.max.year:
        raise ValueError(f"year {year} out of range")
    if month is None:
        if day is not None:
            raise ValueError("a day without a month")
        return year, None, None
    date(year, month, day or 1)  # raises ValueError for month 13 or February 30
    return year, month, day


class EventChangeList(ChangeList):
    """Adds :attr:`cheap_date_hierarchy`: the date drill-down built from index probes."""

    def _drill_down(self) -> tuple[int | None, int | None, int | None]:
        field = self.date_hierarchy
        return drill_down_date(*(self.params.get(f"{field}__{part}") for part in ("year", "month", "day")))

    def get_filters(self, request: HttpRequest) -> Any:
        # Django's own date drill-down raises OverflowError past year 9999 and ignores a month without
        # its year: refuse both first, the way Django refuses a bad filter value.
        if self.date_hierarchy:
            try:
                self._drill_down()
            except (ValueError, OverflowError) as error:
                raise IncorrectLookupParameters(error) from error
        return super().get_filters(request)

    def _has_rows_between(self, start: date, end: date) -> bool:
        field = self.date_hierarchy
        in_range = self.queryset.filter(
            **{f"{field}__gte": _local_midnight(start), f"{field}__lt": _local_midnight(end)}
        )
        # ORDER BY makes PostgreSQL walk the date index; with a bare EXISTS it may pick a
        # sequential scan that reads most of the table before reaching recent rows.
        return in_range.order_by(field).values_list(field, flat=True).first() is not None

    def _edge(self, descending: bool) -> datetime | None:
        # Two ORDER BY ... LIMIT 1 queries: SQLite cannot use an index for MIN() and MAX() together.
        field = self.date_hierarchy
        value = (
            self.queryset.order_by(f"-{field}" if descending else field).values_list(field, flat=True).first()
        )
        return timezone.localtime(value) if value is not None and timezone.is_aware(value) else value

    @cached_property
    def cheap_date_hierarchy(self) -> dict[str, Any]:
        """The same context as Django's ``date_hierarchy`` tag, without SELECT DISTINCT over dates."""
        field = self.date_hierarchy
        year_field, month_field, day_field = (f"{field}__{part}" for part in ("year", "month", "day"))
        year, month, day = self._drill_down()  # valid: get_filters() refused anything else

        def link(filters: dict[str, Any]) -> str:
            return self.get_query_string(filters, [f"{field}__"])

        first = last = None
        if year is None:
            first, last = self._edge(descending=False), self._edge(descending=True)
            if first is None or last is None:
                return {"show": False}
            if first.year == last.year:
                year = first.year
                if first.month == last.month:
                    month = first.month
        if year and month and day:
            shown = date(year, month, day)
            return {
                "show": True,
                "back": {
                    "link": link({year_field: year, month_field: month}),
                    "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
                },
                "choices": [{"title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT"))}],
            }
        if year and month:
            days_in_month = calendar.monthrange(year, month)[1]
            days = [date(year, month, number) for number in range(1, days_in_month + 1)]
            return {
                "show": True,
                "back": {"link": link({year_field: year}), "title": str(year)},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: month, day_field: shown.day}),
                        "title": capfirst(formats.date_format(shown, "MONTH_DAY_FORMAT")),
                    }
                    for shown in days
                    if self._has_rows_between(shown, date.fromordinal(shown.toordinal() + 1))
                ],
            }
        if year:
            months = [date(year, number, 1) for number in range(1, 13)]
            return {
                "show": True,
                "back": {"link": link({}), "title": gettext("All dates")},
                "choices": [
                    {
                        "link": link({year_field: year, month_field: shown.month}),
                        "title": capfirst(formats.date_format(shown, "YEAR_MONTH_FORMAT")),
                    }
                    for shown in months
                    if self._has_rows_between(shown, _next_month(shown))
                ],
            }
        assert first is not None and last is not None
        return {
            "show": True,
            "back": None,
            "choices": [
                {"link": link({year_field: number}), "title": str(number)}
                for number in range(first.year, last.year + 1)
                if self._has_rows_between(date(number, 1, 1), date(number + 1, 1, 1))
            ],
        }


def _next_month(day: date) -> date:
    return date(day.year + 1, 1, 1) if day.month == 12 else date(day.year, day.month + 1, 1)


def _last_int(value: Any) -> int | None:
    # Like Django's drill-down: the last of repeated values; a value that is not a number raises ValueError.
    if isinstance(value, list | tuple):
        value = value[-1] if value else None
    return int(value) if value not in (None, "") else None


class WebhookEventAdmin(CheckedInputAdmin):
    """Read-only list and detail of the webhook events Postmark posted to this site."""

    list_display = ["received_at", "event_label", "recipient_link", "message_link", "message_stream", "tag"]
    list_display_links = ["received_at"]
    list_filter = ["event_type", RecordTypeFilter, MessageStreamFilter, "received_at"]
    date_hierarchy = "received_at"
    search_fields = ["recipient", "message_id", "tag"]
    search_help_text = _(
        "An exact recipient, message ID or tag, or the start of a recipient address (for example jane@ or jane*)."
    )
    sortable_by = ["received_at"]
    ordering = ["-received_at", "-id"]
    list_per_page = 100
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    paginator = CappedCountPaginator
    fieldsets = [
        (
            None,
            {
                "fields": [
                    *(
                        _SHOWN_AS.get(name, name)
                        for name in WebhookEvent.detail_fields()
                        if name != "payload"
                    ),
                    "related_events",
                ]
            },
        ),
        (_("Raw payload"), {"fields": ["payload_pretty"]}),
    ]

    class Media:
        css = {"all": ["postmark_admin/admin.css"]}

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEvent | None = None) -> list[str]:
        return flatten_fieldsets(self.get_fieldsets(request, obj))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: WebhookEvent | None = None) -> bool:
        return False

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return EventChangeList

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        # Django lets the address run any lookup on any field; only the page's own are offered here.
        return lookup in self._offered_lookups() and super().lookup_allowed(lookup, value, request)

    def _offered_lookups(self) -> frozenset[str]:
        field = self.date_hierarchy
        return frozenset(
            {
                *EXACT_LOOKUP_FIELDS,
                *(f"{name}__exact" for name in EXACT_LOOKUP_FIELDS),
                f"{field}__gte",  # the date filter
                f"{field}__lt",
                *(f"{field}__{part}" for part in ("year", "month", "day")),  # the date drill-down
            }
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent], search_term: str
    ) -> tuple[QuerySet[WebhookEvent], bool]:
        if not search_term.strip():
            return queryset, False
        return queryset.filter(search_filter(search_term)), False

    # -- columns and detail fields ----------------------------------------------------------------

    def _changelist_url(self, **filters: str) -> str:
        url = reverse(f"{self.admin_site.name}:postmark_admin_webhookevent_changelist")
        return f"{url}?{urlencode(filters)}"

    @admin.display(description=_("event"), ordering="event_type")
    def event_label(self, obj: WebhookEvent) -> str:
        return format_html(
            '<span class="postmark-event postmark-event-{}">{}</span>',
            obj.event_type,
            obj.get_event_type_display(),
        )

    def _value_link(self, field: str, value: str, title: str) -> str:
        # The value, linked to the changelist of every event that has it.
        if not value:
            return "-"
        return format_html(
            '<a href="{}" title="{}">{}</a>', self._changelist_url(**{field: value}), title, value
        )

    @admin.display(description=_("recipient"))
    def recipient_link(self, obj: WebhookEvent) -> str:
        return self._value_link("recipient", obj.recipient, gettext("Every event of this recipient"))

    @admin.display(description=_("message ID"))
    def message_link(self, obj: WebhookEvent) -> str:
        return self._value_link("message_id", obj.message_id, gettext("Every event of this message"))

    @admin.display(description=_("related events"))
    def related_events(self, obj: WebhookEvent) -> str:
        links = []
        if obj.message_id:
            links.append(
                (self._changelist_url(message_id=obj.message_id), gettext("Every event of this message"))
            )
        if obj.recipient:
            links.append(
                (self._changelist_url(recipient=obj.recipient), gettext("Every event of this recipient"))
            )
        if not links:
            return "-"
        return format_html(
            '<span class="postmark-related">{}</span>', format_html_join("", '<a href="{}">{}</a>', links)
        )

    @admin.display(description=_("metadata"))
    def metadata_pretty(self, obj: WebhookEvent) -> str:
        if not obj.metadata:
            return "-"
        return json_block(obj.metadata)

    @admin.display(description=_("payload"))
    def payload_pretty(self, obj: WebhookEvent) -> str:
        return json_block(obj.payload)
