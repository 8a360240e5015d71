"""Signals sent for each stored webhook event.

Both are sent once per event, after the event is committed to the database, with
``sender=WebhookEvent`` and ``event=`` the stored :class:`~postmark_admin.models.WebhookEvent`.
:data:`inbound` also gives ``message=``, the parsed :class:`~postmark_admin.webhooks.inbound.InboundMessage`.

A receiver that raises does not undo anything: the event stays stored, the error
is logged (logger ``postmark_admin.webhooks``, with the event id) and Postmark is
answered 200, so it does not retry a delivery that was already stored. Receivers
that need their work retried should queue it (a task queue, a flag on their own
model) rather than rely on Postmark's retries.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import WebhookEvent

logger = logging.getLogger("postmark_admin.webhooks")

#: A Bounce, Delivery, Open, Click, SpamComplaint, SubscriptionChange (or unknown) event was stored.
tracking = Signal()
#: An inbound mail was stored.
inbound = Signal()


def has_receivers(event_type: str) -> bool:
    """Whether a receiver is connected to the signal an event of ``event_type`` sends.

    The view skips the after-commit callback (and building the model instance) when none is.
    """
    from .models import WebhookEvent
    from .webhooks.events import EventType

    return (inbound if event_type == EventType.INBOUND else tracking).has_listeners(WebhookEvent)


def send_event_signal(event: WebhookEvent) -> None:
    """Send :data:`tracking` or :data:`inbound` for ``event``; log (never raise) receivers' errors."""
    from .models import WebhookEvent
    from .webhooks.events import EventType

    if event.event_type == EventType.INBOUND:
        signal, name = inbound, "inbound"
        if not signal.has_listeners(WebhookEvent):
            return  # nobody listens: do not parse the mail
        try:
            extra = {"message": event.inbound_message}
        except Exception:
            logger.exception("Could not parse inbound Postmark event %s; signal not sent", event.pk)
            return
    else:
        signal, name, extra = tracking, "tracking", {}
    for receiver, result in signal.send_robust(sender=WebhookEvent, event=event, **extra):
        if isinstance(result, Exception):
            logger.error(
                "postmark_admin.signals.%s receiver %s raised for webhook event %s (the event is stored)",
                name,
                getattr(receiver, "__qualname__", repr(receiver)),
                event.pk,
                exc_info=(type(result), result, result.__traceback__),
            )
