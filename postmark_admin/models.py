"""Database models: the run-time settings row, the webhook events, and the sent-message log."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from solo.models import SingletonModel

from .config.api_hosts import api_url_problem
from .config.fields import secret_problem
from .config.secret_field import EncryptedSecretField
from .desk.status import RecipientKind, RecipientState, SentVia
from .webhooks import events
from .webhooks.events import EventType, RejectReason

if TYPE_CHECKING:
    from .webhooks.inbound import InboundMessage

_stream_id = RegexValidator(
    r"^[A-Za-z0-9_-]{1,100}$", _("A message stream ID has only letters, digits, '-' and '_'.")
)
_no_colon = RegexValidator(r"^[^:]*$", _("The username cannot contain ':'."))


def _valid_url(url: str) -> bool:
    """Whether the field's own validator accepts ``url`` (if not, it already said so)."""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        return False
    return True


INHERIT_CHOICES = [
    (None, _("Inherit (settings.py, then the environment, then off)")),
    (True, _("Yes: send without the unsupported feature")),
    (False, _("No: raise PostmarkUnsupportedFeature")),
]

TEST_MODE_CHOICES = [
    (None, _("Inherit (settings.py, then the environment, then off)")),
    (True, _("On: Postmark validates messages but delivers nothing")),
    (False, _("Off: deliver messages")),
]


class PostmarkSettings(SingletonModel):
    """Postmark credentials and options, editable at run time.

    Every field left empty means "not set here": the effective value then comes
    from settings.py, the environment or the default (see :mod:`postmark_admin.config.effective`).
    Read the effective values with :func:`postmark_admin.config.effective.effective_config`,
    never from this row directly.
    """

    server_token = EncryptedSecretField(
        _("server API token"),
        help_text=_("Postmark's Server API token (Servers > your server > API Tokens). Stored encrypted."),
    )
    api_url = models.CharField(
        _("API URL"),
        max_length=200,
        blank=True,
        validators=[URLValidator(schemes=["http", "https"])],
        help_text=_("Leave blank for https://api.postmarkapp.com/. Point it at the sandbox to test."),
    )
    message_stream = models.CharField(
        _("default message stream"),
        max_length=100,
        blank=True,
        validators=[_stream_id],
        help_text=_("Stream ID used when a message names none. Leave blank for 'outbound'."),
    )
    webhook_username = models.CharField(
        _("webhook username"),
        max_length=150,
        blank=True,
        validators=[_no_colon],
        help_text=_("HTTP basic auth username that Postmark must send to this site's webhook URLs."),
    )
    webhook_password = EncryptedSecretField(
        _("webhook password"),
        help_text=_("HTTP basic auth password for the webhook URLs. Stored encrypted."),
    )
    ignore_unsupported_features = models.BooleanField(
        _("ignore unsupported features"),
        null=True,
        blank=True,
        default=None,
        choices=INHERIT_CHOICES,
        help_text=_("Send messages that use features Postmark lacks (such as send_at) without them."),
    )
    default_from_email = models.CharField(
        _("default From address for test emails"),
        max_length=320,
        blank=True,
        help_text=_("A confirmed Postmark sender signature. Leave blank for DEFAULT_FROM_EMAIL."),
    )
    test_mode = models.BooleanField(
        _("test mode"),
        null=True,
        blank=True,
        default=None,
        choices=TEST_MODE_CHOICES,
        help_text=_(
            "Send with Postmark's POSTMARK_API_TEST token: Postmark validates each message and answers, "
            "but delivers nothing and sends no webhooks."
        ),
    )
    timeout = models.FloatField(
        _("request timeout (seconds)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0.5), MaxValueValidator(300)],
        help_text=_("How long to wait for Postmark's answer. Leave blank for 30 seconds."),
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("Postmark settings")
        verbose_name_plural = _("Postmark settings")
        permissions = [("use_postmark_api", _("Can send test emails and call Postmark from the admin"))]

    def __str__(self) -> str:
        return str(_("Postmark settings"))

    def clean(self) -> None:
        """Refuse credentials that cannot travel in an HTTP header, and an API URL the token may not be
        sent to (both admins' forms call this)."""
        problems = {
            name: _("This value %(problem)s") % {"problem": problem}
            for name in ("server_token", "webhook_username", "webhook_password")
            if (problem := secret_problem(name, getattr(self, name)))
        }
        if self.api_url and _valid_url(self.api_url) and (problem := api_url_problem(self.api_url)):
            problems["api_url"] = problem
        if problems:
            raise ValidationError(problems)

    # django-solo would pickle the whole row, decrypted secrets included, into the
    # cache. postmark_admin.config.row_cache caches the row itself, encrypted.
    def set_to_cache(self) -> None:
        return None

    @classmethod
    def clear_cache(cls) -> None:
        return None


class WebhookEvent(models.Model):
    """One webhook Postmark posted to this site (tracking or inbound), stored exactly once.

    ``dedupe_key`` makes a repeated delivery of the same event a no-op: Bounce and
    SpamComplaint records are keyed by their Postmark ``ID``, everything else by a
    hash of the payload's canonical JSON. ``payload`` keeps what Postmark sent.
    """

    # The columns, in the order an event's page shows them (detail_fields), are those of
    # webhooks.events.NormalizedEvent plus received_at; their sizes come from webhooks.events.
    # Unique through Meta.constraints rather than unique=True: on PostgreSQL unique=True also adds a
    # varchar_pattern_ops index for LIKE queries, which nothing runs on this key, and every insert
    # would pay for it (a second random-order btree, as large as the unique one).
    dedupe_key = models.CharField(_("deduplication key"), max_length=100, editable=False)
    event_type = models.CharField(_("event type"), max_length=20, choices=EventType.choices)
    record_type = models.CharField(_("record type"), max_length=events.MAX_RECORD_TYPE, blank=True)
    reject_reason = models.CharField(
        _("reject reason"), max_length=20, choices=RejectReason.choices, blank=True
    )
    recipient = models.CharField(_("recipient"), max_length=events.MAX_RECIPIENT, blank=True)
    message_id = models.CharField(_("message ID"), max_length=events.MAX_MESSAGE_ID, blank=True)
    message_stream = models.CharField(_("message stream"), max_length=events.MAX_STREAM, blank=True)
    tag = models.CharField(_("tag"), max_length=events.MAX_TAG, blank=True)
    occurred_at = models.DateTimeField(_("occurred at"), null=True, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now, editable=False)
    bounce_id = models.BigIntegerField(_("Postmark bounce ID"), null=True, blank=True)
    description = models.TextField(_("description"), blank=True)
    mta_response = models.TextField(_("MTA response"), blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)
    click_url = models.TextField(_("clicked URL"), blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    payload = models.JSONField(_("payload"), default=dict)

    class Meta:
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")
        ordering = ["-received_at", "-id"]
        constraints = [
            # storage.insert_event's ON CONFLICT (dedupe_key) relies on this.
            models.UniqueConstraint(fields=["dedupe_key"], name="pm_event_dedupe_key"),
        ]
        indexes = [
            # Each index costs every insert (bench/webhooks.py); each one here serves an admin query
            # (Django's and Wagtail's): the changelist: newest first, alone or filtered by one column.
            models.Index(fields=["-received_at", "-id"], name="pm_event_received"),
            models.Index(fields=["event_type", "-received_at"], name="pm_event_type"),
            models.Index(fields=["record_type", "-received_at"], name="pm_event_record_type"),
            models.Index(fields=["message_stream", "-received_at"], name="pm_event_stream"),
            # "Same message" / "same recipient" links and exact searches. The search ORs recipient,
            # message ID and tag: without the tag index that OR would scan the table.
            models.Index(fields=["message_id", "-received_at"], name="pm_event_message"),
            models.Index(fields=["recipient", "-received_at"], name="pm_event_recipient"),
            models.Index(fields=["tag"], name="pm_event_tag"),
        ]

    def __str__(self) -> str:
        return f"{self.get_event_type_display()} {self.recipient}".strip()

    @classmethod
    def detail_fields(cls) -> list[str]:
        """What an event's page shows (the Django admin's and Wagtail's), in the model's order.

        Every column but the two keys (the id, and ``dedupe_key``, which only says "stored once").
        """
        return [
            field.name
            for field in cls._meta.concrete_fields
            if not field.primary_key and field.name != "dedupe_key"
        ]

    @cached_property
    def inbound_message(self) -> InboundMessage | None:
        """The parsed mail of an inbound event (None for tracking events)."""
        if self.event_type != EventType.INBOUND:
            return None
        from .webhooks.inbound import parse_inbound

        return parse_inbound(self.payload)


class SentMessage(models.Model):
    """One message object Postmark answered for (docs/desk.rst): one row per MessageID.

    A Django message with merge data that went out as several Postmark messages gives several rows.
    A message Postmark refused has no MessageID: its ``message_id`` is ``refused:<uuid4>`` and its
    ``error_code`` Postmark's ErrorCode. Webhook events link by ``message_id`` (no foreign key: an event
    may arrive before this row commits, or be about a message sent before the log existed).
    """

    message_id = models.CharField(_("message ID"), max_length=events.MAX_MESSAGE_ID)
    stream = models.CharField(_("message stream"), max_length=events.MAX_STREAM, blank=True)
    from_email = models.CharField(_("From"), max_length=320, blank=True)
    subject = models.TextField(_("subject"), blank=True)
    tag = models.CharField(_("tag"), max_length=events.MAX_TAG, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now, db_index=True)
    sent_via = models.CharField(_("sent via"), max_length=20, choices=SentVia.choices)
    error_code = models.IntegerField(_("Postmark ErrorCode"), default=0)
    postmark_message = models.TextField(_("Postmark's answer"), blank=True)
    text_body = models.TextField(_("text body"), blank=True)
    html_body = models.TextField(_("HTML body"), blank=True)
    bodies_expire_at = models.DateTimeField(_("bodies kept until"), null=True, blank=True)

    class Meta:
        verbose_name = _("sent message")
        verbose_name_plural = _("sent messages")
        ordering = ["-submitted_at", "-id"]
        constraints = [
            # A constraint rather than unique=True: no second varchar_pattern_ops index on PostgreSQL.
            models.UniqueConstraint(fields=["message_id"], name="pm_sent_message_id"),
        ]
        indexes = [
            models.Index(fields=["stream", "submitted_at"], name="pm_sent_stream"),
            # The prune command's "bodies past their date". Partial: only messages that keep their
            # bodies have a date, and a send that keeps none (the default) adds no entry to it.
            models.Index(
                fields=["bodies_expire_at"],
                name="pm_sent_bodies_expire",
                condition=models.Q(bodies_expire_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return self.subject or self.message_id

    @property
    def refused(self) -> bool:
        return self.error_code != 0


class SentRecipient(models.Model):
    """One recipient (To, Cc or Bcc) of a :class:`SentMessage`, with its own status.

    ``message`` points at ``SentMessage.message_id`` (``to_field``), so this table's ``message_id``
    column holds Postmark's MessageID itself: a webhook event finds its recipient with no join, and the
    recipients of a chunk are inserted without waiting for the messages' primary keys.
    """

    message = models.ForeignKey(
        SentMessage,
        on_delete=models.CASCADE,
        to_field="message_id",
        related_name="recipients",
        verbose_name=_("message"),
        # Served by the (message, address_key) index below; on PostgreSQL db_index would add a
        # second, varchar_pattern_ops index that every insert pays for and no query uses.
        db_index=False,
        # No constraint in the database: on PostgreSQL its check is a trigger and a lookup per
        # inserted recipient, 3-5 ms per 500 recipients at commit (docs/desk.rst, "What it
        # costs"). The rows are written together (desk/insert.py, one statement) and deleted together
        # (desk/prune.py deletes the recipients first; the ORM's CASCADE still applies).
        db_constraint=False,
    )
    address = models.CharField(_("address"), max_length=320)
    #: ``address.casefold()``: the case-insensitive, index-backed search key.
    address_key = models.CharField(_("address key"), max_length=320, editable=False)
    kind = models.CharField(_("kind"), max_length=3, choices=RecipientKind.choices, default=RecipientKind.TO)
    status = models.CharField(_("status"), max_length=20, choices=RecipientState.choices)
    status_at = models.DateTimeField(_("status since"), default=timezone.now)
    last_event_type = models.CharField(_("last event type"), max_length=20, blank=True)

    class Meta:
        verbose_name = _("message recipient")
        verbose_name_plural = _("message recipients")
        ordering = ["id"]
        indexes = [
            # "Recent messages of this address": equality on the key, newest first.
            models.Index(fields=["address_key", "-id"], name="pm_recipient_address"),
            # A webhook event's status advance (one UPDATE by MessageID and address), the message
            # page's recipients, and the cascade when a message is pruned.
            models.Index(fields=["message", "address_key"], name="pm_recipient_message"),
        ]
        permissions = [
            ("reactivate_suppression", _("Can reactivate an address Postmark suppressed")),
        ]

    def __str__(self) -> str:
        return self.address


class DeskRollup(models.Model):
    """The dashboard's figures for one closed hour on one stream (:mod:`postmark_admin.desk.rollup`).

    Derived data, recomputable from the log and the events at any time; never shown on its own.
    """

    period = models.DateTimeField()
    stream = models.CharField(max_length=events.MAX_STREAM, blank=True)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    complained = models.PositiveIntegerField(default=0)
    opened = models.PositiveIntegerField(default=0)
    clicked = models.PositiveIntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["period", "stream"], name="pm_rollup_period_stream")]

    def __str__(self) -> str:
        return f"{self.stream} {self.period:%Y-%m-%d %H:00}"


class DeskRollupPeriod(models.Model):
    """A closed hour :class:`DeskRollup` holds (one row even when the hour had no mail), and the newest
    event and recipient ids when it was counted: rows added later with an older time are found by id."""

    period = models.DateTimeField()
    event_mark = models.BigIntegerField(default=0)
    recipient_mark = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["period"], name="pm_rollup_period")]

    def __str__(self) -> str:
        return f"{self.period:%Y-%m-%d %H:00}"
