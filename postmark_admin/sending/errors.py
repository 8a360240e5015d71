"""Pure: Postmark's error answers -> the project's exceptions (keeping Postmark's ErrorCode and Message)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from ..exceptions import PostmarkAPIError

if TYPE_CHECKING:
    from django.core.mail import EmailMessage


def error_from_answer(
    status: int, answer: Any, *, email_message: EmailMessage | None = None
) -> PostmarkAPIError:
    """The exception for a non-2xx answer, keeping Postmark's ErrorCode and Message."""
    error_code, message = error_code_and_message(answer)
    descriptions = {
        401: _(
            "Postmark refused the server token. Copy it again from Postmark (Servers, your server, API "
            "Tokens) to where it is configured: the admin's Postmark settings page shows which place that is."
        ),
        404: _(
            "Postmark does not know this API endpoint: check the API URL on the admin's Postmark settings "
            "page (or POSTMARK_API_URL); leave it blank for https://api.postmarkapp.com/."
        ),
        413: _("The request is too large for Postmark: at most 10 MB per message and 50 MB per batch."),
        415: _("Postmark refused the request's content type."),
        422: _("Postmark refused the request."),
        429: _("Postmark is rate limiting this server; try again later."),
        500: _(
            "Postmark had an internal error; the message may or may not have been sent. Look for it in "
            "Postmark's activity before sending it again."
        ),
        503: _("Postmark is unavailable (maintenance); try again later."),
    }
    description = descriptions.get(
        status,
        _("Postmark answered with an unexpected HTTP status: check that the API URL points at Postmark."),
    )
    return PostmarkAPIError(
        description,
        status_code=status,
        error_code=error_code,
        message=message,
        response=answer,
        email_message=email_message,
    )


def error_code_and_message(answer: Any) -> tuple[int | None, str | None]:
    """Postmark's ``ErrorCode`` and ``Message`` in a JSON answer (None for what it lacks)."""
    if not isinstance(answer, Mapping):
        return None, None
    error_code, message = answer.get("ErrorCode"), answer.get("Message")
    return (
        error_code if isinstance(error_code, int) else None,
        str(message) if message is not None else None,
    )
