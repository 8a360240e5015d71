"""Helpers for testing a site that uses postmark_admin."""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.test.utils import TestContextDecorator, override_settings

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


#: The dotted path of :class:`~postmark_admin.backends.PostmarkBackend`, as settings name it.
POSTMARK_BACKEND = "postmark_admin.backends.PostmarkBackend"


def uses_mailers() -> bool:
    """Whether Django sends through ``MAILERS`` here: Django 6.1 or later, with ``MAILERS`` in settings.

    Django decides the same way: on 6.1 a site that defines ``MAILERS`` sends through its ``"default"``
    alias (and may not define ``EMAIL_BACKEND``); every other site sends through ``EMAIL_BACKEND``.
    """
    return django.VERSION >= (6, 1) and hasattr(settings, "MAILERS")


class use_postmark_backend(TestContextDecorator):
    """Send Django's mail through :class:`~postmark_admin.backends.PostmarkBackend` while active.

    Django's test runner (and pytest-django) replaces the email backend with the in-memory ``locmem``
    one for every test, so ``send_mail()`` in a test never reaches Postmark's API, nor the
    :class:`~postmark_admin.sandbox.Sandbox`. This undoes that for the duration, the way Django's own
    setup does it: on Django 6.1 with ``MAILERS`` the ``"default"`` mailer's ``BACKEND`` becomes
    PostmarkBackend (other aliases keep theirs, and ``OPTIONS`` are dropped: Django's test setup dropped
    them already); otherwise ``EMAIL_BACKEND`` does. Everything is restored afterwards.

    It sets the backend only. Point the configuration at a sandbox with
    :class:`override_postmark_settings`, or use the ``postmark_outbox`` pytest fixture, which does
    both::

        with Sandbox() as sandbox, override_postmark_settings(
            server_token=sandbox.token, api_url=sandbox.url
        ), use_postmark_backend():
            send_mail("Hi", "Hello", "shop@example.com", ["ann@example.com"])

    Works as a context manager, a function decorator and a ``TestCase`` class decorator. Whether the
    site uses ``MAILERS`` is decided when it is entered, so that the settings of that moment count.
    """

    def __init__(self) -> None:
        self._override: override_settings | None = None
        super().__init__()

    def enable(self) -> None:
        if uses_mailers():
            mailers = {**settings.MAILERS, "default": {"BACKEND": POSTMARK_BACKEND}}
            self._override = override_settings(MAILERS=mailers)
        else:
            self._override = override_settings(EMAIL_BACKEND=POSTMARK_BACKEND)
        self._override.enable()

    def disable(self) -> None:
        if self._override is not None:
            self._override.disable()
            self._override = None
