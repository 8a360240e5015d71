"""The desk's recipient page ("why didn't X get my email?"), shared by the Django admin and Wagtail.

An address is looked up case-insensitively on ``SentRecipient.address_key`` (its index, newest first,
:func:`postmark_admin.desk.reads.recent_for_address`): one query whatever the address received. Its suppression state is read live from Postmark, one
suppressions dump per stream (filtered by the address); when Postmark cannot be asked the page says
why instead. "Reactivate" deletes a suppression for users holding
:data:`REACTIVATE_PERMISSION`; Postmark's refusal (a spam complaint cannot be lifted) is reported in
its own words. Each admin logs a reactivation in its own log.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..desk.reads import recent_for_address
from ..exceptions import PostmarkError, PostmarkSettingsUnavailable, PostmarkSuppressionRefused
from ..sending import deliverability
from .actions import Outcome, describe_error

if TYPE_CHECKING:
    from ..models import SentMessage, SentRecipient

#: The permission the "Reactivate" button needs (SentRecipient's Meta permissions).
REACTIVATE_PERMISSION = "postmark_admin.reactivate_suppression"
#: The permission every desk screen needs.
VIEW_PERMISSION = "postmark_admin.view_sentmessage"
#: How many of an address's newest messages the page lists.
RECENT_LIMIT = 50
#: An address is at most this long (RFC 5321); a longer query cannot match and is not sent to Postmark.
MAX_ADDRESS = 320


class AddressForm(forms.Form):
    """The lookup box (GET)."""

    address = forms.CharField(label=_("Email address"), max_length=MAX_ADDRESS, strip=True)


class ReactivateForm(forms.Form):
    """The "Reactivate" button's POST: which address, on which stream."""

    address = forms.EmailField(max_length=MAX_ADDRESS)
    stream = forms.RegexField(regex=r"^[A-Za-z0-9_-]{1,100}$", max_length=100)


def can_view(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(VIEW_PERMISSION)


def can_reactivate(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(REACTIVATE_PERMISSION)


@dataclass(frozen=True)
class StreamState:
    """An address's standing on one stream: its suppressions there, or why they could not be read."""

    stream: str
    suppressions: tuple[deliverability.Suppression, ...] = ()
    error: str = ""

    @property
    def suppressed(self) -> bool:
        return bool(self.suppressions)


def streams_to_check(messages: Iterable[SentMessage], default_stream: str) -> list[str]:
    """The default stream, then every stream the address's messages went out on. Pure."""
    streams = [default_stream or "outbound"]
    for message in messages:
        if message.stream and message.stream not in streams:
            streams.append(message.stream)
    return streams


def default_stream() -> str:
    from ..config.effective import effective_config

    try:
        return effective_config().message_stream or "outbound"
    except PostmarkSettingsUnavailable:
        return "outbound"


def suppression_states(address: str, streams: Iterable[str]) -> list[StreamState]:
    """Postmark's suppressions of ``address`` on each stream, asked live; a failure is a sentence."""
    states = []
    for stream in streams:
        try:
            found = deliverability.suppressions(address, stream)
        except (PostmarkError, PostmarkSettingsUnavailable, ValueError) as error:
            states.append(StreamState(stream, error=describe_error(error)))
            continue
        key = address.casefold()
        mine = tuple(item for item in found if item.email_address.casefold() == key)
        states.append(StreamState(stream, mine))
    return states


@dataclass(frozen=True)
class RecentMessage:
    """One of the address's messages, with the admin's URL of its message page."""

    recipient: SentRecipient
    url: str


@dataclass(frozen=True)
class RecipientPage:
    """What the recipient page shows for one address."""

    address: str
    recent: tuple[RecentMessage, ...]
    states: tuple[StreamState, ...]


def recipient_page(address: str, message_url: Callable[[SentMessage], str]) -> RecipientPage:
    """One query for the address's messages, then one Postmark request per stream."""
    rows = list(recent_for_address(address))
    streams = streams_to_check((row.message for row in rows), default_stream())
    recent = tuple(RecentMessage(row, message_url(row.message)) for row in rows)
    return RecipientPage(address, recent, tuple(suppression_states(address, streams)))


def reactivate(request: HttpRequest) -> tuple[Outcome, str, str]:
    """The "Reactivate" button, for a POST whose user was checked: ``(outcome, address, stream)``."""
    form = ReactivateForm(request.POST)
    if not form.is_valid():
        return (
            Outcome(False, gettext("Nothing was reactivated: the address or the stream is not valid.")),
            "",
            "",
        )
    address, stream = form.cleaned_data["address"], form.cleaned_data["stream"]
    try:
        deliverability.reactivate(address, stream)
    except PostmarkSuppressionRefused as error:
        reason = error.message or gettext("Postmark gave no reason.")
        return (
            Outcome(
                False,
                gettext("Postmark refused to reactivate %(address)s on %(stream)s: %(reason)s")
                % {"address": address, "stream": stream, "reason": reason},
            ),
            address,
            stream,
        )
    except (PostmarkError, PostmarkSettingsUnavailable) as error:
        return (
            Outcome(
                False,
                gettext("%(address)s was not reactivated: %(error)s")
                % {"address": address, "error": describe_error(error)},
            ),
            address,
            stream,
        )
    return (
        Outcome(
            True,
            gettext(
                "Postmark deleted the suppression of %(address)s on %(stream)s; it applies the change "
                "within a minute."
            )
            % {"address": address, "stream": stream},
        ),
        address,
        stream,
    )


def log_message(address: str, stream: str) -> str:
    """The admin log's sentence for a reactivation."""
    return gettext("Reactivated %(address)s on the message stream %(stream)s.") % {
        "address": address,
        "stream": stream,
    }


def logged_object(address: str) -> SentMessage | None:
    """What a reactivation is logged against: the address's newest message, if the log has one."""
    row = recent_for_address(address, limit=1).first()
    return row.message if row is not None else None
