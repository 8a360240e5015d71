"""Route one API request: the checks every Postmark endpoint makes (token, headers, JSON), then the
endpoint itself. Inspection pages (``/`` and ``/sandbox/...``) are routed by :mod:`.core`, not here."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import account, bulk, messages, sending, stats, suppressions
from .records import ReceivedRequest
from .server import Answer
from .validation import NO_ENDPOINT, ApiError

if TYPE_CHECKING:
    from .core import Sandbox

Endpoint = Callable[..., Answer]  # (sandbox, received, **path_parameters)


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # the template, e.g. "/bounces/{id}/activate"
    pattern: re.Pattern[str]
    endpoint: Endpoint
    sends: bool = False  # accepts the POSTMARK_API_TEST token
    reads_test_jobs: bool = False  # accepts it too, without a body (a bulk job's status)

    @property
    def literal_segments(self) -> int:
        """How many segments of the path are fixed text: of two paths that match, the one with more wins
        (``/bounces/tags`` over ``/bounces/{id}``), whatever their order in :data:`ROUTES`."""
        return sum(1 for segment in self.path.split("/") if segment and not segment.startswith("{"))


def _route(
    method: str, path: str, endpoint: Endpoint, sends: bool = False, reads_test_jobs: bool = False
) -> Route:
    regex = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "/?$"
    return Route(method, path, re.compile(regex, re.IGNORECASE), endpoint, sends, reads_test_jobs)


ROUTES: tuple[Route, ...] = (
    _route("POST", "/email", sending.email, sends=True),
    _route("POST", "/email/batch", sending.email_batch, sends=True),
    _route("POST", "/email/withTemplate", sending.email_with_template, sends=True),
    _route("POST", "/email/batchWithTemplates", sending.email_batch_with_templates, sends=True),
    _route("POST", "/email/bulk", bulk.email_bulk, sends=True),
    _route("GET", "/email/bulk/{id}", bulk.bulk_status, reads_test_jobs=True),
    _route("GET", "/server", account.server),
    _route("GET", "/deliverystats", account.delivery_stats),
    _route("GET", "/message-streams", account.message_streams),
    _route("GET", "/message-streams/{id}", account.message_stream),
    _route("GET", "/bounces", account.bounces),
    _route("GET", "/bounces/tags", account.bounce_tags),
    _route("GET", "/bounces/{id}", account.bounce),
    _route("GET", "/bounces/{id}/dump", account.bounce_dump),
    _route("PUT", "/bounces/{id}/activate", account.activate_bounce),
    _route("GET", "/webhooks", account.list_webhooks),
    _route("POST", "/webhooks", account.create_webhook),
    _route("GET", "/webhooks/{id}", account.get_webhook),
    _route("PUT", "/webhooks/{id}", account.update_webhook),
    _route("DELETE", "/webhooks/{id}", account.delete_webhook),
    _route("GET", "/message-streams/{stream}/suppressions/dump", suppressions.dump),
    _route("POST", "/message-streams/{stream}/suppressions", suppressions.create),
    _route("POST", "/message-streams/{stream}/suppressions/delete", suppressions.delete),
    _route("GET", "/messages/outbound", messages.search),
    _route("GET", "/messages/outbound/{id}/details", messages.message_details),
    _route("GET", "/messages/outbound/{id}/dump", messages.message_dump),
    _route("GET", "/stats/outbound", stats.outbound),
    _route("GET", "/stats/outbound/sends", stats.sends),
    _route("GET", "/stats/outbound/bounces", stats.bounces),
    _route("GET", "/stats/outbound/spam", stats.spam),
    _route("GET", "/stats/outbound/tracked", stats.tracked),
    _route("GET", "/stats/outbound/opens", stats.opens),
    _route("GET", "/stats/outbound/clicks", stats.clicks),
)

MISSING_TOKEN = (
    "No Account or Server API tokens were supplied in the HTTP headers. "
    "Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token."
)
INVALID_TOKEN = "Request does not contain a valid Server token."
JSON_REQUIRED = (
    "The request must send the headers 'Accept: application/json' and 'Content-Type: application/json'."
)


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
    """The route for ``method path``, its path parameters, and the methods its path allows.

    Of the paths that match, the one with the most fixed segments is the endpoint's (so ``/bounces/tags``
    is never read as the bounce ``tags``); ``None`` and that path's methods when none takes ``method``.
    """
    matching = [(route, found) for route in ROUTES if (found := route.pattern.match(path))]
    if not matching:
        return None, {}, []
    best = max(route.literal_segments for route, _ in matching)
    matching = [(route, found) for route, found in matching if route.literal_segments == best]
    for route, found in matching:
        if route.method == method:
            return route, found.groupdict(), [other.method for other, _ in matching]
    return None, {}, [route.method for route, _ in matching]


def _wants_json(value: str | None) -> bool:
    return value is not None and "application/json" in value.lower()


def _check(sandbox: Sandbox, route: Route, received: ReceivedRequest) -> None:
    token = received.header("X-Postmark-Server-Token")
    if not token:
        raise ApiError(401, 10, MISSING_TOKEN)
    if token != sandbox.token and not (
        (route.sends or route.reads_test_jobs) and token == sending.TEST_TOKEN
    ):
        raise ApiError(401, 10, INVALID_TOKEN)
    if not _wants_json(received.header("Accept")):
        raise ApiError(415, 409, JSON_REQUIRED)
    if received.method in ("POST", "PUT") and received.raw_body:
        if not _wants_json(received.header("Content-Type")):
            raise ApiError(415, 409, JSON_REQUIRED)
        if received.json_body is None:
            raise ApiError(422, 402, "Received invalid JSON input.")
    elif route.sends:
        raise ApiError(422, 402, "Received invalid JSON input: the body is empty.")


def dispatch(sandbox: Sandbox, received: ReceivedRequest) -> Answer:
    """Answer one API request as Postmark would."""
    route, params, allowed = match(received.method, received.path)
    if route is None:
        if allowed:
            error = ApiError(405, NO_ENDPOINT, f"{received.method} is not allowed on {received.path}.")
            return Answer(error.status, error.body(), headers={"Allow": ", ".join(allowed)})
        error = ApiError(
            404,
            NO_ENDPOINT,
            f"No API endpoint at {received.method} {received.path}: the sandbox emulates the endpoints "
            "docs/sandbox.rst lists.",
        )
        return Answer(error.status, error.body())
    try:
        _check(sandbox, route, received)
        return route.endpoint(sandbox, received, **params)
    except ApiError as error:
        return Answer(error.status, error.body())
