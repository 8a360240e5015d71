"""Server-level endpoints: ``/server``, ``/deliverystats``, ``/message-streams``, ``/bounces`` and the
webhook configuration under ``/webhooks``."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from .outcomes import TRIGGER_DEFAULTS
from .payloads import bounce_content
from .query import date_param, paging
from .records import ReceivedRequest
from .server import Answer
from .validation import SERVER_TRACK_LINKS, SERVER_TRACK_OPENS, ApiError, invalid

if TYPE_CHECKING:
    from .core import Sandbox

STREAM_NAMES = {
    "Transactional": "Default Transactional Stream",
    "Broadcasts": "Default Broadcast Stream",
    "Inbound": "Default Inbound Stream",
}
MAX_BOUNCE_COUNT = 500
MAX_BOUNCE_WINDOW = 10_000
#: The ErrorCode of a bad ``/bounces`` parameter (Postmark's table names 1000; kept at 403 as before).
BOUNCE_QUERY_CODE = 403

# -- /server, /deliverystats, /message-streams ---------------------------------------------------


def server_info(sandbox: Sandbox) -> dict[str, Any]:
    """``GET /server``'s answer."""
    return {
        "ID": sandbox.server_id,
        "Name": sandbox.server_name,
        "ApiTokens": [sandbox.token],
        "Color": "Purple",
        "SmtpApiActivated": True,
        "RawEmailEnabled": False,
        "DeliveryType": "Sandbox",
        "ServerLink": sandbox.url,
        "InboundAddress": f"inbound-{sandbox.server_id}@inbound.postmarkapp.com",
        "InboundHookUrl": "",
        "BounceHookUrl": "",
        "OpenHookUrl": "",
        "DeliveryHookUrl": "",
        "ClickHookUrl": "",
        "PostFirstOpenOnly": False,
        "InboundDomain": "",
        "InboundHash": f"sandbox{sandbox.server_id}",
        "InboundSpamThreshold": 0,
        "TrackOpens": SERVER_TRACK_OPENS,
        "TrackLinks": SERVER_TRACK_LINKS,
        "IncludeBounceContentInHook": False,
        "EnableSmtpApiErrorHooks": False,
    }


def server(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    return Answer(200, server_info(sandbox))


def delivery_stats(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    bounces = sandbox.state.bounces()
    counts: dict[tuple[str, str], int] = {}
    for record in bounces:
        key = (record["Type"], record["Name"])
        counts[key] = counts.get(key, 0) + 1
    return Answer(
        200,
        {
            "InactiveMails": sandbox.state.inactive_count(),
            "Bounces": [{"Name": "All", "Count": len(bounces)}]
            + [{"Type": kind, "Name": name, "Count": count} for (kind, name), count in counts.items()],
        },
    )


def _stream(sandbox: Sandbox, stream_id: str, kind: str) -> dict[str, Any]:
    """A message stream as ``GET /message-streams`` lists it."""
    return {
        "ID": stream_id,
        "ServerID": sandbox.server_id,
        "Name": STREAM_NAMES.get(kind, stream_id),
        "Description": None,
        "MessageStreamType": kind,
        "CreatedAt": "2024-01-01T00:00:00-05:00",
        "UpdatedAt": None,
        "ArchivedAt": None,
        "ExpectedPurgeDate": None,
        "SubscriptionManagementConfiguration": {"UnsubscribeHandlingType": "None"},
    }


def message_streams(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    wanted = received.query.get("MessageStreamType", "All")
    streams = [
        _stream(sandbox, stream_id, kind)
        for stream_id, kind in sandbox.message_streams.items()
        if wanted in ("All", kind)
    ]
    return Answer(200, {"MessageStreams": streams, "TotalCount": len(streams)})


def message_stream(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    kind = sandbox.message_streams.get(id)
    if kind is None:
        raise invalid(f"The message stream '{id}' was not found.", 1226)
    return Answer(200, _stream(sandbox, id, kind))


# -- /bounces --------------------------------------------------------------------------------------


#: The ``GET /bounces`` filters that a record field must equal: query parameter -> field.
EQUALITY_FILTERS = {"type": "Type", "tag": "Tag", "messageID": "MessageID", "messagestream": "MessageStream"}


@dataclass(frozen=True)
class BounceFilters:
    """What ``GET /bounces`` keeps: records equal to every ``equal`` field, of the ``inactive`` state, with
    ``email`` in the address, bounced from ``since`` up to ``until`` (both included). None: not filtered."""

    equal: Mapping[str, str]
    inactive: bool | None
    email: str | None
    since: dt.datetime | None
    until: dt.datetime | None

    @classmethod
    def read(cls, received: ReceivedRequest) -> BounceFilters:
        query = received.query
        return cls(
            equal={field: query[name] for name, field in EQUALITY_FILTERS.items() if query.get(name)},
            inactive=query["inactive"].lower() == "true" if query.get("inactive") else None,
            email=query.get("emailFilter") or None,
            since=date_param(received, "fromdate", up_to=False, code=BOUNCE_QUERY_CODE),
            until=date_param(received, "todate", up_to=True, code=BOUNCE_QUERY_CODE),
        )

    def match(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` passes every filter."""
        if any(record[field] != value for field, value in self.equal.items()):
            return False
        if self.inactive is not None and record["Inactive"] != self.inactive:
            return False
        if self.email is not None and self.email.lower() not in record["Email"].lower():
            return False
        if self.since is None and self.until is None:
            return True
        bounced_at = dt.datetime.fromisoformat(record["BouncedAt"])
        return (self.since is None or bounced_at >= self.since) and (
            self.until is None or bounced_at <= self.until
        )


def bounces(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    # Paging is optional for a look-up by messageID (Postmark's reference says so): at most one page then.
    paged = not received.query.get("messageID")
    count, offset = paging(
        received,
        max_count=MAX_BOUNCE_COUNT,
        max_window=MAX_BOUNCE_WINDOW,
        code=BOUNCE_QUERY_CODE,
        required=paged,
    )
    filters = BounceFilters.read(received)
    found = [record for record in sandbox.state.bounces() if filters.match(record)]
    found.reverse()  # newest first, as Postmark lists them
    return Answer(200, {"TotalCount": len(found), "Bounces": found[offset : offset + count]})


def bounce_tags(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    """The tags of the messages that bounced, each once, sorted."""
    return Answer(200, sorted({record["Tag"] for record in sandbox.state.bounces() if record["Tag"]}))


def _with_id(records: Iterable[dict[str, Any]], record_id: int | None, not_found: ApiError) -> dict[str, Any]:
    """The record whose ``ID`` is ``record_id``; raise ``not_found`` when there is none."""
    for record in records:
        if record_id is not None and record["ID"] == record_id:
            return record
    raise not_found


def _bounce_id(text: str) -> int | None:
    """A bounce ID in a path: its digits exactly as the ID is written (``07`` names no bounce)."""
    return int(text) if text.isdecimal() and str(int(text)) == text else None


def _find_bounce(sandbox: Sandbox, id_text: str) -> dict[str, Any]:
    not_found = invalid(f"Bounce {id_text} was not found.", 1001)
    return _with_id(sandbox.state.bounces(), _bounce_id(id_text), not_found)


def bounce(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    return Answer(200, _find_bounce(sandbox, id))


def bounce_dump(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    record = _find_bounce(sandbox, id)
    # Postmark answers an empty Body for a bounce it kept no dump of.
    return Answer(200, {"Body": bounce_content(record) if record["DumpAvailable"] else ""})


def activate_bounce(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    record = _find_bounce(sandbox, id)
    if not record["CanActivate"]:
        raise invalid(f"Bounce {id} cannot be activated.", 1003)
    return Answer(200, {"Message": "OK", "Bounce": sandbox.state.activate_bounce(record["ID"])})


# -- /webhooks -------------------------------------------------------------------------------------


def valid_webhook_url(url: object) -> bool:
    """An absolute http(s) URL with a host and no whitespace."""
    if not isinstance(url, str) or not url or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _merged_triggers(current: Mapping[str, Any], given: Any) -> dict[str, dict[str, bool]]:
    if given is None:
        return copy.deepcopy(dict(current))
    if not isinstance(given, Mapping):
        raise invalid("Invalid 'Triggers' field: expected an object.", 403)
    merged = copy.deepcopy(dict(current))
    for name, settings in given.items():
        if name not in TRIGGER_DEFAULTS or not isinstance(settings, Mapping):
            raise invalid(f"Invalid trigger '{name}'.", 403)
        for key, value in settings.items():
            if key not in TRIGGER_DEFAULTS[name] or not isinstance(value, bool):
                raise invalid(f"Invalid setting '{key}' for trigger '{name}'.", 403)
            merged[name][key] = value
    return merged


def webhook_fields(
    body: Any, current: Mapping[str, Any] | None, streams: Mapping[str, str]
) -> dict[str, Any]:
    """A webhook configuration from a POST (``current`` is None) or PUT body. Pure."""
    if not isinstance(body, Mapping):
        raise invalid("Invalid JSON: expected a webhook object.", 402)
    webhook: dict[str, Any] = (
        copy.deepcopy(dict(current))
        if current is not None
        else {
            "Url": None,
            "MessageStream": "outbound",
            "HttpAuth": {"Username": "", "Password": ""},
            "HttpHeaders": [],
            "Triggers": copy.deepcopy(TRIGGER_DEFAULTS),
        }
    )
    if current is None or "Url" in body:
        if not valid_webhook_url(body.get("Url")):
            raise invalid("Invalid webhook URL: it must be an absolute http or https URL.", 606)
        webhook["Url"] = body["Url"]
    if current is None and body.get("MessageStream"):
        if body["MessageStream"] not in streams:
            raise invalid(
                f"The message stream '{body['MessageStream']}' does not exist on this server.", 1235
            )
        webhook["MessageStream"] = body["MessageStream"]
    if body.get("HttpAuth") is not None:
        auth = body["HttpAuth"]
        if not isinstance(auth, Mapping):
            raise invalid('Invalid \'HttpAuth\' field: expected {"Username", "Password"}.', 403)
        webhook["HttpAuth"] = {"Username": auth.get("Username") or "", "Password": auth.get("Password") or ""}
    if body.get("HttpHeaders") is not None:
        headers = body["HttpHeaders"]
        if not isinstance(headers, list) or not all(
            isinstance(item, Mapping) and isinstance(item.get("Name"), str) for item in headers
        ):
            raise invalid('Invalid \'HttpHeaders\' field: expected a list of {"Name", "Value"}.', 403)
        webhook["HttpHeaders"] = [
            {"Name": item["Name"], "Value": str(item.get("Value", ""))} for item in headers
        ]
    webhook["Triggers"] = _merged_triggers(webhook["Triggers"], body.get("Triggers"))
    return webhook


def _webhook_id(text: str) -> int | None:
    """A webhook ID in a path: any text :class:`int` reads."""
    try:
        return int(text)
    except ValueError:
        return None


def list_webhooks(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    stream = received.query.get("MessageStream")
    webhooks = [hook for hook in sandbox.webhooks if not stream or hook["MessageStream"] == stream]
    return Answer(200, {"Webhooks": webhooks})


def create_webhook(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    webhook = webhook_fields(received.json_body, None, sandbox.message_streams)
    return Answer(200, sandbox.state.store_webhook(webhook))


def _existing(sandbox: Sandbox, id_text: str) -> dict[str, Any]:
    not_found = invalid(f"Webhook {id_text} was not found.", 1400)
    return _with_id(sandbox.state.webhooks(), _webhook_id(id_text), not_found)


def get_webhook(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    return Answer(200, _existing(sandbox, id))


def update_webhook(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    current = _existing(sandbox, id)
    webhook = webhook_fields(received.json_body, current, sandbox.message_streams)
    return Answer(200, sandbox.state.store_webhook(webhook))


def delete_webhook(sandbox: Sandbox, received: ReceivedRequest, id: str) -> Answer:
    current = _existing(sandbox, id)
    sandbox.state.delete_webhook(current["ID"])
    return Answer(200, {"ErrorCode": 0, "Message": f"Webhook {current['ID']} removed."})
