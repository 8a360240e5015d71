"""Every exception postmark_admin raises derives from :class:`PostmarkError`.

Messages never contain a server token or a webhook password.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

if TYPE_CHECKING:
    from django.core.mail import EmailMessage


class PostmarkError(Exception):
    """Base class of every postmark_admin error.

    ``email_message`` is the Django message that failed, when the error is about one (else None).
    """

    email_message: EmailMessage | None = None


class PostmarkConfigurationError(PostmarkError, ImproperlyConfigured):
    """A required value is missing or malformed in every place it could come from."""


class PostmarkUnsupportedFeature(PostmarkError, ValueError):
    """The message uses something Postmark cannot do (``send_at``, several tags...).

    Raised before any HTTP call unless ``ignore_unsupported_features`` is on, in
    which case the message is sent without the feature.
    """

    def __init__(self, feature: str, email_message: EmailMessage | None = None) -> None:
        self.feature = feature
        self.email_message = email_message
        super().__init__(
            _(
                "Postmark does not support %(feature)s. Remove it from the message, or set "
                "ignore_unsupported_features to send the message without it."
            )
            % {"feature": feature}
        )


class PostmarkInvalidMessage(PostmarkError, ValueError):
    """The message breaks a rule Postmark enforces (too many recipients, too large...).

    Raised before any HTTP call, so nothing was sent.
    """

    def __init__(self, reason: str, email_message: EmailMessage | None = None) -> None:
        self.reason = reason
        self.email_message = email_message
        super().__init__(reason)


class PostmarkInvalidAddress(PostmarkInvalidMessage):
    """An address of the message (From, To, Cc, Bcc, Reply-To) cannot be parsed or sent.

    Raised before any HTTP call. django-anymail's name for it is ``AnymailInvalidAddress``.
    """


class PostmarkSerializationError(PostmarkInvalidMessage, TypeError):
    """A value of the message cannot become JSON (a ``Decimal`` in the headers, a date in the metadata...).

    ``field`` names where the value is, by its Postmark name (``Headers['X-Price']``, ``Metadata['total']``, ``Tag``);
    raised before any HTTP call rather than sending the value silently converted to a string.
    """

    def __init__(
        self, field: str, value: object, error: str, email_message: EmailMessage | None = None
    ) -> None:
        self.field = field
        super().__init__(
            _(
                "Don't know how to send this data to Postmark: the message's %(field)s is a %(type)s "
                "(%(error)s). Convert it to a string or a number first."
            )
            % {"field": field, "type": type(value).__name__, "error": error},
            email_message,
        )


class PostmarkAPIError(PostmarkError):
    """Postmark refused a request, or the request could not be completed.

    ``status_code`` is the HTTP status (None when no answer came back), ``error_code``
    and ``message`` are Postmark's ``ErrorCode`` and ``Message``, ``response`` the parsed
    JSON answer, ``email_message`` the Django message that failed (when sending), and
    ``errors`` every error of a ``send_messages()`` call (this one first).
    """

    def __init__(
        self,
        description: str,
        *,
        status_code: int | None = None,
        error_code: int | None = None,
        message: str | None = None,
        response: Any = None,
        email_message: EmailMessage | None = None,
    ) -> None:
        self.description = description
        self.status_code = status_code
        self.error_code = error_code
        self.message = message
        self.response = response
        self.email_message = email_message
        self.errors: list[PostmarkError] = [self]
        super().__init__(description)

    def __str__(self) -> str:
        parts = [self.description]
        if self.status_code is not None:
            parts.append(_("Postmark API response %(status)s") % {"status": self.status_code})
        if self.error_code is not None:
            parts.append(_("ErrorCode %(code)s") % {"code": self.error_code})
        if self.message:
            parts.append(_("Postmark says: %(message)s") % {"message": self.message})
        return " ".join(str(part).rstrip(".") + "." for part in parts)


class PostmarkRecipientsRefused(PostmarkAPIError):
    """Postmark sent the message to nobody: every recipient is inactive or invalid."""


class PostmarkTransportError(PostmarkAPIError):
    """No usable answer came back (connection refused, timeout, dropped connection).

    ``ambiguous`` is True when the request may have reached Postmark: the message
    may have been sent, so it is never retried automatically.
    """

    def __init__(self, description: str, *, ambiguous: bool, **kwargs: Any) -> None:
        self.ambiguous = ambiguous
        super().__init__(description, **kwargs)


class PostmarkSettingsUnavailable(PostmarkError):
    """The settings row could not be read: the database refused, is unreachable or timed out.

    Nothing falls back to settings.py, the environment or the defaults meanwhile: they may hold
    another server token or API URL. Only a missing table (before ``migrate``) reads as an empty
    row. ``database`` is the alias read; the database's own error is ``__cause__``.
    """

    def __init__(self, database: str, reason: str) -> None:
        self.database = database
        self.reason = reason
        super().__init__(database, reason)

    def __str__(self) -> str:
        return _(
            "The Postmark settings could not be read from the database %(database)r (%(reason)s). "
            "settings.py, the environment and the defaults are not used instead while the database "
            "cannot answer. Check that the database server runs and that DATABASES[%(database)r] in "
            "settings.py points at it, then try again."
        ) % {"database": self.database, "reason": self.reason}


class PostmarkSuppressionRefused(PostmarkAPIError):
    """Postmark refused to change one address's suppression (HTTP 200, that address "Failed").

    A spam complaint cannot be reactivated through the API: ``message`` says so in Postmark's words
    and ``error_code`` is the code Postmark's table gives that text (1406), when it is known.
    ``address`` is the address, ``reactivating`` whether it was a reactivation (else a suppression).
    """

    def __init__(self, address: str, *, delete: bool, **kwargs: Any) -> None:
        self.address = address
        self.reactivating = delete
        if delete:
            description = _("Postmark refused to reactivate %(address)s.") % {"address": address}
        else:
            description = _("Postmark refused to suppress %(address)s.") % {"address": address}
        super().__init__(description, **kwargs)
