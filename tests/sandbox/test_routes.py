"""Routing: which endpoint a method and path reach, and the shape of every answer that is an error."""

from __future__ import annotations

import socket

import pytest
import requests

from postmark_admin.sandbox import routes

from .conftest import MESSAGE, headers


def is_postmark_error(answer: requests.Response) -> bool:
    """Postmark's error shape: a JSON object with an integer ``ErrorCode`` and a text ``Message``."""
    try:
        body = answer.json()
    except ValueError:
        return False
    return (
        isinstance(body, dict)
        and isinstance(body.get("ErrorCode"), int)
        and not isinstance(body.get("ErrorCode"), bool)
        and isinstance(body.get("Message"), str)
        and body["Message"] != ""
    )


#: Requests every kind of refusal answers, each with the status it must have.
BAD_REQUESTS = [
    ("GET", "nothing-here", None, {}, 404),
    ("POST", "emails", MESSAGE, {}, 404),
    ("GET", "email", None, {}, 405),
    ("DELETE", "server", None, {}, 405),
    ("PATCH", "webhooks/1", {}, {}, 405),
    ("PUT", "bounces/tags", None, {}, 405),
    ("GET", "stats/outbound/opens/platforms", None, {}, 404),
    ("GET", "messages/inbound", None, {}, 404),
    ("DELETE", "message-streams/outbound/suppressions", None, {}, 405),
    ("GET", "messages/outbound", None, {}, 422),
    ("GET", "messages/outbound/nope/details", None, {}, 422),
    ("GET", "messages/outbound/nope/dump", None, {}, 422),
    ("GET", "stats/outbound?fromdate=yesterday", None, {}, 422),
    ("GET", "stats/outbound/sends?messagestream=nope", None, {}, 422),
    ("GET", "message-streams/nope/suppressions/dump", None, {}, 422),
    ("POST", "message-streams/outbound/suppressions", {}, {}, 422),
    ("POST", "message-streams/outbound/suppressions/delete", {"Suppressions": "x"}, {}, 422),
    ("GET", "templates", None, {}, 404),
    ("GET", "favicon.ico", None, {}, 404),
    ("POST", "email", MESSAGE, {"X-Postmark-Server-Token": ""}, 401),
    ("POST", "email", MESSAGE, {"Accept": "text/html"}, 415),
    ("POST", "email", {"From": "x"}, {}, 422),
    ("GET", "bounces", None, {}, 422),
    ("GET", "bounces/1", None, {}, 422),
    ("GET", "webhooks/1", None, {}, 422),
]


@pytest.mark.parametrize(("method", "path", "body", "extra", "status"), BAD_REQUESTS)
def test_every_error_answer_has_postmarks_shape(postmark_sandbox, method, path, body, extra, status):
    answer = requests.request(
        method,
        postmark_sandbox.url + path,
        json=body,
        headers={**headers(postmark_sandbox), **extra},
        timeout=5,
    )
    assert answer.status_code == status
    assert answer.headers["Content-Type"].startswith("application/json")
    assert is_postmark_error(answer), answer.text


def test_a_wrong_method_names_the_allowed_ones(postmark_sandbox):
    answer = requests.put(postmark_sandbox.url + "bounces/tags", headers=headers(postmark_sandbox), timeout=5)
    assert (answer.status_code, answer.headers["Allow"]) == (405, "GET")


@pytest.mark.parametrize(
    "head",
    [
        b"POST /email HTTP/1.1\r\nContent-Length: ten\r\n",
        b"POST /email HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_an_unreadable_body_has_postmarks_shape(postmark_sandbox, head):
    with socket.create_connection((postmark_sandbox.host, postmark_sandbox.port), timeout=5) as sock:
        sock.sendall(head + b"Host: x\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 400")
    body = rest.partition(b"\r\n\r\n")[2]
    assert b'"ErrorCode": ' in body and b'"Message": ' in body


@pytest.mark.parametrize(
    ("method", "path", "endpoint", "params"),
    [
        ("GET", "/bounces/tags", "bounce_tags", {}),
        ("GET", "/bounces/tags/", "bounce_tags", {}),
        ("GET", "/Bounces/Tags", "bounce_tags", {}),
        ("GET", "/bounces/12", "bounce", {"id": "12"}),
        ("GET", "/bounces/x", "bounce", {"id": "x"}),
        ("GET", "/bounces/12/dump", "bounce_dump", {"id": "12"}),
        ("GET", "/bounces/tags/dump", "bounce_dump", {"id": "tags"}),
        ("PUT", "/bounces/12/activate", "activate_bounce", {"id": "12"}),
        ("GET", "/deliveryStats", "delivery_stats", {}),
        ("GET", "/message-streams/outbound", "message_stream", {"id": "outbound"}),
        ("GET", "/webhooks/3", "get_webhook", {"id": "3"}),
        ("GET", "/message-streams/outbound/suppressions/dump", "dump", {"stream": "outbound"}),
        ("POST", "/message-streams/broadcast/suppressions", "create", {"stream": "broadcast"}),
        ("POST", "/message-streams/outbound/suppressions/delete", "delete", {"stream": "outbound"}),
        ("GET", "/messages/outbound", "search", {}),
        ("GET", "/messages/outbound/abc/details", "message_details", {"id": "abc"}),
        ("GET", "/Stats/Outbound/Bounces", "outbound_bounces", {}),
    ],
)
def test_a_literal_path_segment_wins_over_a_parameter(method, path, endpoint, params):
    route, found, allowed = routes.match(method, path)
    assert route is not None, allowed
    assert (route.endpoint.__name__, found) == (endpoint, params)


def test_the_allowed_methods_are_those_of_the_best_matching_path():
    assert routes.match("DELETE", "/bounces/tags")[2] == ["GET"]
    assert routes.match("DELETE", "/webhooks/1")[0] is not None
    assert sorted(routes.match("PATCH", "/webhooks/1")[2]) == ["DELETE", "GET", "PUT"]
    assert routes.match("GET", "/nothing") == (None, {}, [])
