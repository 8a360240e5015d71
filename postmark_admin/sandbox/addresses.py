"""Parse Postmark's comma-separated address fields ("To", "Cc", "Bcc", "From", "ReplyTo"). Pure."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# A dot-atom local part in ASCII (Postmark refuses non-ASCII local parts), then a domain of at least two
# labels. Domain labels may be non-ASCII (IDN); Postmark converts them.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"(?:[^\W_]|[^\W_][\w-]*[^\W_])"
_ADDR_SPEC = re.compile(rf"^{_LOCAL}@(?:{_LABEL}\.)+{_LABEL}$")


@dataclass(frozen=True)
class Address:
    """One mailbox: an optional display name and the address itself."""

    name: str
    email: str

    @property
    def normalized(self) -> str:
        """The address lower-cased, as Postmark compares and reports it."""
        return self.email.lower()


class AddressError(ValueError):
    """``text`` could not be parsed as a mailbox; ``args[0]`` is the offending part."""

    def __init__(self, part: str) -> None:
        super().__init__(part)
        self.part = part


# Without double quotes, a part is a run of angle-bracketed text (commas allowed inside, up to the
# closing ">" or the end) and other characters but commas.
_UNQUOTED_PART = re.compile(r"(?:<[^>]*>?|[^,<])+")


def split_addresses(value: str) -> list[str]:
    """Split on commas that are outside double quotes and angle brackets; drop empty parts."""
    # The common fields (one address, or no quoted names) take a fast path; the scanner below is the
    # reference, and the tests check that both agree.
    if '"' not in value:
        if "," not in value:
            part = value.strip()
            return [part] if part else []
        return [part.strip() for part in _UNQUOTED_PART.findall(value) if part.strip()]
    return _scan_addresses(value)


def _scan_addresses(value: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    in_quotes = False
    in_angle = False
    escaped = False
    for char in value:
        if escaped:
            current.append(char)
            escaped = False
            continue
        if char == "\\" and in_quotes:
            current.append(char)
            escaped = True
            continue
        if char == '"':
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_angle = True
        elif char == ">" and not in_quotes:
            in_angle = False
        if char == "," and not in_quotes and not in_angle:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part.strip() for part in parts if part.strip()]


@functools.lru_cache(maxsize=1024)  # Address is immutable; a client sends From the same few addresses
def parse_mailbox(text: str) -> Address:
    """``addr``, ``Name <addr>`` or ``"Name, Jr." <addr>``; raise :class:`AddressError` otherwise."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        start = text.rindex("<")
        email = text[start + 1 : -1].strip()
        name = text[:start].strip()
        if name.startswith('"'):
            if len(name) < 2 or not name.endswith('"'):
                raise AddressError(text)
            name = name[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        elif '"' in name or "<" in name or ">" in name:
            raise AddressError(text)
    else:
        email, name = text, ""
    if not _ADDR_SPEC.match(email):
        raise AddressError(text)
    return Address(name=name, email=email)


def parse_address_list(value: str) -> list[Address]:
    """Every mailbox in a comma-separated field, in order; raise :class:`AddressError` on the first bad one."""
    return [parse_mailbox(part) for part in split_addresses(value)]
