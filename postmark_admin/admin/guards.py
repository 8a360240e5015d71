"""What the Postmark ModelAdmins refuse before Django's admin would answer it with a 500.

* a query string holding NUL (PostgreSQL refuses it in text): 400, for every URL of the ModelAdmin
  (:mod:`postmark_admin.screens.query`, which Wagtail's screens use too);
* ``?_to_field=`` left empty: Django looks up a field named "" and raises FieldDoesNotExist;
* an action's selection that names no possible row (``_selected_action=abc``, a number past the
  column's range, NUL): Django filters with it as it is and the query raises. The action is not run
  and the changelist says why, as Django does for an empty selection.

The users changelist is the site's own ModelAdmin; :func:`check_selection_first` gives its actions,
ours among them, the same selection check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern
from django.utils.translation import gettext

from ..screens.query import UNSTORABLE, refuse_unstorable_queries

if TYPE_CHECKING:
    # ModelAdmin is generic in django-stubs only; at run time it cannot be subscripted.
    _ModelAdmin = admin.ModelAdmin[Any]
else:
    _ModelAdmin = admin.ModelAdmin

_ResponseAction = Callable[..., HttpResponse | None]


def selection_is_valid(model: type[Model], request: HttpRequest) -> bool:
    """Whether every selected primary key of an action's POST is one the table could hold."""
    pk = model._meta.pk
    assert pk is not None  # every concrete model has one
    for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
        if UNSTORABLE.search(value):
            return False
        try:
            # to_python() and the column's range validators: "abc" and 10**20 are refused here.
            pk.clean(value, None)
        except ValidationError:
            return False
    return True


def refuse_invalid_selection(model_admin: _ModelAdmin, request: HttpRequest) -> bool:
    """Tell the user and return True when the action's selection is not valid."""
    if selection_is_valid(model_admin.model, request):
        return False
    model_admin.message_user(
        request,
        gettext("The selection names items that cannot exist. Select them again; no action was run."),
        messages.ERROR,
    )
    return True


class SelectionCheck:
    """A ModelAdmin instance's ``response_action``, which first checks the selection."""

    def __init__(self, model_admin: _ModelAdmin, response_action: _ResponseAction) -> None:
        self.model_admin = model_admin
        self.response_action = response_action

    def __call__(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        # None makes the changelist redirect back to itself, with the message.
        if refuse_invalid_selection(self.model_admin, request):
            return None
        return self.response_action(request, queryset, *args, **kwargs)


def check_selection_first(model_admin: _ModelAdmin) -> None:
    """Have ``model_admin`` (an instance, for example the site's UserAdmin) check the selection first.

    Only this instance changes, not its class; calling it again changes nothing.
    """
    if not isinstance(model_admin.response_action, SelectionCheck):
        vars(model_admin)["response_action"] = SelectionCheck(model_admin, model_admin.response_action)


class CheckedInputAdmin(_ModelAdmin):
    """A ModelAdmin whose screens answer no address and no form with a 500 (see the module's docstring)."""

    @property
    def urls(self) -> list[URLPattern]:
        # Wraps what the most derived get_urls() returns, a subclass's own URLs included.
        return refuse_unstorable_queries(self.get_urls())

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        return super().get_object(request, object_id, from_field or None)

    def response_action(
        self, request: HttpRequest, queryset: QuerySet[Any], *args: Any, **kwargs: Any
    ) -> HttpResponse | None:
        # *args, **kwargs: Django 6.1 passes where the action form was (action_location).
        if refuse_invalid_selection(self, request):
            return None
        return super().response_action(request, queryset, *args, **kwargs)
