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
from django.utils.translation import gettext as _

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


class QueuedPostmarkOptions(PostmarkOptions, total=False):
    """:class:`PostmarkOptions` and where the tasks go (``POSTMARK_TASK_BACKEND`` / ``POSTMARK_TASK_QUEUE``)."""

    task_backend: str | None
    queue_name: str | None


class QueuedPostmarkBackend(PostmarkBackend):
    """Map and check messages here, then send them from a task worker (Django's Tasks framework).

    ``send_messages()`` raises for an invalid message before anything is queued, then enqueues one
    ``postmark_admin.sending.queued.send_prepared`` task per Postmark batch (at most 500
    messages) on ``task_backend`` (an alias in ``TASKS``) and ``queue_name``; it returns how many
    messages were queued, and each gets ``postmark_task_ids``. The worker sends with its own
    configuration: a ``server_token`` option works only from Django 6.1's ``MAILERS``, which the
    worker reads too, since secrets never go into the queue. See docs/queued.rst.
    """

    def __init__(self, fail_silently: bool = False, **options: Unpack[QueuedPostmarkOptions]) -> None:
        given: dict[str, Any] = dict(options)
        self.task_backend: str | None = given.pop("task_backend", None)
        self.queue_name: str | None = given.pop("queue_name", None)
        super().__init__(fail_silently=fail_silently, **given)

    def __repr__(self) -> str:
        return "Queued" + super().__repr__()

    def send_messages(self, email_messages: Iterable[EmailMessage]) -> int:
        """Queue the messages (mapped and checked now); returns how many were queued."""
        from .config.app_settings import app_settings
        from .exceptions import PostmarkConfigurationError
        from .sending.enqueue import enqueue_messages
        from .sending.queued import QUEUEABLE_OPTIONS

        messages = list(email_messages or ())
        if not messages:
            return 0
        # Django 6.1 gives a MAILERS backend its alias: the worker reads that mailer's OPTIONS itself.
        mailer = getattr(self, "alias", None)
        try:
            if "server_token" in self.arguments and mailer is None:
                raise PostmarkConfigurationError(
                    _(
                        "QueuedPostmarkBackend cannot take a server token as an argument: secrets never go "
                        "into the task queue. Configure it where the workers read it (the admin, "
                        "settings.py, the environment or Django 6.1's MAILERS OPTIONS)."
                    )
                )
            config = self.config()
        except Exception:
            if self.fail_silently:
                return 0
            raise
        return enqueue_messages(
            messages,
            config,
            task_backend=self.task_backend or app_settings.TASK_BACKEND,
            queue_name=self.queue_name or app_settings.TASK_QUEUE,
            mailer=mailer,
            options={name: self.arguments[name] for name in QUEUEABLE_OPTIONS if name in self.arguments},
            fail_silently=self.fail_silently,
            connection=self,
        )
