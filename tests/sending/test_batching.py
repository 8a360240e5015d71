"""postmark_admin.sending.batching: messages -> batch requests, by count, bytes, token and endpoint."""

from __future__ import annotations

from django.core.mail import EmailMessage

from postmark_admin.sending.batching import plan_chunks
from postmark_admin.sending.payload import build_payload


def prepared(count, token=None, template=False, body="B"):
    result = []
    for i in range(count):
        message = EmailMessage(
            "" if template else "S", "" if template else body, "f@example.com", [f"t{i}@x.org"]
        )
        if template:
            message.template_id = 1
        if token:
            message.esp_extra = {"server_token": token}
        result.append((i, build_payload(message)))
    return result


def test_chunks_of_500_messages():
    chunks = plan_chunks(prepared(1200))
    assert [(len(c.entries), c.path) for c in chunks] == [
        (500, "email/batch"),
        (500, "email/batch"),
        (200, "email/batch"),
    ]
    assert [e.message_index for e in chunks[2].entries] == list(range(1000, 1200))


def test_chunks_by_bytes():
    items = prepared(10, body="x" * 1000)
    size = items[0][1].items[0].size
    chunks = plan_chunks(items, max_bytes=size * 3 + 50)
    assert [len(c.entries) for c in chunks] == [3, 3, 3, 1]
    assert chunks[-1].path == "email"


def test_chunks_by_token_and_endpoint_and_bodies():
    items = (
        prepared(2)
        + [(2 + i, p) for i, p in prepared(2, template=True)]
        + [(4, prepared(1, token="t2")[0][1])]
    )
    chunks = plan_chunks(items)
    assert [(c.path, c.server_token.reveal() if c.server_token else None) for c in chunks] == [
        ("email/batch", None),
        ("email/batchWithTemplates", None),
        ("email", "t2"),
    ]
    assert chunks[0].body().startswith(b"[{") and chunks[0].body().endswith(b"}]")
    assert chunks[1].body().startswith(b'{"Messages":[{')


def test_a_batch_send_of_one_goes_to_a_batch_endpoint():
    # merge_data, merge_metadata or merge_headers: django-anymail's batch send, always a batch call.
    cases = [
        ({"merge_data": {}}, "email/batch"),
        ({"merge_metadata": {"t0@x.org": {"k": "v"}}}, "email/batch"),
        ({"merge_headers": {"t0@x.org": {"X-K": "v"}}}, "email/batch"),
        ({"template_id": 1, "merge_data": {"t0@x.org": {"n": 1}}}, "email/batchWithTemplates"),
        ({"template_id": 1}, "email/withTemplate"),
        ({}, "email"),
    ]
    for attributes, path in cases:
        message = EmailMessage("" if "template_id" in attributes else "S", "", "f@example.com", ["t0@x.org"])
        if "template_id" not in attributes:
            message.body = "B"
        for name, value in attributes.items():
            setattr(message, name, value)
        [chunk] = plan_chunks([(0, build_payload(message))])
        assert (chunk.path, len(chunk.entries)) == (path, 1), attributes
        body = chunk.body()
        if path == "email/batch":
            assert body.startswith(b"[{") and body.endswith(b"}]")
        elif path == "email/batchWithTemplates":
            assert body.startswith(b'{"Messages":[{') and body.endswith(b"}]}")


def test_a_batch_send_makes_its_whole_chunk_a_batch():
    plain = prepared(1)
    message = EmailMessage("S", "B", "f@example.com", ["m@x.org"])
    message.merge_data = {}
    chunks = plan_chunks([*plain, (1, build_payload(message))], max_messages=1)
    assert [chunk.path for chunk in chunks] == ["email", "email/batch"]
