"""Pure: Postmark's limits on one message object, checked before any HTTP call.

What Postmark would refuse anyway (postmark-api.md; docs/sending.rst) is refused here with a clear
:class:`~postmark_admin.exceptions.PostmarkInvalidMessage`, naming the message, so a batch is not sent
only to come back with that message refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.mail import EmailMessage
from django.utils.translation import gettext as _

from ..exceptions import PostmarkInvalidMessage
from .addresses import count_mailboxes

#: Postmark's limits (see docs/sending.rst).
MAX_RECIPIENTS = 50
MAX_MESSAGE_BYTES = 10 * 1024 * 1024
MAX_METADATA_KEY = 20
MAX_METADATA_VALUE = 80
MAX_TAG = 1000


def count_recipients(data: Mapping[str, Any]) -> int:
    return sum(count_mailboxes(data[name]) for name in ("To", "Cc", "Bcc") if data.get(name))


def validate(
    data: Mapping[str, Any], message: EmailMessage | None = None, recipients: int | None = None
) -> None:
    """Refuse what Postmark would refuse anyway, before any HTTP call."""
    if recipients is None:
        recipients = count_recipients(data)
    if recipients == 0:
        raise PostmarkInvalidMessage(_("The message has no recipients (To, Cc or Bcc)."), message)
    if recipients > MAX_RECIPIENTS:
        raise PostmarkInvalidMessage(
            _(
                "The message has %(count)s recipients; Postmark accepts at most %(limit)s (To, Cc and Bcc together)."
            )
            % {"count": recipients, "limit": MAX_RECIPIENTS},
            message,
        )
    tag = data.get("Tag")
    if isinstance(tag, str) and len(tag) > MAX_TAG:
        raise PostmarkInvalidMessage(
            _("The tag is %(length)s characters long; Postmark accepts at most %(limit)s.")
            % {"length": len(tag), "limit": MAX_TAG},
            message,
        )
    metadata = data.get("Metadata")
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise PostmarkInvalidMessage(_("metadata must be a dict of strings."), message)
        seen: set[str] = set()
        for key, value in metadata.items():
            key = str(key)
            if len(key) > MAX_METADATA_KEY:
                raise PostmarkInvalidMessage(
                    _("The metadata key %(key)r is longer than %(limit)s characters.")
                    % {"key": key, "limit": MAX_METADATA_KEY},
                    message,
                )
            if value is not None and len(str(value)) > MAX_METADATA_VALUE:
                raise PostmarkInvalidMessage(
                    _("The metadata value of %(key)r is longer than %(limit)s characters.")
                    % {"key": key, "limit": MAX_METADATA_VALUE},
                    message,
                )
            if key.lower() in seen:
                raise PostmarkInvalidMessage(
                    _("The metadata keys contain %(key)r twice (Postmark ignores case).") % {"key": key},
                    message,
                )
            seen.add(key.lower())


__all__ = [
    "MAX_MESSAGE_BYTES",
    "MAX_METADATA_KEY",
    "MAX_METADATA_VALUE",
    "MAX_RECIPIENTS",
    "MAX_TAG",
    "count_recipients",
    "validate",
]
