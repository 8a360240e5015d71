"""Secret values: a type that never shows itself, and encryption at rest.

Secrets are encrypted with Fernet (AES-128-CBC + HMAC-SHA256). The key is derived
from ``SECRET_KEY`` with HKDF, so a database dump alone yields nothing usable.
Every key in ``SECRET_KEY_FALLBACKS`` is tried for decryption, so rotating
``SECRET_KEY`` the Django way keeps stored secrets readable; the next save
re-encrypts them with the new key.
"""

from __future__ import annotations

import base64
import hmac
from typing import NoReturn

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

#: Prefix of every stored ciphertext: lets us change the scheme later and tell
#: ciphertext from a plaintext value that slipped into the column.
PREFIX = "pma1$"
MASK = "********"


class SecretDecryptionError(Exception):
    """A stored secret cannot be decrypted with SECRET_KEY or any of its fallbacks."""


class Secret:
    """A string that does not show itself.

    ``str()``, ``repr()``, f-strings, templates and logging all see a mask; the
    value is only reachable through :meth:`reveal`, so leaking it takes an
    explicit call. Pickling is refused so that a secret never lands in a cache
    or a session in clear text by accident.
    """

    __slots__ = ("_ciphertext", "_value")

    def __init__(self, value: str = "", *, ciphertext: str | None = None) -> None:
        self._value = value
        # Set only for a value that could not be decrypted: saving the row again
        # keeps the original ciphertext instead of wiping it.
        self._ciphertext = ciphertext

    @classmethod
    def undecryptable(cls, ciphertext: str) -> Secret:
        return cls("", ciphertext=ciphertext)

    @property
    def is_undecryptable(self) -> bool:
        return self._ciphertext is not None

    @property
    def ciphertext(self) -> str | None:
        return self._ciphertext

    def reveal(self) -> str:
        """The clear-text value. Never log, render or raise it."""
        return self._value

    def masked(self, visible: int = 4) -> str:
        """A mask with at most the last ``visible`` characters, for admins to recognise a value."""
        if not self._value:
            return ""
        # Short secrets show nothing: four characters of an eight-character secret is half of it.
        shown = self._value[-visible:] if len(self._value) >= 3 * visible else ""
        return f"{MASK}{shown}"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            other_value = other.reveal()
        elif isinstance(other, str):
            other_value = other
        else:
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other_value.encode())

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __str__(self) -> str:
        return MASK if self._value else ""

    def __repr__(self) -> str:
        if self.is_undecryptable:
            return "Secret(<undecryptable>)"
        return f"Secret({MASK!r})" if self._value else "Secret('')"

    def __reduce__(self) -> NoReturn:
        raise TypeError("postmark_admin Secret values cannot be pickled")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> Secret:
        return self


def _derive(secret_key: str) -> Fernet:
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"postmark_admin", info=b"secret-fields-v1").derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(raw))


def _fernet() -> MultiFernet:
    """Encrypts with SECRET_KEY, decrypts with it or any of SECRET_KEY_FALLBACKS (read now)."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", ())]
    return MultiFernet([_derive(str(key)) for key in keys])


def encrypt(plaintext: str) -> str:
    """Encrypt ``plaintext`` with the current SECRET_KEY; returns the stored form."""
    token = _fernet().encrypt(plaintext.encode())
    return PREFIX + token.decode("ascii")


def decrypt(stored: str) -> str:
    """Decrypt a stored value with SECRET_KEY or any fallback key.

    Raises :class:`SecretDecryptionError` without saying anything about the value.
    """
    if not stored.startswith(PREFIX):
        raise SecretDecryptionError("the stored value is not in postmark_admin's encrypted format")
    try:
        return _fernet().decrypt(stored[len(PREFIX) :].encode("ascii")).decode()
    except (InvalidToken, UnicodeError, ValueError):
        raise SecretDecryptionError(
            "the stored value cannot be decrypted with SECRET_KEY or SECRET_KEY_FALLBACKS"
        ) from None
