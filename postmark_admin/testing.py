"""Helpers for testing a site that uses postmark_admin."""

from __future__ import annotations

from typing import Any

from django.test.utils import TestContextDecorator

from .config.effective import pop_override, push_override


def overridable_fields() -> frozenset[str]:
    """The names :class:`override_postmark_settings` accepts: the settings row's editable fields."""
    from .models import PostmarkSettings

    return frozenset(
        field.name
        for field in PostmarkSettings._meta.concrete_fields
        if field.editable and not field.primary_key
    )


class override_postmark_settings(TestContextDecorator):
    """Override the effective Postmark configuration, like Django's ``override_settings``.

    Works as a context manager, a function decorator and a ``TestCase`` class
    decorator. While it is active the database row is not read at all: the given
    fields stand in for it (nested overrides add to the outer ones), so tests do
    not depend on the database and work in ``SimpleTestCase``. Fields not given
    come from settings.py, the environment or the default, and arguments given by
    code still win::

        @override_postmark_settings(server_token="POSTMARK_API_TEST", api_url=sandbox.url)
        def test_signup_sends_welcome(self): ...
    """

    def __init__(self, **fields: Any) -> None:
        accepted = overridable_fields()
        unknown = set(fields) - accepted
        if unknown:
            raise TypeError(
                f"override_postmark_settings() got unknown fields: {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(sorted(accepted))}"
            )
        self.fields = fields
        super().__init__()

    def enable(self) -> None:
        push_override(self.fields)

    def disable(self) -> None:
        pop_override(self.fields)
