"""The configuration the site's default mailer sends with, for the admin screens.

On Django 6.1 a ``MAILERS["default"]`` entry whose backend is
:class:`~postmark_admin.backends.PostmarkBackend` hands its ``OPTIONS`` to the backend, where they
are the "arguments" layer of :func:`~postmark_admin.config.effective.effective_config` (they win over
the admin's row, settings.py and the environment). The settings page's panel and its buttons use the
same options, so that what they show and test is what the site's mail uses, and name the place
(``settings.MAILERS['default']['OPTIONS']['timeout']``) instead of "argument timeout".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string

from .effective import EffectiveConfig, Resolved, Source, effective_config
from .fields import FIELDS

DEFAULT_MAILER = "default"
#: Configuration fields the backend takes no option for (the webhook views read them).
NOT_OPTIONS = frozenset({"webhook_credentials"})
#: Where the backend class lives (compared by name: config/ never imports the backend).
BACKEND_PATH = ("postmark_admin.backends", "PostmarkBackend")


def _is_postmark_backend(path: object) -> bool:
    if not isinstance(path, str):
        return False
    try:
        backend = import_string(path)
    except ImportError:
        return False
    return any((cls.__module__, cls.__qualname__) == BACKEND_PATH for cls in getattr(backend, "__mro__", ()))


def mailer_options(alias: str = DEFAULT_MAILER) -> dict[str, Any]:
    """The configuration fields the ``MAILERS[alias]`` entry's OPTIONS set, when its backend is ours.

    Empty without ``MAILERS`` (Django 5.2, or 6.1 still on ``EMAIL_BACKEND``), for another backend,
    and for OPTIONS that are not configuration fields (the backend refuses those itself).
    """
    mailers = getattr(settings, "MAILERS", None)
    entry = mailers.get(alias) if isinstance(mailers, Mapping) else None
    if not isinstance(entry, Mapping) or not _is_postmark_backend(entry.get("BACKEND")):
        return {}
    options = entry.get("OPTIONS")
    if not isinstance(options, Mapping):
        return {}
    return {
        name: value
        for name, value in options.items()
        if name in FIELDS and name not in NOT_OPTIONS and value is not None
    }


def mailer_config(alias: str = DEFAULT_MAILER) -> EffectiveConfig:
    """:func:`~postmark_admin.config.effective.effective_config` with the mailer's OPTIONS, each
    value taken from them named by its place in ``settings.MAILERS``."""
    options = mailer_options(alias)
    config = effective_config(**options)
    if not options:
        return config
    sources = {
        name: (
            Resolved(
                resolved.value,
                resolved.source,
                f"settings.MAILERS[{alias!r}]['OPTIONS'][{name!r}]",
            )
            if resolved.source is Source.ARGUMENT
            else resolved
        )
        for name, resolved in config.sources.items()
    }
    return replace(config, sources=sources)
