"""The sandbox as an HTTP server: keep-alive, latency accounting, HTTPS, fault injection, the
inspection pages and shutdown."""

from __future__ import annotations

import json
import ssl
import threading
import time

import pytest
import requests

from postmark_admin.sandbox import Sandbox

from .conftest import MESSAGE, headers


def send(sandbox, client=requests, body=MESSAGE, path="email", extra_headers=None, **kwargs):
    return client.post(
        sandbox.url + path, json=body, headers={**headers(sandbox), **(extra_headers or {})}, **kwargs
    )


# -- connections -------------------------------------------------------------------------------------


def test_a_pooled_session_uses_one_connection(postmark_sandbox):
    with requests.Session() as session:
        answers = [send(postmark_sandbox, session) for _ in range(20)]
    assert {answer.status_code for answer in answers} == {200}
    assert postmark_sandbox.connections_opened == 1
    assert {request.connection_id for request in postmark_sandbox.requests} == {1}


def test_a_new_connection_per_request_is_counted(postmark_sandbox):
    for _ in range(5):
        assert send(postmark_sandbox, extra_headers={"Connection": "close"}).status_code == 200
    assert postmark_sandbox.connections_opened == 5
    assert [request.connection_id for request in postmark_sandbox.requests] == [1, 2, 3, 4, 5]


def test_keep_alive_survives_error_answers(postmark_sandbox):
    with requests.Session() as session:
        assert send(postmark_sandbox, session, body={**MESSAGE, "To": "bad"}).status_code == 422
        assert session.get(postmark_sandbox.url + "nothing-here").status_code == 404
        assert send(postmark_sandbox, session).status_code == 200
    assert postmark_sandbox.connections_opened == 1


def test_chunked_request_body(postmark_sandbox):
    def chunks():
        data = json.dumps(MESSAGE).encode()
        yield data[:10]
        yield data[10:]

    answer = requests.post(postmark_sandbox.url + "email", data=chunks(), headers=headers(postmark_sandbox))
    assert answer.status_code == 200
    assert postmark_sandbox.messages[0]["To"] == "to@example.com"


# -- latency -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("https", [False, True])
def test_latency_round_trips_per_connection_and_request(https):
    latency = 0.02
    with Sandbox(https=https, latency=latency) as sandbox:
        verify = sandbox.ca_path if https else True
        per_connection = 3 if https else 2  # TCP handshake, TLS handshake, the request itself
        started = time.monotonic()
        for _ in range(3):
            send(sandbox, verify=verify, extra_headers={"Connection": "close"})
        assert sandbox.round_trips == 3 * per_connection
        assert time.monotonic() - started >= 3 * per_connection * latency  # a lower bound cannot flake

        before = sandbox.round_trips
        with requests.Session() as session:
            for _ in range(3):
                send(sandbox, session, verify=verify)
        assert sandbox.round_trips - before == (per_connection - 1) + 3
        assert sandbox.connections_opened == 4


def test_latency_is_settable_while_running(postmark_sandbox):
    postmark_sandbox.latency = 0.05
    started = time.monotonic()
    send(postmark_sandbox)
    assert time.monotonic() - started >= 0.1  # connection + request
    postmark_sandbox.latency = 0.0
    assert send(postmark_sandbox).status_code == 200


# -- HTTPS -------------------------------------------------------------------------------------------


@pytest.mark.postmark_sandbox(https=True)
def test_https_with_the_sandbox_ca(postmark_sandbox):
    assert postmark_sandbox.url.startswith("https://127.0.0.1:")
    answer = send(postmark_sandbox, verify=postmark_sandbox.ca_path)
    assert answer.status_code == 200
    # The fixture also points requests' default CA bundle at the sandbox's CA.
    assert send(postmark_sandbox).status_code == 200
    context = ssl.create_default_context(cafile=postmark_sandbox.ca_path)
    assert context.cert_store_stats()["x509_ca"] == 1


def test_https_is_refused_without_the_ca():
    with Sandbox(https=True) as sandbox:
        with requests.Session() as session, pytest.raises(requests.exceptions.SSLError):
            session.trust_env = False  # the system CAs only, whatever REQUESTS_CA_BUNDLE says
            session.get(sandbox.url + "server", headers=headers(sandbox), verify=True)
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(sandbox.url.replace("https", "http") + "server", headers=headers(sandbox), timeout=5)
        ca_path = sandbox.ca_path
        assert requests.get(sandbox.url + "server", headers=headers(sandbox), verify=ca_path).ok
    import os

    assert not os.path.exists(ca_path)  # removed on stop


def test_https_keep_alive_outlives_the_handshake_timeout(monkeypatch):
    # The TLS handshake has a timeout of its own; an idle connection must not keep it afterwards.
    import http.client

    from postmark_admin.sandbox import server

    monkeypatch.setattr(server, "HANDSHAKE_TIMEOUT", 0.2)
    with Sandbox(https=True) as sandbox:
        context = ssl.create_default_context(cafile=sandbox.ca_path)
        connection = http.client.HTTPSConnection("127.0.0.1", sandbox.port, context=context, timeout=5)
        try:
            for _ in range(2):
                connection.request("GET", "/server", headers=headers(sandbox))
                answer = connection.getresponse()
                assert (answer.status, json.loads(answer.read())["DeliveryType"]) == (200, "Sandbox")
                time.sleep(0.5)  # idle for longer than the handshake timeout
        finally:
            connection.close()
        assert sandbox.connections_opened == 1


# -- fault injection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("status", "code"), [(429, 0), (500, 0), (503, 100)])
def test_fail_next_answers_the_status_then_recovers(postmark_sandbox, status, code):
    postmark_sandbox.fail_next(status=status, error_code=code, message="Injected", count=2)
    answers = [send(postmark_sandbox) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [status, status, 200]
    assert answers[0].json() == {"ErrorCode": code, "Message": "Injected"}
    assert len(postmark_sandbox.messages) == 1
    assert len(postmark_sandbox.requests) == 3


def test_default_fault_is_maintenance(postmark_sandbox):
    postmark_sandbox.fail_next()
    answer = send(postmark_sandbox)
    assert answer.status_code == 503
    assert answer.json()["ErrorCode"] == 100


def test_drop_closes_the_connection_without_an_answer(postmark_sandbox):
    postmark_sandbox.fail_next(drop=True)
    with requests.Session() as session:
        with pytest.raises(requests.exceptions.ConnectionError):
            send(postmark_sandbox, session)
        assert send(postmark_sandbox, session).status_code == 200
    assert len(postmark_sandbox.messages) == 1
    assert postmark_sandbox.connections_opened == 2


def test_after_processing_accepts_the_message_then_fails(postmark_sandbox):
    postmark_sandbox.fail_next(status=500, error_code=0, message="Boom", after_processing=True)
    answer = send(postmark_sandbox)
    assert answer.status_code == 500
    assert len(postmark_sandbox.messages) == 1  # the ambiguous case: it was accepted

    postmark_sandbox.fail_next(drop=True, after_processing=True)
    with pytest.raises(requests.exceptions.ConnectionError):
        send(postmark_sandbox)
    assert len(postmark_sandbox.messages) == 2


def test_fault_limited_to_a_path(postmark_sandbox):
    postmark_sandbox.fail_next(status=503, path="/email/batch")
    assert send(postmark_sandbox).status_code == 200
    assert requests.get(postmark_sandbox.url, timeout=5).status_code == 200  # pages never fail
    assert send(postmark_sandbox, body=[MESSAGE], path="email/batch").status_code == 503
    assert send(postmark_sandbox, body=[MESSAGE], path="email/batch").status_code == 200


# -- inspection pages --------------------------------------------------------------------------------


def test_page_lists_messages_newest_first_escaped(postmark_sandbox):
    send(postmark_sandbox, body={**MESSAGE, "Subject": "oldest-subject"})
    send(postmark_sandbox, body={**MESSAGE, "Subject": "<script>alert(1)</script>"})
    page = requests.get(postmark_sandbox.url, timeout=5)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<script>alert" not in page.text
    assert page.text.index("&lt;script&gt;alert(1)&lt;/script&gt;") < page.text.index("oldest-subject")
    assert postmark_sandbox.messages[0]["MessageID"] in page.text

    listed = requests.get(postmark_sandbox.url + "sandbox/messages", timeout=5).json()
    assert [message["Subject"] for message in listed] == ["<script>alert(1)</script>", "oldest-subject"]
    assert len(postmark_sandbox.requests) == 2  # the pages are not recorded


def test_page_without_messages(postmark_sandbox):
    assert "No messages yet." in requests.get(postmark_sandbox.url, timeout=5).text


# -- life cycle --------------------------------------------------------------------------------------


def test_stop_closes_idle_keep_alive_connections():
    sandbox = Sandbox().start()
    session = requests.Session()
    assert send(sandbox, session).status_code == 200
    sandbox.stop()
    deadline = time.monotonic() + 5
    while (
        any(t.name.startswith("postmark-sandbox") for t in threading.enumerate())
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("postmark-sandbox")]
    with pytest.raises(requests.exceptions.ConnectionError):
        send(sandbox, session)
    session.close()
    sandbox.stop()  # idempotent


def test_start_twice_is_refused():
    with Sandbox() as sandbox, pytest.raises(RuntimeError):
        sandbox.start()


def test_repr_names_the_url_not_the_token():
    with Sandbox(token="very-secret-token") as sandbox:
        assert sandbox.url in repr(sandbox)
        assert "very-secret-token" not in repr(sandbox)


def test_unknown_webhook_event_is_refused():
    with pytest.raises(ValueError, match="Opened"):
        Sandbox(webhook_events=("Opened",))
