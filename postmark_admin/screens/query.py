"""The query string of every Postmark screen, checked before any of it reaches the database.

PostgreSQL refuses NUL in text, so a filter or search value holding one fails the query (a 500) on
PostgreSQL while SQLite answers. No stored value can hold one (the webhook views replace it), so a
query string with one can only be a typing accident or a probe: both admins answer it with 400 here,
once for every screen, instead of each filter, search box and lookup guarding its own value. Form
bodies are not checked here: Django's form fields refuse NUL with a message next to the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import wraps
from typing import Concatenate, ParamSpec

from django.http import HttpRequest, HttpResponseBadRequest, QueryDict
from django.http.response import HttpResponseBase
from django.urls import URLPattern
from django.utils.translation import gettext

#: What no database text column stores: NUL, and lone surrogates (not valid in UTF-8).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

_P = ParamSpec("_P")


def unstorable_parameter(query: QueryDict) -> str | None:
    """The first parameter whose name or a value holds a character no database stores, or None."""
    for name, values in query.lists():
        if UNSTORABLE.search(name) or any(UNSTORABLE.search(value) for value in values):
            return name
    return None


def refuse_unstorable_query(
    view: Callable[Concatenate[HttpRequest, _P], HttpResponseBase],
) -> Callable[Concatenate[HttpRequest, _P], HttpResponseBase]:
    """Answer 400 when the query string holds a character no database stores; else call ``view``."""

    @wraps(view)
    def checked(request: HttpRequest, /, *args: _P.args, **kwargs: _P.kwargs) -> HttpResponseBase:
        name = unstorable_parameter(request.GET)
        if name is not None:
            return HttpResponseBadRequest(
                gettext(
                    "The parameter “%(name)s” holds a NUL character or a lone surrogate, which no "
                    "stored value can contain. Remove it from the address."
                )
                % {"name": UNSTORABLE.sub("\ufffd", name)},
                content_type="text/plain; charset=utf-8",
            )
        return view(request, *args, **kwargs)

    return checked


def refuse_unstorable_queries(patterns: Iterable[URLPattern]) -> list[URLPattern]:
    """``patterns`` with :func:`refuse_unstorable_query` around every view: one check for a whole screen."""
    return [
        URLPattern(
            pattern.pattern, refuse_unstorable_query(pattern.callback), pattern.default_args, pattern.name
        )
        for pattern in patterns
    ]
