"""gettext that also works where Django is not set up (``python -m postmark_admin.sandbox``)."""

from __future__ import annotations


def gettext(message: str) -> str:
    """Django's gettext once settings and apps are ready, else ``message`` unchanged."""
    try:
        from django.apps import apps
        from django.conf import settings

        if settings.configured and apps.ready:
            from django.utils.translation import gettext as django_gettext

            return django_gettext(message)
    except ImportError:  # pragma: no cover - Django is a dependency, but the sandbox does not need it
        pass
    return message
