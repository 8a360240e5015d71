"""HTTP basic auth for the webhook URLs.

Postmark does not sign webhooks: the basic auth credentials in the webhook URL
(or its HttpAuth) are the only proof that a request comes from Postmark. Every
configured credential is accepted at once, so a password can be rotated without
losing webhooks: add the new one, change it in Postmark, then drop the old one.
"""

from __future__ import annotations

import base64
import binascii
import enum
import hmac
from collections.abc import Iterable

from ..config.effective import WebhookCredential


class AuthResult(enum.Enum):
    """The outcome of checking a request's credentials."""

    ACCEPTED = "accepted"
    MISSING = "missing"
    MALFORMED = "malformed"
    WRONG = "wrong"


def parse_basic_auth(header: str | None) -> tuple[str, str] | None:
    """``(username, password)`` from an ``Authorization: Basic ...`` header, or None.

    Raises ValueError when the header is basic auth but cannot be decoded.
    """
    if not header:
        return None
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise ValueError("not basic auth")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("undecodable basic auth") from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise ValueError("basic auth without ':'")
    return username, password


def check_credentials(
    header: str | None, accepted: Iterable[WebhookCredential]
) -> tuple[AuthResult, str | None]:
    """Check an Authorization header against every accepted credential, in constant time.

    Returns the result and the username that was sent (for logging: never the password).
    Every credential is compared, with :func:`hmac.compare_digest`, whatever matched
    first, so the time taken does not tell which part was wrong.
    """
    try:
        sent = parse_basic_auth(header)
    except ValueError:
        return AuthResult.MALFORMED, None
    if sent is None:
        return AuthResult.MISSING, None
    username = sent[0].encode("utf-8", "replace")
    password = sent[1].encode("utf-8", "replace")
    matched = False
    for credential in accepted:
        user_ok = hmac.compare_digest(username, credential.username.encode("utf-8", "replace"))
        password_ok = hmac.compare_digest(password, credential.password.reveal().encode("utf-8", "replace"))
        matched |= user_ok & password_ok
    return (AuthResult.ACCEPTED if matched else AuthResult.WRONG), sent[0]
