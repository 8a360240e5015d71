"""What a running sandbox holds, behind one lock: the traffic it received and recorded, the injected
faults, and the Postmark-side state its endpoints read and change (suppressions, bounce records, webhook
configurations, the sent messages that message search and statistics read).

Each connection is served in its own thread, webhooks are posted from another, and a test reads from its
own: every method takes the lock, and every list it returns is a copy.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
import time
from collections.abc import Callable, Container, Iterable, Mapping
from typing import Any

from . import outcomes, payloads, suppressions
from .bulk import status_text
from .faults import Fault
from .messages import SentMessage
from .records import ReceivedRequest, WebhookPost, utc_now
from .validation import CheckedMessage
from .webhook_sender import Delivery


class SandboxState:
    """The state of one :class:`~.core.Sandbox`; its endpoints call these methods.

    ``inactive`` is the set of addresses suppressed on every stream. Tests change it at will (without the
    lock), so the sandbox reads it through :meth:`inactive_snapshot`; the sandbox itself changes it with
    the lock held. Suppressions of one stream (a hard bounce, a spam complaint, ``POST
    .../suppressions``) are kept per stream, see :meth:`suppressed`.
    ``post_webhook`` is given each webhook post that follows an accepted message, after the lock is
    released.
    """

    def __init__(self, inactive: Iterable[str], post_webhook: Callable[[Delivery], None]) -> None:
        self.inactive: set[str] = {address.lower() for address in inactive}
        self._post_webhook = post_webhook
        self._lock = threading.RLock()
        self._webhooks_settled = threading.Condition(self._lock)
        self._requests: list[ReceivedRequest] = []
        self._messages: list[dict[str, Any]] = []
        self._sent: list[SentMessage] = []
        #: stream -> lower-cased address -> the suppression, in Postmark's shape (oldest first).
        self._suppressions: dict[str, dict[str, dict[str, Any]]] = {}
        self._created_at = utc_now()
        self._webhook_posts: list[WebhookPost] = []
        self._settled_count = 0
        # Webhook configurations are replaced, never changed in place: a copy of the list is a snapshot.
        self._webhooks: list[dict[str, Any]] = []
        self._bounces: list[dict[str, Any]] = []
        #: Hard-bounced addresses reactivated through the API: their mailbox counts as fixed (see
        #: :meth:`emulate_delivery`), so later mail to them is delivered.
        self._repaired: set[str] = set()
        self._faults: list[Fault] = []
        self._connections = 0
        self._round_trips = 0
        self._next_webhook_id = 1
        self._next_bounce_id = 1
        # Bulk API jobs by ID: {"view": what GET /email/bulk/{id} shows, "messages", "processed", ...}.
        self._bulk_jobs: dict[str, dict[str, Any]] = {}
        self._bulk_pending = 0

    # -- traffic -----------------------------------------------------------------------------------

    def count_connection(self) -> int:
        """Count a TCP connection accepted; return its number (1 for the first)."""
        with self._lock:
            self._connections += 1
            return self._connections

    def count_round_trip(self) -> None:
        """Count one emulated network round trip."""
        with self._lock:
            self._round_trips += 1

    def connections_opened(self) -> int:
        """TCP connections accepted so far."""
        with self._lock:
            return self._connections

    def round_trips(self) -> int:
        """Emulated network round trips so far."""
        with self._lock:
            return self._round_trips

    def record_request(self, received: ReceivedRequest) -> None:
        """Keep an API request received."""
        with self._lock:
            self._requests.append(received)

    def requests(self) -> list[ReceivedRequest]:
        """Every API request kept, oldest first."""
        with self._lock:
            return list(self._requests)

    def messages(self) -> list[dict[str, Any]]:
        """Every accepted message as sent, plus its ``MessageID``, oldest first (deep copies)."""
        with self._lock:
            return copy.deepcopy(self._messages)

    def sent_messages(self) -> list[SentMessage]:
        """Every accepted message as message search and statistics read it, oldest first (immutable)."""
        with self._lock:
            return list(self._sent)

    def clear(self) -> None:
        """Forget the requests, messages and webhook posts kept (not the configuration, not ``inactive``,
        not the suppressions and bounce records)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._sent.clear()
            self._webhook_posts.clear()
            self._settled_count = 0

    # -- faults ------------------------------------------------------------------------------------

    def add_fault(self, fault: Fault) -> None:
        """Queue a fault for the next requests it matches."""
        with self._lock:
            self._faults.append(fault)

    def take_fault(self, received: ReceivedRequest) -> Fault | None:
        """The first queued fault that matches ``received``, counted as used once (gone when used up)."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(received):
                    fault.remaining -= 1
                    if fault.remaining <= 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # -- sending -----------------------------------------------------------------------------------

    def inactive_snapshot(self) -> set[str]:
        """The suppressed addresses now, lower-cased (a test may have added any case)."""
        return {address.lower() for address in set(self.inactive)}

    def accept(
        self,
        message: Mapping[str, Any],
        checked: CheckedMessage,
        message_id: str,
        blocked: Container[str],
        *,
        server_id: int,
    ) -> None:
        """Keep an accepted message, emulate delivery to each recipient not ``blocked``, and hand the
        webhook posts that follow to ``post_webhook``.

        The message, its bounce records and suppressions are kept in one critical section: no other
        thread sees the message without them (so the next send to a hard-bounced address is refused).
        """
        # A shallow copy: the kept record gets its own MessageID key, and its nested values (parsed from
        # the request, never changed by the sandbox) are shared; :meth:`messages` hands out deep copies.
        stored = {**message, "MessageID": message_id}
        now = utc_now()
        events: list[outcomes.Event] = []
        skipped = (
            tuple(recipient for recipient in checked.recipients if recipient in blocked) if blocked else ()
        )
        with self._lock:
            repaired = (
                tuple(recipient for recipient in checked.recipients if recipient in self._repaired)
                if self._repaired
                else ()
            )
            sent = SentMessage(message_id, stored, checked, now, skipped, repaired)
            self._messages.append(stored)
            self._sent.append(sent)
            hooks = list(self._webhooks)  # a snapshot: configurations are replaced, never changed
            wanted = outcomes.enabled_triggers(hooks, checked.stream)
            for recipient in checked.recipients:
                if recipient not in blocked:
                    events.extend(
                        self.emulate_delivery(
                            checked, message_id, recipient, now, server_id=server_id, wanted=wanted
                        )
                    )
        if events:
            for delivery in outcomes.deliveries(hooks, checked.stream, events):
                self._post_webhook(delivery)

    def emulate_delivery(
        self,
        checked: CheckedMessage,
        message_id: str,
        recipient: str,
        now: dt.datetime,
        *,
        server_id: int,
        wanted: Container[str] = outcomes.WEBHOOK_EVENTS,
    ) -> list[outcomes.Event]:
        """The events of delivering to one recipient (see :func:`~.outcomes.recipient_events`); a bounce
        or complaint is kept as a bounce record and may suppress the address, whatever ``wanted`` says.

        A hard-bounced address reactivated through the API (its suppression deleted, or its bounce
        activated) is delivered from then on: reactivating says the mailbox was fixed, and the story a
        support desk follows (bounce, reactivate, send again) needs the next mail to arrive."""
        with self._lock:
            events = outcomes.recipient_events(
                checked,
                message_id,
                recipient,
                now,
                server_id=server_id,
                bounce_id=self._next_bounce_id,
                wanted=wanted,
                repaired=recipient in self._repaired,
            )
            for event in events:
                if event.outcome is not None:
                    self._next_bounce_id += 1
                    self._bounces.append(payloads.listed_bounce(copy.deepcopy(event.payload)))
                    if event.outcome.makes_inactive:
                        stream = self._suppressions.setdefault(checked.stream, {})
                        stream[recipient] = suppressions.record(
                            recipient, event.outcome.type, "Recipient", now
                        )
            return events

    # -- bulk jobs ---------------------------------------------------------------------------------

    def add_bulk_job(
        self,
        job_id: str,
        *,
        submitted_at: str,
        subject: str,
        messages: list[tuple[dict[str, Any], CheckedMessage]],
        started: float,
        test_mode: bool,
    ) -> None:
        """Keep an accepted bulk job; its ``messages`` are processed by :meth:`take_due_bulk`."""
        with self._lock:
            self._bulk_jobs[job_id] = {
                "ID": job_id,
                "SubmittedAt": submitted_at,
                "Subject": subject,
                "messages": messages,
                "started": started,
                "processed": 0,
                "test_mode": test_mode,
            }
            self._bulk_pending += len(messages)

    def has_pending_bulk(self) -> bool:
        """Whether some bulk job still has messages to process (read without the lock: a hint)."""
        return self._bulk_pending > 0

    def take_due_bulk(self, now: float, rate: float) -> list[tuple[dict[str, Any], CheckedMessage, bool]]:
        """The bulk messages due by ``now`` at ``rate`` messages per second, counted as processed:
        ``(message, checked, test_mode)`` each, every one handed out once."""
        due = []
        with self._lock:
            for job in self._bulk_jobs.values():
                messages = job["messages"]
                target = min(len(messages), int((now - job["started"]) * rate + 1e-9))
                while job["processed"] < target:
                    message, checked = messages[job["processed"]]
                    due.append((message, checked, job["test_mode"]))
                    job["processed"] += 1
                    self._bulk_pending -= 1
        return due

    def bulk_job(self, job_id: str) -> dict[str, Any] | None:
        """What ``GET /email/bulk/{id}`` shows of a job (None when there is none)."""
        with self._lock:
            job = self._bulk_jobs.get(job_id)
            if job is None:
                return None
            total, processed = len(job["messages"]), job["processed"]
            return {
                "ID": job["ID"],
                "SubmittedAt": job["SubmittedAt"],
                "TotalMessages": total,
                "PercentageCompleted": round(100.0 * processed / total, 2) if total else 100.0,
                "Status": status_text(processed, total),
                "Subject": job["Subject"],
            }

    # -- bounces -----------------------------------------------------------------------------------

    def bounces(self) -> list[dict[str, Any]]:
        """The bounce records (as ``GET /bounces`` lists them), oldest first (deep copies)."""
        with self._lock:
            return copy.deepcopy(self._bounces)

    def activate_bounce(self, bounce_id: int) -> dict[str, Any]:
        """Mark a bounce record active again and lift the suppression of its address (on its stream, and
        in ``inactive``); return the record. A lifted suppression is reported as a SubscriptionChange
        (see :meth:`change_suppressions`).

        Raise :class:`KeyError` when there is no such record.
        """
        with self._lock:
            for record in self._bounces:
                if record["ID"] == bounce_id:
                    record["Inactive"] = False
                    address = record["Email"].lower()
                    stream = record["MessageStream"]
                    was_suppressed = address in self.suppressed(stream)
                    if record.get("Type") == "HardBounce":
                        self._repaired.add(address)
                    self.inactive.discard(address)
                    self._suppressions.get(stream, {}).pop(address, None)
                    found = copy.deepcopy(record)
                    hooks = list(self._webhooks)
                    break
            else:
                raise KeyError(bounce_id)
        if was_suppressed:
            self._post_subscription_changes(
                hooks, stream, [address], suppress=False, server_id=found["ServerID"]
            )
        return found

    def _post_subscription_changes(
        self,
        hooks: list[dict[str, Any]],
        stream: str,
        addresses: Iterable[str],
        *,
        suppress: bool,
        server_id: int,
    ) -> None:
        """Hand ``post_webhook`` the SubscriptionChange webhooks that report a change made through the API
        (the lock released: posting never waits for it)."""
        now = utc_now()
        events = [
            outcomes.Event(
                "SubscriptionChange",
                payloads.manual_subscription_change(address, stream, server_id, now, suppress=suppress),
            )
            for address in addresses
        ]
        for delivery in outcomes.deliveries(hooks, stream, events):
            self._post_webhook(delivery)

    # -- suppressions ------------------------------------------------------------------------------

    def suppressed(self, stream: str) -> set[str]:
        """The addresses a send on ``stream`` is refused for: ``inactive`` and the stream's suppressions."""
        with self._lock:
            return self.inactive_snapshot() | set(self._suppressions.get(stream, ()))

    def inactive_count(self) -> int:
        """How many addresses are suppressed on some stream (``/deliverystats``' ``InactiveMails``)."""
        with self._lock:
            every = self.inactive_snapshot()
            for records in self._suppressions.values():
                every.update(records)
            return len(every)

    def suppressions(self, stream: str) -> list[dict[str, Any]]:
        """The suppressions of ``stream`` as its dump lists them (see :func:`~.suppressions.listed`)."""
        with self._lock:
            return suppressions.listed(
                self._suppressions.get(stream, {}), self.inactive_snapshot(), self._created_at
            )

    def change_suppressions(
        self, stream: str, addresses: Iterable[object], *, delete: bool, server_id: int = 1
    ) -> list[dict[str, Any]]:
        """Suppress (``delete`` False) or reactivate each of ``addresses`` on ``stream``; return Postmark's
        result for each, in order (see :func:`~.suppressions.change`).

        Deleting a HardBounce suppression reactivates its bounce records, as at Postmark; deleting an
        address of ``inactive`` lifts it on every stream. Each address whose standing changed is
        reported to the stream's webhooks as a SubscriptionChange by the Customer, as Postmark does.
        """
        with self._lock:
            records = self._suppressions.setdefault(stream, {})
            results, changed = suppressions.change(
                records, self.inactive_snapshot(), addresses, delete=delete, now=utc_now()
            )
            if delete:
                for address in changed:
                    self.inactive.discard(address)
                    for bounce in self._bounces:
                        if bounce["MessageStream"] == stream and bounce["Email"].lower() == address:
                            bounce["Inactive"] = False
                            if bounce.get("Type") == "HardBounce":
                                self._repaired.add(address)
            hooks = list(self._webhooks)
        if changed:
            self._post_subscription_changes(hooks, stream, changed, suppress=not delete, server_id=server_id)
        return results

    # -- webhook configurations --------------------------------------------------------------------

    def webhooks(self) -> list[dict[str, Any]]:
        """The webhook configurations, in Postmark's shape (deep copies)."""
        with self._lock:
            return copy.deepcopy(self._webhooks)

    def store_webhook(self, webhook: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the configuration with ``webhook``'s ``ID``, or add ``webhook`` with a new ``ID``.

        Return what was stored (a copy).
        """
        with self._lock:
            if "ID" in webhook:
                stored = dict(webhook)
                self._webhooks = [stored if hook["ID"] == stored["ID"] else hook for hook in self._webhooks]
            else:
                stored = {"ID": self._next_webhook_id, **webhook}
                self._next_webhook_id += 1
                self._webhooks.append(stored)
            return copy.deepcopy(stored)

    def delete_webhook(self, webhook_id: int) -> None:
        """Remove the configuration with ``webhook_id`` (nothing when there is none)."""
        with self._lock:
            self._webhooks = [hook for hook in self._webhooks if hook["ID"] != webhook_id]

    # -- webhook posts -----------------------------------------------------------------------------

    def record_webhook_post(self, post: WebhookPost) -> None:
        """Keep one attempt to post a webhook."""
        with self._lock:
            self._webhook_posts.append(post)

    def webhook_settled(self) -> None:
        """Count one webhook delivery settled (succeeded or given up) and wake :meth:`wait_for_webhooks`."""
        with self._webhooks_settled:
            self._settled_count += 1
            self._webhooks_settled.notify_all()

    def webhook_posts(self) -> list[WebhookPost]:
        """Every webhook post attempt kept, oldest first."""
        with self._lock:
            return list(self._webhook_posts)

    def wait_for_webhooks(self, n: int, timeout: float) -> list[WebhookPost]:
        """Block until ``n`` webhook deliveries have settled; return :meth:`webhook_posts`.

        Raise :class:`TimeoutError`, naming what was posted, when they have not within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        with self._webhooks_settled:
            while self._settled_count < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    posted = [
                        (post.payload.get("RecordType"), post.http_status) for post in self._webhook_posts
                    ]
                    raise TimeoutError(
                        f"{self._settled_count} of {n} webhook deliveries settled within {timeout}s; posts: {posted}"
                    )
                self._webhooks_settled.wait(remaining)
            return list(self._webhook_posts)
