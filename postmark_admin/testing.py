"""Helpers for testing a site that uses postmark_admin."""

from __future__ import annotations

from typing import Any

from django.test.utils import TestContextDecorator

from .config import effective as conf

#: The names override_postmark_settings() accepts: the settings row's fields.
OVERRIDABLE = frozenset(
    {
        "server_token",
        "api_url",
        "message_stream",
        "webhook_username",
        "webhook_password",
        "ignore_unsupported_features",
        "default_from_email",
        "timeout",
    }
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
        unknown = set(fields) - OVERRIDABLE
        if unknown:
            raise TypeError(
                f"override_postmark_settings() got unknown fields: {', '.join(sorted(unknown))}; "
                f"accepted: {', '.join(sorted(OVERRIDABLE))}"
            )
        self.fields = fields
        super().__init__()

    def enable(self) -> None:
        conf._overrides.append(self.fields)
        conf._bump_generation()

    def disable(self) -> None:
        # Remove this very layer even if nested overrides are closed out of order.
        for index in range(len(conf._overrides) - 1, -1, -1):
            if conf._overrides[index] is self.fields:
                del conf._overrides[index]
                break
        conf._bump_generation()
