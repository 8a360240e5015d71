"""A pytest plugin that runs django-anymail's Postmark tests against postmark_admin, unchanged.

Loaded by :mod:`run_anymail` (``-p peer_plugin``) in a pytest process whose root is anymail's
checkout. It changes only where anymail's tests reach anymail:

* ``anymail.backends.postmark.EmailBackend`` is postmark_admin's backend (anymail's ``MAILERS``
  translation then gives it ``ANYMAIL={"POSTMARK_SERVER_TOKEN": ...}``, which ours reads);
* anymail's exception names are postmark_admin's, from :mod:`postmark_admin.compat.anymail`;
* the tests' webhook URLs are served by postmark_admin's views (``peer_urls``), and each event they
  store is sent back as anymail's ``tracking`` / ``inbound`` signal (:func:`tracking_event`,
  :func:`inbound_event`), so the tests' assertions on anymail's event objects run as written;
* the settings row is never read (an empty ``override_postmark_settings`` for the whole run), and
  each test starts with no stored event (deduplication would otherwise swallow a repeated payload).
"""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import format_datetime
from typing import Any

import pytest

#: The anymail exception names mapped to postmark_admin's classes.
EXCEPTION_NAMES = (
    "AnymailError",
    "AnymailAPIError",
    "AnymailRecipientsRefused",
    "AnymailUnsupportedFeature",
    "AnymailInvalidAddress",
    "AnymailConfigurationError",
    "AnymailSerializationError",
)


def _blank_none(value: str) -> str | None:
    return value or None


def tracking_event(event: Any) -> Any:
    """A stored :class:`~postmark_admin.models.WebhookEvent` as anymail's ``AnymailTrackingEvent``."""
    from anymail.signals import AnymailTrackingEvent

    return AnymailTrackingEvent(
        event_type=event.event_type,
        timestamp=event.occurred_at,
        event_id=str(event.bounce_id) if event.bounce_id is not None else None,
        esp_event=event.payload,
        recipient=_blank_none(event.recipient),
        message_id=_blank_none(event.message_id),
        tags=[event.tag] if event.tag else [],
        metadata=dict(event.metadata or {}),
        reject_reason=_blank_none(event.reject_reason),
        # Postmark sends an empty Description on some records; anymail passes it on as "".
        description=event.description if "Description" in event.payload else None,
        mta_response=_blank_none(event.mta_response),
        user_agent=_blank_none(event.user_agent),
        click_url=_blank_none(event.click_url),
    )


def inbound_event(event: Any, message: Any) -> Any:
    """A stored inbound event and postmark_admin's parsed mail as anymail's ``AnymailInboundEvent``."""
    from anymail.inbound import AnymailInboundMessage
    from anymail.signals import AnymailInboundEvent

    def joined(addresses: Any) -> str | None:
        return ", ".join(str(address) for address in addresses) or None

    shown = {"from", "to", "cc", "bcc", "subject", "content-type", "mime-version"}
    mail = AnymailInboundMessage.construct(
        from_email=str(message.from_address) if message.from_address else None,
        to=joined(message.to),
        cc=joined(message.cc),
        bcc=joined(message.bcc),
        subject=message.subject or None,
        headers=[(name, value) for name, value in message.headers if name.lower() not in shown],
        text=message.text or None,
        html=message.html or None,
        attachments=[
            AnymailInboundMessage.construct_attachment(
                content_type=attachment.content_type,
                content=attachment.content,
                filename=attachment.name or None,
                content_id=attachment.content_id or None,
            )
            for attachment in message.attachments
        ],
    )
    if message.date is not None and "Date" not in mail:
        mail["Date"] = format_datetime(message.date)
    if message.reply_to and "Reply-To" not in mail:
        mail["Reply-To"] = joined(message.reply_to)
    mail.envelope_sender = message.envelope_sender or None
    mail.envelope_recipient = message.envelope_recipient or None
    mail.stripped_text = message.stripped_text_reply or None
    mail.stripped_html = None
    mail.spam_detected = message.spam_detected
    mail.spam_score = message.spam_score
    return AnymailInboundEvent(
        event_type="inbound",
        timestamp=None,
        event_id=_blank_none(message.message_id),
        esp_event=event.payload,
        message=mail,
    )


def _send_tracking(sender: Any, event: Any, **kwargs: Any) -> None:
    from anymail.signals import tracking
    from anymail.webhooks.postmark import PostmarkTrackingWebhookView

    tracking.send(sender=PostmarkTrackingWebhookView, event=tracking_event(event), esp_name="Postmark")


def _send_inbound(sender: Any, event: Any, message: Any, **kwargs: Any) -> None:
    from anymail.signals import inbound
    from anymail.webhooks.postmark import PostmarkInboundWebhookView

    inbound.send(sender=PostmarkInboundWebhookView, event=inbound_event(event, message), esp_name="Postmark")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    import anymail.backends.postmark
    import anymail.exceptions

    from postmark_admin import signals
    from postmark_admin.backends import PostmarkBackend
    from postmark_admin.models import WebhookEvent
    from postmark_admin.testing import override_postmark_settings

    class PeerBackend(PostmarkBackend):
        #: What anymail's MAILERS translation reads to name the ANYMAIL settings.
        esp_name = "Postmark"

    anymail.backends.postmark.EmailBackend = PeerBackend  # type: ignore[misc]
    try:
        from postmark_admin.compat import anymail as compat
    except ImportError:  # a postmark_admin older than its compat module: measure it unmapped
        compat = None
    for name in EXCEPTION_NAMES if compat is not None else ():
        setattr(anymail.exceptions, name, getattr(compat, name))
    signals.tracking.connect(_send_tracking, sender=WebhookEvent, weak=False)
    signals.inbound.connect(_send_inbound, sender=WebhookEvent, weak=False)
    override_postmark_settings().enable()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # anymail's tests are SimpleTestCases; postmark_admin's webhook views store each event.
    for item in items:
        cls = getattr(item, "cls", None)
        if cls is not None:
            cls.databases = {"default"}
            # What pytest-django reads to create the test database for a SimpleTestCase.
            item.add_marker(pytest.mark.django_db(databases=["default"]))


@pytest.fixture(autouse=True)
def _no_stored_events(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if request.node.cls is not None:  # a TestCase, given the database above
        from postmark_admin.models import WebhookEvent

        WebhookEvent.objects.all().delete()
