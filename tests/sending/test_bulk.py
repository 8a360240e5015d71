"""The Bulk API: mapping one message to one POST /email/bulk, and sending it end to end through the sandbox."""

from __future__ import annotations

import json

import pytest
from django.core.mail import EmailMessage

from postmark_admin import signals
from postmark_admin.backends import PostmarkBackend
from postmark_admin.exceptions import PostmarkAPIError, PostmarkInvalidMessage
from postmark_admin.message import PostmarkMessage
from postmark_admin.sandbox import Sandbox
from postmark_admin.sending import bulk
from postmark_admin.sending.status import BulkJob
from postmark_admin.testing import override_postmark_settings
from tests.sandbox.test_webhooks import Receiver

FROM = "news@example.com"
STREAM = "broadcast"


def _message(**options):
    to = options.pop("to", ["a@example.com", "b@example.com"])
    options.setdefault("message_stream", STREAM)
    return PostmarkMessage("Hello {{name}}", "Hi {{name}}", FROM, to, **options)


# -- mapping (pure) ---------------------------------------------------------------------------------

MAPPING = [
    (
        "one entry to every recipient without merge data",
        {},
        {"From": FROM, "Subject": "Hello {{name}}", "TextBody": "Hi {{name}}", "MessageStream": STREAM},
        [{"To": "a@example.com, b@example.com", "TemplateModel": {}}],
    ),
    (
        "merge_data: one entry per To recipient, over merge_global_data",
        {
            "cc": ["boss@example.com"],
            "merge_global_data": {"name": "friend", "site": "S"},
            "merge_data": {"a@example.com": {"name": "Ann"}},
        },
        {"From": FROM, "Subject": "Hello {{name}}", "TextBody": "Hi {{name}}", "MessageStream": STREAM},
        [
            {"To": "a@example.com", "Cc": "boss@example.com", "TemplateModel": {"name": "Ann", "site": "S"}},
            {
                "To": "b@example.com",
                "Cc": "boss@example.com",
                "TemplateModel": {"name": "friend", "site": "S"},
            },
        ],
    ),
    (
        "metadata once on the request, merge_metadata on each entry; tag and tracking on the content",
        {
            "metadata": {"campaign": "may"},
            "merge_metadata": {"b@example.com": {"user": "2"}},
            "tags": ["newsletter"],
            "track_opens": True,
        },
        {
            "From": FROM,
            "Subject": "Hello {{name}}",
            "TextBody": "Hi {{name}}",
            "MessageStream": STREAM,
            "Tag": "newsletter",
            "TrackOpens": True,
            "Metadata": {"campaign": "may"},
        },
        [
            {"To": "a@example.com", "TemplateModel": {}},
            {"To": "b@example.com", "TemplateModel": {}, "Metadata": {"user": "2"}},
        ],
    ),
    (
        "a stored template: its id on the content, each entry's TemplateModel",
        {"template_id": "welcome", "merge_data": {"a@example.com": {"name": "Ann"}}},
        {"From": FROM, "TemplateAlias": "welcome", "MessageStream": STREAM},
        [
            {"To": "a@example.com", "TemplateModel": {"name": "Ann"}},
            {"To": "b@example.com", "TemplateModel": {}},
        ],
    ),
    (
        "esp_extra's bulk switch stays off the wire, its other keys go on the content",
        {"esp_extra": {"bulk": True, "InlineCss": False}},
        {
            "From": FROM,
            "Subject": "Hello {{name}}",
            "TextBody": "Hi {{name}}",
            "MessageStream": STREAM,
            "InlineCss": False,
        },
        [{"To": "a@example.com, b@example.com", "TemplateModel": {}}],
    ),
]


@pytest.mark.parametrize(("why", "options", "content", "entries"), MAPPING, ids=[row[0] for row in MAPPING])
def test_bulk_request_mapping(why, options, content, entries):
    if options.get("template_id"):
        message = PostmarkMessage(from_email=FROM, to=["a@example.com", "b@example.com"], **options)
        message.message_stream = STREAM
    else:
        message = _message(**options)
    request = bulk.bulk_request(message)
    assert request.data == {**content, "Messages": entries}
    assert json.loads(request.body) == request.data
    assert sum(len(entry) for entry in request.recipients) == sum(
        len(entry["To"].split(",")) + ("Cc" in entry) for entry in entries
    )


def test_bulk_request_takes_more_than_fifty_recipients_one_entry_each():
    to = [f"r{i}@example.com" for i in range(120)]
    request = bulk.bulk_request(_message(to=to, merge_data={}))
    assert [entry["To"] for entry in request.data["Messages"]] == to
    assert request.all_recipients == to


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"to": [f"r{i}@example.com" for i in range(51)]}, "51 recipients"),
        ({"merge_headers": {"a@example.com": {"X-A": "1"}}}, "merge_headers"),
        ({"to": ["not an address"]}, "not an address"),
    ],
    ids=["one entry over 50 recipients", "per-recipient headers", "bad address"],
)
def test_bulk_request_refuses_before_any_request(options, error):
    with pytest.raises(PostmarkInvalidMessage, match=error):
        bulk.bulk_request(_message(**options))


@pytest.mark.parametrize(
    ("attribute", "esp_extra", "default", "expected"),
    [
        (None, None, False, False),
        (None, None, True, True),
        (True, None, False, True),
        (False, None, True, False),
        (None, {"bulk": True}, False, True),
        (None, {"bulk": False}, True, False),
        (False, {"bulk": True}, False, False),  # the attribute wins
    ],
)
def test_wants_bulk(attribute, esp_extra, default, expected):
    message = EmailMessage("s", "b", FROM, ["a@example.com"])
    if attribute is not None:
        message.bulk = attribute
    if esp_extra is not None:
        message.esp_extra = esp_extra
    assert bulk.wants_bulk(message, default) is expected


@pytest.mark.parametrize(
    ("answer", "job"),
    [
        (
            {"ID": "j1", "Status": "Accepted", "SubmittedAt": "2026-01-01T00:00:00Z"},
            BulkJob("j1", "Accepted", "2026-01-01T00:00:00Z"),
        ),
        (
            {
                "ID": "j1",
                "Status": "Processing",
                "PercentageCompleted": 50,
                "TotalMessages": 4,
                "Subject": "S",
            },
            BulkJob("j1", "Processing", None, 50.0, 4, "S"),
        ),
        ({"ErrorCode": 14, "Message": "Not enabled"}, None),
        ([], None),
    ],
)
def test_job_from_answer(answer, job):
    assert bulk.job_from_answer(answer) == job


@pytest.mark.parametrize(
    ("job", "done"),
    [
        (BulkJob("j", "Accepted"), False),
        (BulkJob("j", "Processing", percentage_completed=99.5), False),
        (BulkJob("j", "Processing", percentage_completed=100), True),
        (BulkJob("j", "completed"), True),
    ],
)
def test_bulk_job_done(job, done):
    assert job.done is done


# -- end to end through the sandbox -------------------------------------------------------------------


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()


def test_bulk_send_then_poll_the_job_to_completion(receiver, clean_postmark_env):
    posted = []

    def on_post_send(sender, message, status, **kwargs):
        posted.append(status)

    signals.post_send.connect(on_post_send)
    with (
        Sandbox(webhook_url=receiver.url, webhook_auth=("hook", "s3cret"), bulk_rate=1.0) as sandbox,
        override_postmark_settings(server_token=sandbox.token, api_url=sandbox.url),
    ):
        sandbox.clock.freeze()
        to = [f"r{i}@example.com" for i in range(4)]
        message = _message(to=to, merge_data={address: {"name": address[:2]} for address in to})
        assert PostmarkBackend(bulk=True).send_messages([message]) == 1
        [request] = sandbox.requests
        assert (request.method, request.path) == ("POST", "/email/bulk")
        status = message.postmark_status
        assert status.status == {"queued"} and status.accepted and status.message_id is None
        assert status.bulk_job.status == "Accepted" and not status.bulk_job.done
        assert posted == [status]

        progress = []
        for _ in range(3):
            job = bulk.refresh(status)
            progress.append((job.status, job.percentage_completed, job.total_messages))
            sandbox.clock.advance(2)
        assert progress == [("Accepted", 0.0, 4), ("Processing", 50.0, 4), ("Completed", 100.0, 4)]
        assert status.bulk_job.done
        assert [stored["Subject"] for stored in sandbox.messages] == [f"Hello {a[:2]}" for a in to]
        posts = sandbox.wait_for_webhooks(4)
        assert sorted(post.payload["Recipient"] for post in posts) == to
        assert {post.payload["MessageStream"] for post in posts} == {STREAM}
    signals.post_send.disconnect(on_post_send)


def test_a_message_chooses_bulk_in_a_list_sent_normally(postmark_sandbox):
    news = _message()
    news.bulk = True
    plain = [EmailMessage("Hi", "Body", FROM, [f"t{i}@example.com"]) for i in range(2)]
    assert PostmarkBackend().send_messages([plain[0], news, plain[1]]) == 3
    assert [request.path for request in postmark_sandbox.requests] == ["/email/batch", "/email/bulk"]
    assert news.postmark_status.bulk_job is not None
    assert plain[0].postmark_status.status == {"sent"}


def test_a_bulk_refusal_raises_with_postmarks_error_code(postmark_sandbox):
    message = _message(message_stream="outbound")  # a transactional stream
    with pytest.raises(PostmarkAPIError) as raised:
        PostmarkBackend(bulk=True).send_messages([message])
    assert raised.value.error_code == 1236
    assert message.postmark_status.status == {"failed"}
    assert message.postmark_status.bulk_job is None


def test_bulk_in_test_mode_delivers_nothing(postmark_sandbox):
    postmark_sandbox.clock.freeze()
    message = _message()
    with override_postmark_settings(test_mode=True):
        assert PostmarkBackend(bulk=True).send_messages([message]) == 1
        postmark_sandbox.clock.advance(60)
        job = bulk.refresh(message.postmark_status)
    assert job.status == "Completed"
    assert {request.headers["X-Postmark-Server-Token"] for request in postmark_sandbox.requests} == {
        "POSTMARK_API_TEST"
    }
    assert postmark_sandbox.messages == []


def test_bulk_status_of_an_unknown_job_raises(postmark_sandbox):
    with pytest.raises(PostmarkAPIError) as raised:
        bulk.bulk_status("no-such-job")
    assert raised.value.status_code == 404
