"""postmark_admin.sending.batching: messages -> batch requests, by count, bytes, token and endpoint."""

from __future__ import annotations

from django.core.mail import EmailMessage

from postmark_admin.sending.batching import align_results, plan_chunks
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


def _result(to: str, message_id: str) -> dict[str, object]:
    return {"ErrorCode": 0, "Message": "OK", "To": to, "MessageID": message_id}


def test_results_are_taken_by_position_when_there_is_one_per_message():
    # Postmark's own answer: by position, even where the To would say otherwise.
    answer = [_result("x@example.com", "1"), _result("y@example.com", "2")]
    assert align_results(answer, [("a@example.com",), ("b@example.com",)]) is answer


def test_another_number_of_results_is_matched_by_to():
    answer = [_result("alice@example.com", "1"), _result("Bob <BOB@example.com>", "2")]
    assert align_results(answer, [("bob@example.com",)]) == [answer[1]]
    assert align_results(answer[:1], [("alice@example.com",), ("bob@example.com",)]) == [answer[0], None]
    # Two message objects to the same people: each result goes to the first one not yet matched.
    same = [("a@example.com", "b@example.com")] * 3
    two = [_result("b@example.com, a@example.com", "1"), _result("a@example.com, b@example.com", "2")]
    assert align_results(two, same) == [two[0], two[1], None]


def test_a_single_success_object_is_matched_by_to():
    one = _result("to@example.com", "1")
    assert align_results(one, [("to@example.com",), ("other@example.com",)]) == [one, None]
    assert align_results(one, [("a@example.com",), ("b@example.com",)]) == [None, None]


def test_a_refusal_or_no_results_is_not_aligned():
    assert align_results({"ErrorCode": 410, "Message": "Too many"}, [("a@example.com",)] * 2) is None
    assert align_results({"ErrorCode": 0, "Message": "OK"}, [("a@example.com",)] * 2) is None
    assert align_results("yikes", [("a@example.com",)] * 2) is None
    assert align_results(None, [("a@example.com",)]) is None
    # Entries that are not results are skipped, never matched.
    assert align_results([42, {"To": 7}], [("a@example.com",)]) == [None]
