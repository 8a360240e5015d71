"""The demo's first-start seed: a week of realistic mail, so the deliverability desk has something to show.

Everything goes through the real path: :class:`~postmark_admin.backends.PostmarkBackend` sends to the
demo's sandbox, the sent-message log records it, and the sandbox posts its webhooks (deliveries, opens,
clicks, a hard bounce, a spam complaint, subscription changes) back to the running site, which links them
to the messages. Then, and only this is not what a real site would see, each day's messages and their
events are **backdated** by that many days, so the dashboard's chart has several days to draw.
Postmark's own figures (the sandbox's ``/stats/outbound``) keep today's date.

It runs on the first start only: when the sent-message log is empty (:func:`first_start`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F

from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkError
from postmark_admin.message import PostmarkMessage
from postmark_admin.models import SentMessage, SentRecipient, WebhookEvent
from postmark_admin.sending import deliverability

SENDER = "Demo Shop <shop@example.com>"
NEWSLETTER_SENDER = "Demo Shop news <news@example.com>"
#: The broadcast stream the sandbox has by default (Postmark's name for a server's first one).
BROADCAST = "broadcast"
#: Suppressed by hand before the last day's send to it (a ManualSuppression by the Customer).
UNSUBSCRIBED_BY_HAND = "left.the.company@example.com"

_HTML = (
    "<p>Hello,</p><p>{text}</p>"
    '<p><a href="https://shop.example.com/{path}">Open your account</a></p>'
    "<p>The Demo Shop</p>"
)


@dataclass(frozen=True)
class Mail:
    """One message of the seed: ``html`` mail is tracked (opens, and clicks on its link)."""

    subject: str
    to: tuple[str, ...]
    path: str = "account"
    html: bool = True
    stream: str = ""
    tag: str = ""
    links: bool = True  # link tracking (receipts and password resets track opens only)

    def message(self, connection: PostmarkBackend) -> PostmarkMessage:
        text = f"{self.subject}: see https://shop.example.com/{self.path}"
        broadcast = self.stream == BROADCAST
        message = PostmarkMessage(
            self.subject,
            text,
            NEWSLETTER_SENDER if broadcast else SENDER,
            list(self.to),
            connection=connection,
            tags=[self.tag] if self.tag else None,
            track_opens=self.html,
            track_clicks="HtmlOnly" if self.html and self.links else None,
            message_stream=self.stream or None,
        )
        if self.html:
            message.attach_alternative(_HTML.format(text=self.subject, path=self.path), "text/html")
        return message


#: Days ago -> what was sent that day (each day's list goes in one batch request).
WEEK: dict[int, tuple[Mail, ...]] = {
    6: (
        Mail("Welcome to the Demo Shop", ("anna@example.com",), tag="welcome"),
        Mail("Welcome to the Demo Shop", ("ben@example.com",), tag="welcome"),
        Mail("Your order receipt", ("carla@example.com",), path="orders", html=False, tag="receipt"),
    ),
    5: (
        Mail("Password reset", ("carla@example.com",), path="password", tag="password-reset", links=False),
        Mail("Welcome to the Demo Shop", ("hardbounce.old.address@example.com",), tag="welcome"),
        Mail(
            "November newsletter",
            ("anna@example.com", "ben@example.com", "carla@example.com", "dev@example.com"),
            path="news",
            stream=BROADCAST,
            tag="newsletter",
        ),
    ),
    4: (
        Mail("Your order receipt", ("anna@example.com",), path="orders", tag="receipt", links=False),
        Mail("Your order has shipped", ("anna@example.com",), path="orders", html=False, tag="shipping"),
    ),
    3: (
        Mail(
            "Winter sale",
            ("anna@example.com", "ben@example.com", "spamcomplaint.erin@example.com"),
            path="sale",
            stream=BROADCAST,
            tag="newsletter",
        ),
        Mail("Welcome to the Demo Shop", ("dev@example.com",), tag="welcome"),
    ),
    2: (
        Mail(
            "Password reset",
            ("hardbounce.kim@example.com",),
            path="password",
            tag="password-reset",
            links=False,
        ),
        Mail("Your order receipt", ("ben@example.com",), path="orders", tag="receipt", links=False),
        Mail("Welcome to the Demo Shop", (UNSUBSCRIBED_BY_HAND,), tag="welcome"),
    ),
    1: (
        Mail("Your order receipt", ("dev@example.com",), path="orders", tag="receipt", links=False),
        Mail("Password reset", ("ben@example.com",), path="password", tag="password-reset", links=False),
    ),
    0: (
        Mail("Password reset", ("anna@example.com",), path="password", tag="password-reset", links=False),
        Mail("Your order receipt", ("carla@example.com",), path="orders", tag="receipt", links=False),
    ),
}
#: Sent today after the manual suppression: Postmark refuses it (406), the log records the refusal.
REFUSED = Mail("We miss you", (UNSUBSCRIBED_BY_HAND,), path="offers", tag="win-back")


@dataclass
class Seeded:
    """What the seed sent: MessageIDs by days ago, and how many messages Postmark refused."""

    by_day: dict[int, list[str]] = field(default_factory=dict)
    refused: int = 0

    @property
    def sent(self) -> int:
        return sum(len(ids) for ids in self.by_day.values())


def first_start() -> bool:
    """Whether the demo starts for the first time: its sent-message log is empty."""
    return not SentMessage.objects.exists()


def seed_demo(sandbox: Any, *, timeout: float = 60) -> Seeded | None:
    """Seed the demo through ``sandbox`` (a running :class:`~postmark_admin.sandbox.Sandbox` whose
    webhooks reach the running site) on the first start; None when the log already holds messages.

    Needs ``POSTMARK_LOG_MESSAGES = True`` (the demo's settings) and the settings row pointing at the
    sandbox. Waits until the sandbox's webhooks have all been answered, then backdates each day.
    """
    if not first_start():
        return None
    seeded = Seeded()
    backend = PostmarkBackend()  # not get_connection(): Django 6.1 refuses it beside MAILERS
    for days_ago in sorted(WEEK, reverse=True):
        newest = SentMessage.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        backend.send_messages([mail.message(backend) for mail in WEEK[days_ago]])
        sandbox.wait_for_all_webhooks(timeout)
        ids = SentMessage.objects.filter(pk__gt=newest).values_list("message_id", flat=True)
        seeded.by_day[days_ago] = list(ids)
    # Today: suppress an address by hand, and send to it once more (refused, and logged as refused).
    deliverability.suppress(UNSUBSCRIBED_BY_HAND)
    try:
        REFUSED.message(backend).send()
    except PostmarkError:
        seeded.refused += 1
    sandbox.wait_for_all_webhooks(timeout)
    for days_ago, ids in seeded.by_day.items():
        backdate(ids, dt.timedelta(days=days_ago))
    return seeded


def backdate(message_ids: list[str], by: dt.timedelta) -> None:
    """Move these messages, their recipients' statuses and their webhook events ``by`` into the past."""
    if not message_ids or not by:
        return
    SentMessage.objects.filter(message_id__in=message_ids).update(submitted_at=F("submitted_at") - by)
    SentRecipient.objects.filter(message__message_id__in=message_ids).update(status_at=F("status_at") - by)
    events = WebhookEvent.objects.filter(message_id__in=message_ids)
    events.update(received_at=F("received_at") - by)
    events.exclude(occurred_at=None).update(occurred_at=F("occurred_at") - by)


@contextmanager
def serving(host: str, port: int) -> Iterator[None]:
    """The site, served on ``host:port`` in a thread while the seed runs (before runserver takes the
    port), so that the sandbox's webhooks reach it."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    from django.core.servers.basehttp import get_internal_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Reusable(WSGIServer):
        allow_reuse_address = True

    server = make_server(host, port, get_internal_wsgi_application(), Reusable, Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
