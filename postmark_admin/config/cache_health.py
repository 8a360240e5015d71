"""Whether the cache that holds the settings row can be used, for the system checks.

:mod:`~postmark_admin.config.row_cache` goes on without a failing cache (it reads the database instead);
these say why it fails, so that ``manage.py check`` (``postmark_admin.E010``: the backend or its client
library cannot be imported) and ``check --deploy`` (``postmark_admin.E011``: it does not answer) can.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import InvalidCacheBackendError, caches

from .row_cache import VERSION_KEY, cache_alias, error_summary, is_shared

#: The client library each of Django's cache backends imports only when first used.
CLIENT_LIBRARIES = {
    "django.core.cache.backends.redis.RedisCache": "redis",
    "django.core.cache.backends.memcached.PyMemcacheCache": "pymemcache",
    "django.core.cache.backends.memcached.PyLibMCCache": "pylibmc",
}


@dataclass(frozen=True)
class CacheProblem:
    """Why the settings cache cannot be used: ``kind`` is ``"backend"`` (its class cannot be loaded),
    ``"library"`` (its client library cannot be imported) or ``"unreachable"`` (it does not answer)."""

    kind: str
    backend: str
    library: str
    error: str


def _backend_path(alias: str) -> str:
    entry = settings.CACHES.get(alias) or {}
    return str(entry.get("BACKEND", ""))


def cache_load_problem() -> CacheProblem | None:
    """Whether the settings cache's backend and client library can be imported (no network)."""
    alias = cache_alias()
    backend = _backend_path(alias)
    try:
        caches[alias]
    except InvalidCacheBackendError as error:
        return CacheProblem("backend", backend, "", error_summary(error))
    library = CLIENT_LIBRARIES.get(backend, "")
    if library:
        try:
            importlib.import_module(library)
        except ImportError as error:
            return CacheProblem("library", backend, library, error_summary(error))
    return None


def cache_answer_problem() -> CacheProblem | None:
    """Whether the settings cache answers a read now (one round trip; a local cache always does)."""
    alias = cache_alias()
    try:
        cache = caches[alias]
        if is_shared(cache):
            cache.get(VERSION_KEY)
    except Exception as error:
        return CacheProblem("unreachable", _backend_path(alias), "", error_summary(error))
    return None
