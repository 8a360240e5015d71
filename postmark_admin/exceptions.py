"""Every exception postmark_admin raises derives from :class:`PostmarkError`.

Messages never contain a server token or a webhook password.
"""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured


class PostmarkError(Exception):
    """Base class of every postmark_admin error."""


class PostmarkConfigurationError(PostmarkError, ImproperlyConfigured):
    """A required value is missing or malformed in every place it could come from."""
