"""The webhook views Postmark posts to: tracking events and inbound mail.

Thin edges around pure parts: :mod:`~postmark_admin.webhooks.auth` checks the
credentials, :mod:`~postmark_admin.webhooks.events` turns the body into an event,
:mod:`~postmark_admin.webhooks.storage` stores it once, :mod:`~postmark_admin.signals` tells
the site. What Postmark gets back matters, because anything but 200 makes it retry:

* 401 (never 403, which stops Postmark's retries) for missing or wrong credentials;
* 413 for a body above ``POSTMARK_WEBHOOK_MAX_BODY_SIZE``;
* 400 with a short reason for a body that is not a Postmark payload for this URL;
* 503 with ``Retry-After`` while the settings row (and so the webhook credentials) cannot be read
  from the database: nothing is read or stored, and Postmark retries later;
* 200 once the event is stored, or was already stored by an earlier delivery.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.db import DatabaseError, connections, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from ..config.effective import app_settings, effective_config
from ..desk.link import advance_for_event
from ..exceptions import PostmarkSettingsUnavailable
from ..signals import has_receivers, send_event_signal
from .auth import AuthResult, check_credentials
from .body import InvalidWebhookPayload, parse_body
from .events import (
    NormalizedEvent,
    PayloadKind,
    normalize,
    payload_kind,
)
from .storage import Inserted, insert_event, insert_event_linked, stored_event

logger = logging.getLogger("postmark_admin.webhooks")

_CHUNK = 64 * 1024
#: Seconds in the Retry-After of a 503 (Postmark retries on its own schedule; others may read it).
RETRY_AFTER = 60


class BodyTooLarge(Exception):
    pass


def _text_response(message: str, status: int) -> HttpResponse:
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


def _unauthorized(message: str) -> HttpResponse:
    response = _text_response(message, 401)
    response["WWW-Authenticate"] = 'Basic realm="Postmark webhooks", charset="UTF-8"'
    return response


def _client(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR") or "?"


def authenticate(request: HttpRequest) -> HttpResponse | None:
    """None when the request may proceed, else the 401 to answer. Logs refusals, never the password."""
    credentials = effective_config().webhook_credentials
    if not credentials:
        if app_settings.WEBHOOK_ALLOW_UNAUTHENTICATED:
            return None
        logger.error(
            "Refused a Postmark webhook from %s: no webhook credentials are configured "
            "(postmark_admin.E002). Set them in the admin or POSTMARK_WEBHOOK_AUTHORIZATION.",
            _client(request),
        )
        return _unauthorized(gettext("Webhook credentials are not configured on this site."))
    result, username = check_credentials(request.META.get("HTTP_AUTHORIZATION"), credentials)
    if result is AuthResult.ACCEPTED:
        return None
    logger.warning(
        "Refused a Postmark webhook from %s: %s credentials%s.",
        _client(request),
        result.value,
        f" (username {username[:100]!r})" if username is not None else "",
    )
    return _unauthorized(gettext("Authentication required."))


def read_body(request: HttpRequest, limit: int) -> bytes:
    """The request body, refusing (:class:`BodyTooLarge`) before reading more than ``limit`` bytes."""
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise BodyTooLarge
    chunks = []
    size = 0
    while True:
        chunk = request.read(min(_CHUNK, limit + 1 - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
    return b"".join(chunks)


def _url_of(kind: PayloadKind) -> str:
    try:
        return reverse(f"postmark_admin:{kind.value}")
    except NoReverseMatch:
        return f"postmark/{kind.value}/"


def _send_signal(normalized: NormalizedEvent, inserted: Inserted) -> None:
    # The model instance is built here, only when a receiver is connected.
    send_event_signal(stored_event(normalized, inserted))


class WebhookView(View):
    """Receives one kind of Postmark webhook (see :class:`TrackingWebhookView`, :class:`InboundWebhookView`)."""

    kind: PayloadKind
    http_method_names = ["post", "head", "options"]

    @classmethod
    def as_view(cls, **initkwargs: Any) -> Any:
        """The view function: CSRF-exempt (Postmark sends no token), open to LoginRequiredMiddleware, and
        outside ``ATOMIC_REQUESTS`` transactions.

        The view's only write is one ``INSERT ... ON CONFLICT DO NOTHING``, which commits on its own in
        autocommit mode, before the 200; receivers run after it as they would after the request's commit.
        Wrapped in ``ATOMIC_REQUESTS``, the same insert costs two more round trips (BEGIN, COMMIT).
        """
        # Decorated once, here: method_decorator(..., name="dispatch") re-wraps dispatch on every request.
        view = login_not_required(csrf_exempt(super().as_view(**initkwargs)))
        for alias in connections:  # every database the events may be routed to
            view = transaction.non_atomic_requests(using=alias)(view)
        return view

    def head(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # Answered (without credentials, revealing nothing) so that URL checks succeed.
        return HttpResponse(status=200)

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            refused = authenticate(request)
        except PostmarkSettingsUnavailable as error:
            # Not a 401: the credentials stored in the row are unknown, not wrong.
            logger.error(
                "Answered 503 to a Postmark webhook from %s, which will retry: %s", _client(request), error
            )
            response = _text_response(
                gettext("The webhook credentials cannot be read right now; retry later."), 503
            )
            response["Retry-After"] = str(RETRY_AFTER)
            return response
        if refused is not None:
            return refused
        limit = app_settings.WEBHOOK_MAX_BODY_SIZE
        try:
            body = read_body(request, limit)
        except BodyTooLarge:
            logger.warning(
                "Refused a Postmark webhook from %s: body above %d bytes.", _client(request), limit
            )
            return _text_response(
                gettext("Body too large: the limit is %(limit)d bytes (POSTMARK_WEBHOOK_MAX_BODY_SIZE).")
                % {"limit": limit},
                413,
            )
        try:
            payload = parse_body(body)
            kind = payload_kind(payload)
            if kind is None:
                raise InvalidWebhookPayload(gettext("Not a Postmark webhook payload."))
            if kind is not self.kind:
                raise InvalidWebhookPayload(self._wrong_url_message(kind))
            normalized = normalize(payload, kind)
        except InvalidWebhookPayload as error:
            logger.warning("Refused a Postmark webhook from %s: %s", _client(request), error.reason)
            return _text_response(error.reason, 400)
        except RecursionError:
            return _text_response(gettext("Malformed JSON: nested too deeply."), 400)
        inserted, linked = self._store(normalized)
        if not linked:  # desk: the recipient's status moves on, after the event's commit
            advance_for_event(normalized, stored=inserted.pk is not None)
        if inserted.pk is not None and has_receivers(normalized.event_type):
            # After the commit: receivers see a stored event, and a rolled-back request signals nothing.
            transaction.on_commit(partial(_send_signal, normalized, inserted), using=inserted.using)
        return HttpResponse(status=200)

    @staticmethod
    def _store(normalized: NormalizedEvent) -> tuple[Inserted, bool]:
        """The event stored once, and whether its logged recipient was advanced in the same statement."""
        try:
            linked = insert_event_linked(normalized)
        except DatabaseError:
            # The statement rolled back as a whole (autocommit: the view is non-atomic), event included:
            # store it on its own, as without the log, so the status UPDATE cannot cost the event.
            logger.exception("Postmark: storing a webhook event with its recipient's status failed")
            linked = None
        if linked is not None:
            return linked
        return insert_event(normalized), False

    def _wrong_url_message(self, kind: PayloadKind) -> str:
        if kind is PayloadKind.INBOUND:
            return gettext("This is an inbound mail: post it to %(url)s instead.") % {"url": _url_of(kind)}
        return gettext("This is a tracking event: post it to %(url)s instead.") % {"url": _url_of(kind)}


class TrackingWebhookView(WebhookView):
    """Bounce, Delivery, Open, Click, SpamComplaint and SubscriptionChange webhooks."""

    kind = PayloadKind.TRACKING


class InboundWebhookView(WebhookView):
    """Inbound mail webhooks (the inbound stream's webhook URL)."""

    kind = PayloadKind.INBOUND
