"""Signals: :data:`pre_send` and :data:`post_send` around every send, and one for each stored webhook event.

:data:`pre_send` is sent for each message before it is mapped to Postmark's JSON, with ``sender=`` the
backend's class, ``message=``, ``esp_name="Postmark"`` and ``connection=`` the backend (None when
``postmark_admin.sending.pipeline.send_messages()`` is called directly). A receiver may change the
message, or raise :class:`CancelSend` to leave it unsent (it gets a status whose ``cancelled`` is true,
and no :data:`post_send`). Any other exception stops the whole call before any request, like a message
that cannot be mapped. :data:`post_send` is sent for each message that was attempted, once Postmark
answered, with ``status=`` its :class:`~postmark_admin.sending.status.PostmarkStatus` (the same
``message.postmark_status``); its receivers' exceptions are logged, never raised: the mail is already
sent, and an exception would invite the caller to send it again.

When no receiver is connected, a send pays one list check per call for each of the two (see
``bench/send.py --signals``).

:data:`tracking` and :data:`inbound` are sent once per event, after the event is committed to the database, with
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
from typing import TYPE_CHECKING, Any

from django.dispatch import Signal

if TYPE_CHECKING:
    from .models import WebhookEvent

logger = logging.getLogger("postmark_admin.webhooks")
send_logger = logging.getLogger("postmark_admin.sending")

#: Sent before each message is mapped: ``message``, ``esp_name``, ``connection``; may raise :class:`CancelSend`.
pre_send = Signal()
#: Sent after Postmark answered, for each attempted message: ``message``, ``status``, ``esp_name``, ``connection``.
post_send = Signal()

ESP_NAME = "Postmark"


class CancelSend(Exception):
    """Raised by a :data:`pre_send` receiver: do not send this message (the others still go)."""


def send_pre_send(message: Any, connection: Any = None) -> bool:
    """Send :data:`pre_send` for ``message``; False when a receiver cancelled it.

    Callers check ``pre_send.receivers`` first (once per call), so a send without receivers builds no
    keyword arguments at all.
    """
    sender = type(connection) if connection is not None else None
    try:
        pre_send.send(sender, message=message, esp_name=ESP_NAME, connection=connection)
    except CancelSend as cancelled:
        send_logger.info("Postmark: a pre_send receiver cancelled a message: %s", cancelled)
        return False
    return True


def send_post_send(message: Any, status: Any, connection: Any = None) -> None:
    """Send :data:`post_send` for ``message``; log (never raise) receivers' errors."""
    sender = type(connection) if connection is not None else None
    for receiver, result in post_send.send_robust(
        sender, message=message, status=status, esp_name=ESP_NAME, connection=connection
    ):
        if isinstance(result, Exception):
            send_logger.error(
                "postmark_admin.signals.post_send receiver %s raised (the message was already sent)",
                getattr(receiver, "__qualname__", repr(receiver)),
                exc_info=(type(result), result, result.__traceback__),
            )


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
