"""Where the server token may be sent: the API URL's host must be allowed, and plain http:// loopback.

The token goes to whatever host the API URL names, so a user who may edit the settings but may not
see the token could otherwise point the URL at a host of theirs and receive it with the next send.
Three rules close that: ``POSTMARK_ALLOWED_API_HOSTS`` lists the hosts a URL may name (default
Postmark's API host and loopback, for the sandbox), checked by the form and before every request;
plain ``http://`` only for loopback hosts; and a change of the API URL's origin in the admin clears
the stored token unless a new one is typed in the same save.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django import forms
from django.utils.translation import gettext as _

from .app_settings import app_settings
from .crypto import Secret
from .fields import DEFAULT_API_URL, FIELDS, read_settings_place
from .secret_form import KEEP


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an IP address, ``[::1]`` too) can only be this machine: localhost,
    127.0.0.0/8, ::1."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def origin(url: str) -> tuple[str, str, int | None]:
    """``(scheme, host, port)`` of a URL (the port as given, None when implied)."""
    try:
        parts = urlsplit(url)
        return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port
    except ValueError:
        return "", url, None


def api_url_problem(url: str) -> str | None:
    """Why the server token may not be sent to ``url``, or None."""
    parts = urlsplit(url)
    host = _host(url)
    if parts.scheme not in ("http", "https") or not host:
        return _(
            "The API URL %(url)r is not an http:// or https:// URL: use https://api.postmarkapp.com/ (the "
            "default) or the sandbox's URL."
        ) % {"url": url}
    allowed = app_settings.ALLOWED_API_HOSTS
    if "*" not in allowed and host not in allowed:
        return _(
            "The API URL's host %(host)r is not in POSTMARK_ALLOWED_API_HOSTS (%(allowed)s): "
            "the server token is sent only to an allowed host. Use Postmark's or the sandbox's URL, or "
            "add the host to POSTMARK_ALLOWED_API_HOSTS in settings.py."
        ) % {"host": host, "allowed": ", ".join(allowed) or _("empty")}
    if parts.scheme == "http" and not is_loopback(host):
        return _(
            "The API URL %(url)r is plain http://, which is allowed only for loopback hosts (the sandbox): "
            "use https://."
        ) % {"url": url}
    return None


def configured_api_url() -> str:
    """The API URL settings.py, the environment or the default give (what a blank row field means)."""
    spec = FIELDS["api_url"]
    for place in spec.settings_places:
        value = spec.parse(read_settings_place(place))
        if value:
            return str(value)
    for name in spec.env_names:
        value = spec.parse(os.environ.get(name))
        if value:
            return str(value)
    return DEFAULT_API_URL


@dataclass(frozen=True)
class ApiUrlChange:
    """A save of the settings form that moves the API URL to another origin."""

    before: str
    after: str
    token_cleared: bool

    def log_message(self) -> str:
        """For the admin log ("Changed " + this): what changed, and what it did to the stored token."""
        # Stored in the admin log in the writing admin's language: Django translates only the field
        # names it knows when it shows the log, and this is a sentence of ours.
        values = {"before": self.before, "after": self.after}
        if self.token_cleared:
            return (
                _("API URL origin from %(before)s to %(after)s; the stored server token was cleared") % values
            )
        return _("API URL origin from %(before)s to %(after)s") % values

    def user_message(self) -> str:
        if self.token_cleared:
            return str(
                _(
                    "The API URL now points at %(after)s instead of %(before)s, so the stored server token was "
                    "cleared: it is sent only where it was entered for. Enter the token for the new host."
                )
                % {"after": self.after, "before": self.before}
            )
        return str(_("The API URL now points at %(after)s instead of %(before)s.") % vars(self))


def _shown(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}" + (f":{port}" if port is not None else "")


def guard_api_url_change(form: forms.ModelForm[Any]) -> ApiUrlChange | None:
    """Call on a valid settings form before saving: when the API URL's origin changes and no token was
    typed in the same save, clear the stored token on ``form.instance`` (the token never follows the URL)."""
    fallback = configured_api_url()
    before = str(form.initial.get("api_url") or "") or fallback
    after = str(form.cleaned_data.get("api_url") or "") or fallback
    if origin(before) == origin(after):
        return None
    typed = form.cleaned_data.get("server_token", KEEP) is not KEEP
    instance = form.instance
    stored = getattr(instance, "server_token", None)
    cleared = not typed and isinstance(stored, Secret) and bool(stored or stored.is_undecryptable)
    if cleared:
        setattr(instance, "server_token", Secret(""))  # noqa: B010
    return ApiUrlChange(_shown(before), _shown(after), cleared)
