"""gettext that also works where Django is not set up (``python -m postmark_admin.sandbox``).

The sandbox's strings are in the package's catalog (``makemessages`` finds ``_()`` and ``ngettext()``
here like anywhere else): under Django they are translated, standalone they stay English.
"""

from __future__ import annotations


def _django_ready() -> bool:
    try:
        from django.apps import apps
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency, but the sandbox does not need it
        return False
    return bool(settings.configured and apps.ready)


def gettext(message: str) -> str:
    """Django's gettext once settings and apps are ready, else ``message`` unchanged."""
    if _django_ready():
        from django.utils.translation import gettext as django_gettext

        return django_gettext(message)
    return message


def ngettext(singular: str, plural: str, number: int) -> str:
    """Django's ngettext once settings and apps are ready, else English's two forms."""
    if _django_ready():
        from django.utils.translation import ngettext as django_ngettext

        return django_ngettext(singular, plural, number)
    return singular if number == 1 else plural
