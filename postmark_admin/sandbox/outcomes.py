"""What follows an accepted message: the emulated delivery, bounce or complaint for each recipient, and
the webhook posts that report them. Pure: :class:`~.state.SandboxState` keeps what results."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from . import payloads
from .validation import CheckedMessage
from .webhook_sender import Delivery

#: Every trigger a webhook has, with its default settings (all off).
TRIGGER_DEFAULTS: dict[str, dict[str, bool]] = {
    "Open": {"Enabled": False, "PostFirstOpenOnly": False},
    "Click": {"Enabled": False},
    "Delivery": {"Enabled": False},
    "Bounce": {"Enabled": False, "IncludeContent": False},
    "SpamComplaint": {"Enabled": False, "IncludeContent": False},
    "SubscriptionChange": {"Enabled": False},
}
WEBHOOK_EVENTS = tuple(TRIGGER_DEFAULTS)


@dataclass(frozen=True)
class Event:
    """One webhook-worthy thing that happened: the trigger it belongs to and its payload."""

    trigger: str
    payload: dict[str, Any]
    #: Set for a Bounce or SpamComplaint, whose payload is the bounce record (IncludeContent applies).
    outcome: payloads.Outcome | None = None


def webhook_config(
    url: str, auth: tuple[str, str] | None, events: Iterable[str], stream: str
) -> dict[str, Any]:
    """A webhook configuration (without ID) posting ``events`` for ``stream``. Pure."""
    triggers = copy.deepcopy(TRIGGER_DEFAULTS)
    for event in events:
        triggers[event]["Enabled"] = True
    username, password = auth if auth else ("", "")
    return {
        "Url": url,
        "MessageStream": stream,
        "HttpAuth": {"Username": username, "Password": password},
        "HttpHeaders": [],
        "Triggers": triggers,
    }


def deliveries(hooks: Iterable[Mapping[str, Any]], stream: str, events: Iterable[Event]) -> list[Delivery]:
    """The posts to make: each event to each webhook of ``stream`` whose trigger is enabled. Pure."""
    hooks = [hook for hook in hooks if hook["MessageStream"] == stream]
    result = []
    for event in events:
        for hook in hooks:
            settings = hook["Triggers"].get(event.trigger, {})
            if not settings.get("Enabled"):
                continue
            body = event.payload
            if event.outcome is not None:
                body = payloads.bounce_webhook(body, event.outcome, settings.get("IncludeContent", False))
            auth = hook["HttpAuth"]
            result.append(
                Delivery(
                    url=hook["Url"],
                    payload=copy.deepcopy(body),
                    auth=(auth["Username"], auth["Password"]) if auth.get("Username") else None,
                    headers=tuple((header["Name"], header["Value"]) for header in hook["HttpHeaders"]),
                )
            )
    return result


def recipient_events(
    checked: CheckedMessage,
    message_id: str,
    recipient: str,
    now: dt.datetime,
    *,
    server_id: int,
    bounce_id: int,
    wanted: Container[str] = WEBHOOK_EVENTS,
    repaired: bool = False,
) -> list[Event]:
    """What Postmark reports about one recipient of an accepted message, in the order it happens. Pure.

    Only events whose trigger is in ``wanted`` are built (a payload nobody is posted is not worth its
    cost), except a bounce or complaint: its event, the one with an ``outcome``, is always built, since
    its payload is the bounce record the sandbox keeps (numbered ``bounce_id``) whatever ``wanted`` says.
    A ``repaired`` address (a hard bounce reactivated since) is delivered like any other.
    """
    outcome = None if repaired else payloads.outcome_for(recipient)
    args = (checked, message_id, recipient, server_id, now)
    events = []
    if (outcome is None or outcome.delivered_first) and "Delivery" in wanted:
        events.append(Event("Delivery", payloads.delivery(*args)))
    if outcome is None:
        # An open or a click is only seen for mail that could be tracked (see payloads.opens_tracked and
        # payloads.tracked_links); the click is on the first tracked link.
        if "Open" in wanted and payloads.opens_tracked(checked):
            events.append(Event("Open", payloads.open_event(*args)))
        if "Click" in wanted:
            links = payloads.tracked_links(checked)
            if links:
                events.append(Event("Click", payloads.click(*args, link=links[0])))
        return events
    record = payloads.bounce_record(*args, bounce_id=bounce_id, outcome=outcome)
    events.append(Event(outcome.record_type, record, outcome))
    if outcome.makes_inactive and "SubscriptionChange" in wanted:
        events.append(Event("SubscriptionChange", payloads.subscription_change(*args, reason=outcome.type)))
    return events


def enabled_triggers(hooks: Iterable[Mapping[str, Any]], stream: str) -> set[str]:
    """The triggers some webhook of ``stream`` has enabled. Pure."""
    return {
        trigger
        for hook in hooks
        if hook["MessageStream"] == stream
        for trigger, settings in hook["Triggers"].items()
        if settings.get("Enabled")
    }
