"""The Django email backend: ``EMAIL_BACKEND = "postmark_admin.backends.PostmarkBackend"``.

Thin on purpose: constructor options become the "arguments" layer of
:func:`~postmark_admin.config.effective.effective_config`, which is read again at every
send, so a token changed in the admin is used by the next send without a
restart. The work is in ``postmark_admin.sending.pipeline``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypedDict, Unpack

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

from .config.effective import EffectiveConfig, effective_config
from .sending.pipeline import send_messages


class PostmarkOptions(TypedDict, total=False):
    """The backend's options: ``get_connection(...)`` keywords and ``MAILERS`` OPTIONS.

    Each is a field of the effective configuration (:doc:`/settings`) and wins over the admin,
    settings.py and the environment; None counts as not given.
    """

    server_token: str | None
    api_url: str | None
    message_stream: str | None
    timeout: float | None
    ignore_unsupported_features: bool | None
    default_from_email: str | None
    test_mode: bool | None


#: The option names, in the order above.
OPTIONS: tuple[str, ...] = tuple(PostmarkOptions.__annotations__)


class PostmarkBackend(BaseEmailBackend):
    """Send email through Postmark's HTTP API.

    Works with ``EMAIL_BACKEND`` and ``get_connection(**options)`` (Django 5.2), and with
    Django 6.1's ``MAILERS = {"default": {"BACKEND": ..., "OPTIONS": {...}}}``. Options
    (:class:`PostmarkOptions`): ``server_token``, ``api_url``, ``message_stream``, ``timeout``,
    ``ignore_unsupported_features``, ``default_from_email``, ``test_mode``; unset ones come from the
    admin, settings.py or the environment. ``bulk=True`` sends every message through Postmark's Bulk API
    unless the message says ``bulk = False`` (see :mod:`postmark_admin.sending.bulk`).
    """

    def __init__(
        self, fail_silently: bool = False, *, bulk: bool = False, **options: Unpack[PostmarkOptions]
    ) -> None:
        # ``bulk`` sends every message through Postmark's Bulk API unless it says bulk=False
        # (postmark_admin.sending.bulk); it is this mailer's choice, not a configuration field.
        self.bulk = bool(bulk)
        # Other keywords (Django 6.1's alias, a misspelt option) go to the base class, which on 6.1
        # refuses unknown ones. fail_silently is handled here: Django 6.1 deprecates it on the base class.
        given: dict[str, Any] = dict(options)
        super().__init__(**{name: value for name, value in given.items() if name not in OPTIONS})
        self.fail_silently = fail_silently
        self.arguments = {
            name: value for name, value in given.items() if name in OPTIONS and value is not None
        }

    def __repr__(self) -> str:
        shown = {
            name: ("<secret>" if name == "server_token" else value) for name, value in self.arguments.items()
        }
        return f"PostmarkBackend({shown}, bulk=True)" if self.bulk else f"PostmarkBackend({shown})"

    def config(self) -> EffectiveConfig:
        """The configuration a send made now would use."""
        return effective_config(**self.arguments)

    def send_messages(self, email_messages: Iterable[EmailMessage]) -> int:
        """Send the messages (batched); returns how many Postmark accepted.

        Each message gets ``postmark_status`` (and ``anymail_status``). Errors are
        :class:`~postmark_admin.exceptions.PostmarkError` subclasses, raised once the whole
        list was attempted, unless ``fail_silently``.
        """
        messages = list(email_messages or ())
        if not messages:
            return 0
        try:
            config = self.config()
        except Exception:
            if self.fail_silently:
                return 0
            raise
        return send_messages(
            messages, config, fail_silently=self.fail_silently, connection=self, bulk=self.bulk
        )
