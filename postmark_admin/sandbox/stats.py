"""The outbound statistics endpoints: ``GET /stats/outbound`` (the overview) and the per-day counts
``/stats/outbound/sends``, ``/bounces``, ``/spam``, ``/tracked``, ``/opens`` and ``/clicks``.

Shapes follow Postmark's Stats API reference (postmarkapp.com/developer/api/stats-api): "All stats use
EST timezone. If no from/to date is provided, all time stats are returned"; without ``messagestream``
"the response will include stats for all streams in the server". A per-day list holds only the days
with something to count, as the reference's examples do.

Counted per recipient delivered to (Postmark counts each recipient as one email) (unsure for
multi-recipient messages), from the same emulated outcomes as the webhooks and MessageEvents: a hard or
soft bounce counts in ``Bounced``, a spam complaint in ``SpamComplaints`` (its delivery counts as sent);
every emulated open records its client, platform and read time. Pure but for the endpoints.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import payloads
from .messages import SentMessage
from .query import date_param
from .records import ReceivedRequest, postmark_time_zone
from .server import Answer
from .validation import invalid

if TYPE_CHECKING:
    from .core import Sandbox

#: Postmark's ErrorCode for a parameter that should be a date, and for a from date after the to date.
DATE_CODE = 900
DATE_ORDER_CODE = 1502


@dataclass(frozen=True)
class Counted:
    """What happened to one recipient of one message, for counting: its day (US Eastern) and counters."""

    day: dt.date
    counters: Mapping[str, int]


def recipient_counters(sent: SentMessage, recipient: str) -> dict[str, int]:
    """The counters one recipient adds (the overview's names, plus the bounce's Type). Pure."""
    checked = sent.checked
    outcome = sent.outcome(recipient)
    opens = payloads.opens_tracked(checked)
    links = payloads.tracked_links(checked)
    tracked_links = len(links)
    counters = {
        "Sent": 1,
        "Tracked": int(checked.track_opens or checked.track_links != "None"),
        "WithOpenTracking": int(checked.track_opens),
        "WithLinkTracking": int(checked.track_links != "None"),
        "TotalTrackedLinksSent": tracked_links,
    }
    if outcome is None:
        opened = int(opens)
        clicked = int(bool(links))
        counters.update(
            Opens=opened,
            UniqueOpens=opened,
            WithClientRecorded=opened,
            WithPlatformRecorded=opened,
            WithReadTimeRecorded=opened,
            TotalClicks=clicked,
            UniqueLinksClicked=clicked,
        )
    elif outcome.record_type == "SpamComplaint":
        counters["SpamComplaints"] = 1
    else:
        counters["Bounced"] = 1
        counters[outcome.type] = 1
    return counters


def counted(messages: Iterable[SentMessage]) -> Iterator[Counted]:
    """Every recipient delivered to of ``messages``, counted. Pure."""
    zone = postmark_time_zone()
    for sent in messages:
        day = sent.at.astimezone(zone).date()
        for recipient in sent.delivered_to:
            yield Counted(day, recipient_counters(sent, recipient))


OVERVIEW_FIELDS = (
    "Sent",
    "Bounced",
    "SMTPApiErrors",
    "BounceRate",
    "SpamComplaints",
    "SpamComplaintsRate",
    "Opens",
    "UniqueOpens",
    "Tracked",
    "WithClientRecorded",
    "WithPlatformRecorded",
    "WithReadTimeRecorded",
    "WithLinkTracking",
    "WithOpenTracking",
    "TotalTrackedLinksSent",
    "UniqueLinksClicked",
    "TotalClicks",
)


def _rate(part: int, whole: int) -> float:
    """A percentage of ``whole``, to 3 decimals as Postmark's examples show (0 when nothing was sent)."""
    return round(100 * part / whole, 3) if whole else 0.0


def overview(rows: Iterable[Counted]) -> dict[str, Any]:
    """``GET /stats/outbound``' answer. Pure."""
    totals: Counter[str] = Counter()
    for row in rows:
        totals.update(row.counters)
    # The sandbox makes no SMTP API errors (it has no SMTP API).
    answer: dict[str, Any] = {name: totals[name] for name in OVERVIEW_FIELDS}
    answer["BounceRate"] = _rate(totals["Bounced"], totals["Sent"])
    answer["SpamComplaintsRate"] = _rate(totals["SpamComplaints"], totals["Sent"])
    return answer


#: Each per-day endpoint: its path's last segment -> (counter read, the name it is given), in order.
PER_DAY: dict[str, tuple[tuple[str, str], ...]] = {
    "sends": (("Sent", "Sent"),),
    "bounces": (("HardBounce", "HardBounce"), ("SoftBounce", "SoftBounce"), ("Transient", "Transient")),
    "spam": (("SpamComplaints", "SpamComplaint"),),
    "tracked": (("Tracked", "Tracked"),),
    "opens": (("Opens", "Opens"), ("UniqueOpens", "Unique")),
    "clicks": (("TotalClicks", "Clicks"), ("UniqueLinksClicked", "Unique")),
}


def per_day(rows: Iterable[Counted], kind: str) -> dict[str, Any]:
    """A per-day endpoint's answer: ``{"Days": [{"Date", <counts>}], <totals>}``, the days in order and
    only those with a count; in a day (and, for bounces, in the totals) only the counts that are not 0,
    as Postmark's examples show. Pure."""
    fields = PER_DAY[kind]
    days: dict[dt.date, Counter[str]] = {}
    totals: Counter[str] = Counter()
    for row in rows:
        for counter, name in fields:
            value = row.counters.get(counter, 0)
            if value:
                days.setdefault(row.day, Counter())[name] += value
                totals[name] += value
    listed = [{"Date": day.isoformat(), **dict(counts)} for day, counts in sorted(days.items())]
    if kind == "bounces":
        return {"Days": listed, **dict(totals)}
    return {"Days": listed, **{name: totals[name] for _, name in fields}}


# -- the endpoints ---------------------------------------------------------------------------------


def _rows(sandbox: Sandbox, received: ReceivedRequest) -> list[Counted]:
    query = received.query
    stream = query.get("messagestream") or None
    if stream is not None and stream not in sandbox.message_streams:
        raise invalid(f"The message stream for the provided 'ID' ({stream}) was not found.", 1226)
    tag = query.get("tag") or None
    since = date_param(received, "fromdate", up_to=False, code=DATE_CODE)
    until = date_param(received, "todate", up_to=True, code=DATE_CODE)
    if since is not None and until is not None and since > until:
        raise invalid("Parameter 'fromdate' must be older than 'todate'.", DATE_ORDER_CODE)
    messages = [
        sent
        for sent in sandbox.state.sent_messages()
        if (stream is None or sent.checked.stream == stream)
        and (tag is None or sent.checked.tag == tag)
        and (since is None or sent.at >= since)
        and (until is None or sent.at <= until)
    ]
    return list(counted(messages))


def outbound(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    return Answer(200, overview(_rows(sandbox, received)))


def _per_day_endpoint(kind: str) -> Callable[[Sandbox, ReceivedRequest], Answer]:
    def endpoint(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
        return Answer(200, per_day(_rows(sandbox, received), kind))

    endpoint.__name__ = f"outbound_{kind}"
    return endpoint


sends = _per_day_endpoint("sends")
bounces = _per_day_endpoint("bounces")
spam = _per_day_endpoint("spam")
tracked = _per_day_endpoint("tracked")
opens = _per_day_endpoint("opens")
clicks = _per_day_endpoint("clicks")
