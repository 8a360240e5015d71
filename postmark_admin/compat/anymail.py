"""django-anymail's exception names, for code moving from anymail with only an import change.

Replace ``from anymail.exceptions import AnymailAPIError, ...`` with
``from postmark_admin.compat.anymail import AnymailAPIError, ...``: each name *is* the
postmark_admin class with the same meaning (not a copy and not a subclass), so an ``except``
clause written with either name catches the same errors, and the attributes anymail's code reads
are there (``status_code``, ``response``, ``email_message``).

What differs from anymail (docs/migrating.rst): ``response`` is Postmark's parsed JSON answer,
not a ``requests.Response``; ``AnymailRecipientsRefused`` is also an ``AnymailAPIError``
(Postmark answered, and refused every recipient); our classes do not derive from anymail's, so
``except anymail.exceptions.AnymailAPIError`` catches none of them.

django-anymail need not be installed: nothing here imports it.
"""

from __future__ import annotations

from ..exceptions import (
    PostmarkAPIError,
    PostmarkConfigurationError,
    PostmarkError,
    PostmarkInvalidAddress,
    PostmarkInvalidMessage,
    PostmarkRecipientsRefused,
    PostmarkSerializationError,
    PostmarkUnsupportedFeature,
)

#: Base of every error (anymail's ``AnymailError``).
AnymailError = PostmarkError
#: Postmark refused a request or no answer came back.
AnymailAPIError = PostmarkAPIError
#: Postmark refused every recipient (raised unless IGNORE_RECIPIENT_STATUS is on).
AnymailRecipientsRefused = PostmarkRecipientsRefused
#: The message uses something Postmark cannot do.
AnymailUnsupportedFeature = PostmarkUnsupportedFeature
#: An address cannot be parsed or sent.
AnymailInvalidAddress = PostmarkInvalidAddress
#: A value of the message cannot become JSON.
AnymailSerializationError = PostmarkSerializationError
#: A required setting is missing or malformed.
AnymailConfigurationError = PostmarkConfigurationError
#: anymail has no such class; the message breaks one of Postmark's rules (too many recipients...).
AnymailInvalidMessage = PostmarkInvalidMessage

__all__ = [
    "AnymailAPIError",
    "AnymailConfigurationError",
    "AnymailError",
    "AnymailInvalidAddress",
    "AnymailInvalidMessage",
    "AnymailRecipientsRefused",
    "AnymailSerializationError",
    "AnymailUnsupportedFeature",
]
