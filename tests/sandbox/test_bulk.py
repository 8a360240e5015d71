"""The sandbox's Bulk API endpoints against the documented shapes (shared/postmark-api.md §7), and a job's
progress over the sandbox's clock."""

from __future__ import annotations

import re

import pytest
import requests

from postmark_admin.sandbox import Sandbox
from postmark_admin.sandbox.bulk import expand, status_text
from postmark_admin.sandbox.clock import SandboxClock

from .conftest import headers

CONTENT = {
    "From": "news@example.com",
    "Subject": "Hello {{name}}",
    "HtmlBody": "<p>Hi {{name}}</p>",
    "TextBody": "Hi {{name}}",
    "MessageStream": "broadcast",
    "Metadata": {"campaign": "may"},
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[-+]\d\d:\d\d$")


def _post(sandbox, body, token=None):
    sent = headers(sandbox) if token is None else {**headers(sandbox), "X-Postmark-Server-Token": token}
    return requests.post(sandbox.url + "email/bulk", json=body, headers=sent, timeout=10)


def _status(sandbox, job_id, token=None):
    sent = headers(sandbox) if token is None else {**headers(sandbox), "X-Postmark-Server-Token": token}
    return requests.get(sandbox.url + f"email/bulk/{job_id}", headers=sent, timeout=10)


def _entries(count):
    return [{"To": f"r{i}@example.com", "TemplateModel": {"name": f"N{i}"}} for i in range(count)]


def test_accepted_then_progress_over_the_clock_then_completed():
    with Sandbox(bulk_rate=2.0) as sandbox:
        sandbox.clock.freeze()
        answer = _post(sandbox, {**CONTENT, "Messages": _entries(4)})
        assert answer.status_code == 200
        accepted = answer.json()
        assert set(accepted) == {"ID", "Status", "SubmittedAt"}
        assert accepted["Status"] == "Accepted" and TIMESTAMP.match(accepted["SubmittedAt"])

        seen = []
        for step in (0, 0.5, 0.5, 1.0, 5.0):
            sandbox.clock.advance(step)
            job = _status(sandbox, accepted["ID"]).json()
            assert set(job) == {
                "ID",
                "SubmittedAt",
                "TotalMessages",
                "PercentageCompleted",
                "Status",
                "Subject",
            }
            assert (job["ID"], job["SubmittedAt"], job["TotalMessages"]) == (
                accepted["ID"],
                accepted["SubmittedAt"],
                4,
            )
            seen.append((job["Status"], job["PercentageCompleted"], len(sandbox.messages)))
        assert seen == [
            ("Accepted", 0.0, 0),
            ("Processing", 25.0, 1),
            ("Processing", 50.0, 2),
            ("Completed", 100.0, 4),
            ("Completed", 100.0, 4),
        ]
        assert job["Subject"] == "Hello N0"
        stored = sandbox.messages
        # Each message of the job is rendered with its own model and keeps the shared metadata.
        assert [(m["To"], m["Subject"], m["HtmlBody"]) for m in stored] == [
            (f"r{i}@example.com", f"Hello N{i}", f"<p>Hi N{i}</p>") for i in range(4)
        ]
        assert {m["Metadata"]["campaign"] for m in stored} == {"may"}
        assert len({m["MessageID"] for m in stored}) == 4


def test_real_time_progress_shows_when_polled():
    with Sandbox(bulk_rate=1000.0) as sandbox:
        job_id = _post(sandbox, {**CONTENT, "Messages": _entries(3)}).json()["ID"]
        sandbox.clock.advance(0.01)  # at 1,000 a second, 10 ms is every message
        assert _status(sandbox, job_id).json()["Status"] == "Completed"
        assert len(sandbox.messages) == 3


def test_suppressed_recipients_are_skipped_and_webhooks_follow_for_the_rest():
    with Sandbox(bulk_rate=10.0, inactive=["r1@example.com"]) as sandbox:
        sandbox.clock.freeze()
        job_id = _post(sandbox, {**CONTENT, "Messages": _entries(3)}).json()["ID"]
        sandbox.clock.advance(1)
        assert _status(sandbox, job_id).json()["PercentageCompleted"] == 100.0
        assert [m["To"] for m in sandbox.messages] == ["r0@example.com", "r2@example.com"]


def test_the_test_token_gets_a_job_that_completes_without_delivering():
    with Sandbox(bulk_rate=10.0, webhook_url="http://127.0.0.1:9/never") as sandbox:
        sandbox.clock.freeze()
        answer = _post(sandbox, {**CONTENT, "Messages": _entries(2)}, token="POSTMARK_API_TEST")
        assert answer.status_code == 200 and answer.json()["Status"] == "Accepted"
        sandbox.clock.advance(1)
        job = _status(sandbox, answer.json()["ID"], token="POSTMARK_API_TEST").json()
        assert (job["Status"], job["PercentageCompleted"]) == ("Completed", 100.0)
        assert sandbox.messages == [] and sandbox.webhook_posts == []


@pytest.mark.parametrize(
    ("body", "status", "error_code", "text"),
    [
        ({**CONTENT, "Messages": []}, 422, 300, "non-empty 'Messages'"),
        ({**CONTENT}, 422, 300, "non-empty 'Messages'"),
        ([CONTENT], 422, 402, "one bulk request object"),
        (
            {**CONTENT, "MessageStream": "outbound", "Messages": _entries(1)},
            422,
            1236,
            "not a broadcast stream",
        ),
        ({**CONTENT, "MessageStream": "nope", "Messages": _entries(1)}, 422, 1235, "does not exist"),
        (
            {**CONTENT, "Messages": [*_entries(1), {"To": "not an address"}]},
            422,
            300,
            "Messages[1]: Invalid 'To'",
        ),
        ({**CONTENT, "Messages": ["r@example.com"]}, 422, 402, "entry 0"),
        (
            {
                "From": CONTENT["From"],
                "MessageStream": "broadcast",
                "TemplateAlias": "nope",
                "Messages": _entries(1),
            },
            422,
            1101,
            "not found",
        ),
    ],
    ids=[
        "no entries",
        "no Messages",
        "an array",
        "transactional stream",
        "unknown stream",
        "bad recipient",
        "entry not an object",
        "unknown template",
    ],
)
def test_refusals(body, status, error_code, text):
    with Sandbox() as sandbox:
        answer = _post(sandbox, body)
        assert answer.status_code == status
        assert answer.json()["ErrorCode"] == error_code and text in answer.json()["Message"]
        assert sandbox.state.has_pending_bulk() is False


def test_a_stored_template_renders_per_message():
    with Sandbox(bulk_rate=100.0) as sandbox:
        sandbox.clock.freeze()
        body = {"From": "news@example.com", "TemplateAlias": "welcome", "MessageStream": "broadcast"}
        entries = [{"To": "a@example.com", "TemplateModel": {"name": "Ann", "product_name": "P"}}]
        assert _post(sandbox, {**body, "Messages": entries}).status_code == 200
        sandbox.clock.advance(1)
        [stored] = sandbox.messages
        assert stored["TemplateModel"] == {"name": "Ann", "product_name": "P"}


def test_unknown_job_and_bad_token():
    with Sandbox() as sandbox:
        missing = _status(sandbox, "no-such-job")
        assert missing.status_code == 404 and isinstance(missing.json()["ErrorCode"], int)
        assert _status(sandbox, "x", token="wrong").status_code == 401
        assert _post(sandbox, {**CONTENT, "Messages": _entries(1)}, token="wrong").status_code == 401


@pytest.mark.parametrize(
    ("processed", "total", "text"),
    [(0, 3, "Accepted"), (1, 3, "Processing"), (3, 3, "Completed")],
)
def test_status_text(processed, total, text):
    assert status_text(processed, total) == text


def test_expand_merges_metadata_and_renders_only_without_a_template():
    message, templated = expand(
        {**CONTENT, "Messages": []},
        {"To": "a@example.com", "Metadata": {"u": "1"}, "TemplateModel": {"name": "<b>"}},
    )
    assert not templated
    assert message["Metadata"] == {"campaign": "may", "u": "1"}
    assert (message["Subject"], message["HtmlBody"]) == ("Hello <b>", "<p>Hi &lt;b&gt;</p>")
    assert "TemplateModel" not in message and "Messages" not in message
    message, templated = expand({"TemplateId": 1000, "Subject": "{{x}}"}, {"To": "a@example.com"})
    assert templated and message["TemplateModel"] == {} and message["Subject"] == "{{x}}"


def test_the_clock_only_moves_when_told_once_frozen():
    calls = []
    clock = SandboxClock(on_advance=lambda: calls.append(1))
    clock.freeze()
    now = clock.now()
    assert clock.now() == now
    clock.advance(2.5)
    assert clock.now() == now + 2.5 and calls == [1]
    with pytest.raises(ValueError):
        clock.advance(-1)
    clock.unfreeze()
    assert clock.now() >= now + 2.5
