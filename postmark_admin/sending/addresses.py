"""Pure: Django's address strings -> parsed mailboxes, and back to the text Postmark's fields take.

Most addresses a site sends to are ``local@domain`` or ``Name <local@domain>`` with a plain ASCII
name; those are recognised by one compiled regex. Anything else (quoted names, comments, several
addresses in one string, non-ASCII) goes through :func:`email.utils.getaddresses`, the reference the
tests compare the fast path with.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any

from django.utils.encoding import force_str
from django.utils.translation import gettext as _

from ..exceptions import PostmarkInvalidMessage

_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_ADDR_SPEC = r"[A-Za-z0-9_%+\-]+(?:\.[A-Za-z0-9_%+\-]+)*@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*"
# What getaddresses() reads as (name, addr) unchanged: a name of ASCII words separated by single spaces.
_SIMPLE = re.compile(
    rf"[ \t]*(?:(?:([A-Za-z0-9]+(?: [A-Za-z0-9]+)*)[ \t]*)?<({_ADDR_SPEC})>|({_ADDR_SPEC}))[ \t]*"
)


@dataclass(frozen=True)
class ParsedAddress:
    """One mailbox: its display name (may be empty) and its addr-spec."""

    display_name: str
    addr_spec: str

    @functools.cached_property  # frozen, but memoized parses are formatted again and again
    def formatted(self) -> str:
        """``Name <local@domain>`` with the name quoted when needed and the domain IDNA-encoded."""
        local, _sep, domain = self.addr_spec.rpartition("@")
        addr = f"{local}@{idna(domain)}"
        if not self.display_name:
            return addr
        name = self.display_name
        if _SPECIALS.search(name):
            name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return f"{name} <{addr}>"

    def format(self) -> str:
        """``Name <local@domain>`` with the name quoted when needed and the domain IDNA-encoded."""
        return self.formatted


def idna(domain: str) -> str:
    """``domain`` with non-ASCII labels IDNA-encoded (Postmark wants ASCII domains)."""
    if domain.isascii():
        return domain
    return domain.encode("idna").decode("ascii")


def split_mailboxes(text: str) -> list[tuple[str, str]]:
    """``(display name, addr-spec)`` pairs in ``text``, as :func:`email.utils.getaddresses` reads them."""
    simple = _SIMPLE.fullmatch(text)
    if simple is None:
        return getaddresses([text])
    name, angled, bare = simple.groups()
    return [(name or "", angled)] if angled else [("", bare)]


class _Refused(ValueError):
    """Why a text is not a valid address: ``"line break"``, ``"syntax"`` or ``"non-ascii local"``."""


@functools.lru_cache(maxsize=1024)
def _mailboxes(text: str) -> tuple[ParsedAddress, ...]:
    """The mailboxes in one non-blank address string. Memoized: a site sends From the same few
    addresses, so each is parsed and formatted once (refusals raise, and are not memoized)."""
    if "\n" in text or "\r" in text:
        raise _Refused("line break")
    parsed = []
    for name, addr in split_mailboxes(text):
        local, at, domain = addr.rpartition("@")
        if not at or not local or not domain:
            raise _Refused("syntax")
        if not local.isascii():
            raise _Refused("non-ascii local")
        parsed.append(ParsedAddress(name, addr))
    return tuple(parsed)


def parse_addresses(values: Iterable[Any], field_name: str, message: Any = None) -> list[ParsedAddress]:
    """Parse Django's address strings (``"Name <a@b>"``, or several comma-separated)."""
    parsed: list[ParsedAddress] = []
    for value in values:
        text = value if type(value) is str else force_str(value)
        if not text.strip():
            continue
        try:
            parsed.extend(_mailboxes(text))
        except _Refused as refused:
            reason = refused.args[0]
            if reason == "line break":
                description = _("Invalid %(field)s address %(address)r: line breaks are not allowed.")
            elif reason == "non-ascii local":
                description = _(
                    "Invalid %(field)s address %(address)r: Postmark accepts only ASCII before the @."
                )
            else:
                description = _("Invalid %(field)s address %(address)r.")
            raise PostmarkInvalidMessage(
                description % {"field": field_name, "address": text}, message
            ) from None
    return parsed


def join_addresses(addresses: Iterable[ParsedAddress]) -> str:
    """The comma-separated field value Postmark takes (``To``, ``Cc``, ``Bcc``, ``ReplyTo``, ``From``)."""
    return ", ".join([address.formatted for address in addresses])


def count_mailboxes(value: str) -> int:
    return len(split_mailboxes(value))
