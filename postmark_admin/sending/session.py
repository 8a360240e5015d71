"""The process's one ``requests`` session: every client and backend shares its connection pool.

Pooled connections are what make a second send skip the TCP and TLS handshakes (bench/send.py, the
sequential figure). The session holds no per-request state (cookies are refused), so threads share it;
a forked child starts its own.
"""

from __future__ import annotations

import os
import threading
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter

from ..config.effective import app_settings

__all__ = ["get_session", "reset_session"]

_USER_AGENT = "django-postmark-admin"
_session: requests.Session | None = None
_session_lock = threading.Lock()


def get_session() -> requests.Session:
    """The process's session, created on first use; every client and backend shares its pool."""
    global _session
    session = _session
    if session is None:
        with _session_lock:
            if _session is None:
                _session = _new_session()
            session = _session
    return session


def _new_session() -> requests.Session:
    session = requests.Session()
    # Postmark sets no cookies; refusing them keeps the shared session free of
    # per-request state, so threads can share it safely.
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    size = max(app_settings.MAX_CONCURRENT_REQUESTS, 1) * 2
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers.update({"Accept": "application/json", "User-Agent": _USER_AGENT})
    return session


def reset_session() -> None:
    """Close the pooled connections; the next request opens new ones (after fork, in tests)."""
    global _session
    with _session_lock:
        session, _session = _session, None
    if session is not None:
        session.close()


if hasattr(os, "register_at_fork"):
    # A child must not share its parent's sockets.
    os.register_at_fork(after_in_child=lambda: globals().update(_session=None))
