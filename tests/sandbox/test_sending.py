"""The sandbox's sending endpoints and checks, driven over real HTTP with requests."""

from __future__ import annotations

import base64
import re

import pytest
import requests

from postmark_admin.config.effective import effective_config
from postmark_admin.sandbox import Sandbox

from .conftest import headers

pytestmark = pytest.mark.usefixtures("clean_postmark_env")


def message(**fields):
    base = {
        "From": "Sender <sender@example.com>",
        "To": "to@example.com",
        "Subject": "Hi",
        "TextBody": "Hello",
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


@pytest.fixture
def api(postmark_sandbox):
    """A pooled session sending Postmark's headers to the sandbox; ``api.url`` prefixes paths."""
    session = requests.Session()
    session.headers.update(headers(postmark_sandbox))
    session.base = postmark_sandbox.url
    yield session
    session.close()


def post(api, path, body, **kwargs):
    return api.post(api.base + path, json=body, **kwargs)


def test_fixture_points_postmark_admin_at_the_sandbox(postmark_sandbox):
    config = effective_config()
    assert config.api_url == postmark_sandbox.url
    assert config.server_token.reveal() == postmark_sandbox.token
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", postmark_sandbox.url)


def test_send_one_message(api, postmark_sandbox):
    answer = post(api, "email", message(Metadata={"user": "42"}, Tag="welcome"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["To"] == "to@example.com"
    assert body["ErrorCode"] == 0 and body["Message"] == "OK"
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}", body["MessageID"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}[+-]\d\d:\d\d", body["SubmittedAt"])
    [stored] = postmark_sandbox.messages
    assert stored == {**message(Metadata={"user": "42"}, Tag="welcome"), "MessageID": body["MessageID"]}
    [received] = postmark_sandbox.requests
    assert (received.method, received.path, received.json_body) == (
        "POST",
        "/email",
        message(Metadata={"user": "42"}, Tag="welcome"),
    )


def test_cc_only_send_has_no_to_in_the_answer(api):
    body = post(api, "email", message(To=None, Cc="cc@example.com")).json()
    assert "To" not in body
    assert body["ErrorCode"] == 0


def test_repr_of_a_received_request_hides_the_token(api, postmark_sandbox):
    post(api, "email", message())
    assert postmark_sandbox.token not in repr(postmark_sandbox.requests[0])


@pytest.mark.parametrize(
    ("fields", "status", "code", "text"),
    [
        ({"From": None}, 422, 300, "Invalid 'From' address: ''."),
        ({"From": "not an address"}, 422, 300, "Invalid 'From' address: 'not an address'."),
        ({"To": None}, 422, 300, "Zero recipients specified"),
        ({"To": "ok@example.com, broken"}, 422, 300, "Invalid 'To' address: 'broken'."),
        ({"Cc": "x@"}, 422, 300, "Invalid 'Cc' address: 'x@'."),
        ({"Bcc": "é@example.com"}, 422, 300, "Invalid 'Bcc' address: 'é@example.com'."),
        ({"To": ", ".join(f"r{i}@example.com" for i in range(51))}, 422, 300, "Too many recipients"),
        (
            {
                "To": ", ".join(f"r{i}@example.com" for i in range(30)),
                "Bcc": ", ".join(f"b{i}@example.com" for i in range(21)),
            },
            422,
            300,
            "Too many recipients",
        ),
        ({"TextBody": None}, 422, 300, "Provide either email TextBody or HtmlBody or both."),
        ({"Metadata": {"k" * 21: "v"}}, 422, 300, "Invalid metadata content"),
        ({"Metadata": {"k": "v" * 81}}, 422, 300, "Invalid metadata content"),
        ({"Metadata": {"Key": "a", "key": "b"}}, 422, 300, "Invalid metadata content"),
        ({"Tag": "t" * 1001}, 422, 300, "Invalid 'Tag'"),
        ({"TrackLinks": "Always"}, 422, 300, "Invalid 'TrackLinks'"),
        ({"MessageStream": "nope"}, 422, 1235, "The message stream 'nope' does not exist"),
        ({"MessageStream": "inbound"}, 422, 1236, "inbound stream"),
        (
            {
                "Attachments": [
                    {"Name": "setup.EXE", "Content": "TVo=", "ContentType": "application/octet-stream"}
                ]
            },
            422,
            411,
            "Forbidden attachment type: 'setup.EXE'.",
        ),
        ({"Attachments": [{"Name": "a.txt", "Content": "not base64!"}]}, 422, 300, "not valid base64"),
        ({"HtmlBody": "x" * (10 * 1024 * 1024)}, 413, 300, "10 MB"),
    ],
)
def test_message_checks(api, postmark_sandbox, fields, status, code, text):
    answer = post(api, "email", message(**fields))
    assert answer.status_code == status
    assert answer.json()["ErrorCode"] == code
    assert text in answer.json()["Message"]
    assert postmark_sandbox.messages == []


def test_accepted_edge_cases(api, postmark_sandbox):
    fine = message(
        To='"Doe, Jane" <jane@example.com>, plain@example.com,',
        ReplyTo="Reply <reply@example.com>",
        HtmlBody="<p>Hi</p>",
        TextBody=None,
        Metadata={"k" * 20: "v" * 80},
        Attachments=[
            {
                "Name": "report.pdf",
                "Content": base64.b64encode(b"%PDF").decode(),
                "ContentType": "application/pdf",
            }
        ],
        Headers=[{"Name": "X-Thing", "Value": "1"}],
        MessageStream="broadcast",
        TrackOpens=True,
        TrackLinks="HtmlOnly",
    )
    answer = post(api, "email", fine)
    assert answer.status_code == 200, answer.json()
    assert len(postmark_sandbox.messages) == 1


def test_token_checks(postmark_sandbox):
    url = postmark_sandbox.url + "email"
    tokenless = {"Accept": "application/json", "Content-Type": "application/json"}
    missing = requests.post(url, json=message(), headers=tokenless)
    wrong = requests.post(url, json=message(), headers={**tokenless, "X-Postmark-Server-Token": "wrong"})
    for answer in (missing, wrong):
        assert answer.status_code == 401
        assert answer.json()["ErrorCode"] == 10
        assert "wrong" not in answer.text
    assert postmark_sandbox.messages == []


def test_json_headers_are_required(postmark_sandbox):
    url = postmark_sandbox.url + "email"
    token = {"X-Postmark-Server-Token": postmark_sandbox.token}
    no_accept = requests.post(url, json=message(), headers={**token, "Accept": "*/*"})
    no_type = requests.post(
        url,
        data=b'{"From": "a@example.com"}',
        headers={**token, "Accept": "application/json", "Content-Type": "text/plain"},
    )
    for answer in (no_accept, no_type):
        assert answer.status_code == 415
        assert answer.json()["ErrorCode"] == 409


def test_invalid_json(api):
    answer = api.post(api.base + "email", data=b'{"From": ')
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 402)
    empty = api.post(api.base + "email", data=b"")
    assert (empty.status_code, empty.json()["ErrorCode"]) == (422, 402)
    not_an_object = post(api, "email", [message()])
    assert (not_an_object.status_code, not_an_object.json()["ErrorCode"]) == (422, 402)


def test_unknown_path_and_wrong_method(api):
    assert api.post(api.base + "emails", json={}).status_code == 404
    wrong_method = api.get(api.base + "email")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"


def test_test_token_validates_but_delivers_nothing():
    with Sandbox(inactive=["gone@example.com"]) as sandbox:
        headers = {
            "X-Postmark-Server-Token": "POSTMARK_API_TEST",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        ok = requests.post(sandbox.url + "email", json=message(To="gone@example.com"), headers=headers)
        assert ok.status_code == 200
        assert ok.json()["Message"] == "Test job accepted"
        bad = requests.post(sandbox.url + "email", json=message(To="bad"), headers=headers)
        assert bad.status_code == 422
        server = requests.get(sandbox.url + "server", headers=headers)
        assert server.status_code == 401
        assert sandbox.messages == []
        assert len(sandbox.requests) == 3


# -- batches -----------------------------------------------------------------------------------------


def test_batch_answers_in_order(api, postmark_sandbox):
    batch = [message(To=f"r{i}@example.com") for i in range(5)]
    batch[1]["To"] = "broken"
    batch[3]["MessageStream"] = "nope"
    answer = post(api, "email/batch", batch)
    assert answer.status_code == 200
    results = answer.json()
    assert [result["ErrorCode"] for result in results] == [0, 300, 0, 1235, 0]
    assert [result.get("To") for result in results] == [
        "r0@example.com",
        None,
        "r2@example.com",
        None,
        "r4@example.com",
    ]
    assert [stored["To"] for stored in postmark_sandbox.messages] == [
        "r0@example.com",
        "r2@example.com",
        "r4@example.com",
    ]
    assert [stored["MessageID"] for stored in postmark_sandbox.messages] == [
        results[i]["MessageID"] for i in (0, 2, 4)
    ]
    # One request, one submission time; every accepted message has its own id.
    assert len({results[i]["SubmittedAt"] for i in (0, 2, 4)}) == 1
    assert len({results[i]["MessageID"] for i in (0, 2, 4)}) == 3
    # The stored record is the message as sent plus its MessageID; the request's JSON is left as sent.
    assert postmark_sandbox.messages[0] == {**batch[0], "MessageID": results[0]["MessageID"]}
    assert "MessageID" not in postmark_sandbox.requests[-1].json_body[0]


def test_batch_limits(api, postmark_sandbox):
    too_many = post(api, "email/batch", [message()] * 501)
    assert (too_many.status_code, too_many.json()["ErrorCode"]) == (422, 410)
    assert len(post(api, "email/batch", [message()] * 500).json()) == 500
    not_array = post(api, "email/batch", message())
    assert (not_array.status_code, not_array.json()["ErrorCode"]) == (422, 402)
    big = [message(HtmlBody="x" * (9 * 1024 * 1024)) for _ in range(6)]
    too_big = post(api, "email/batch", big)
    assert too_big.status_code == 413
    assert len(postmark_sandbox.messages) == 500


# -- templates ---------------------------------------------------------------------------------------


def template_message(**fields):
    base = {
        "From": "sender@example.com",
        "To": "to@example.com",
        "TemplateAlias": "welcome",
        "TemplateModel": {"name": "Ann <3", "product_name": "Shop"},
    }
    base.update(fields)
    return {key: value for key, value in base.items() if value is not None}


def test_template_send(api, postmark_sandbox):
    answer = post(api, "email/withTemplate", template_message())
    assert answer.status_code == 200
    assert answer.json()["ErrorCode"] == 0
    by_id = post(api, "email/withTemplate", template_message(TemplateAlias=None, TemplateId=1000))
    assert by_id.status_code == 200
    assert len(postmark_sandbox.messages) == 2


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"Subject": ""}, 1123),
        ({"HtmlBody": "<p>x</p>"}, 1123),
        ({"TextBody": ""}, 1123),
        ({"TemplateModel": None}, 1120),
        ({"TemplateAlias": "missing"}, 1101),
        ({"TemplateAlias": None, "TemplateId": 999}, 1101),
        ({"TemplateAlias": None}, 1101),
    ],
)
def test_template_checks(api, fields, code):
    answer = post(api, "email/withTemplate", template_message(**fields))
    assert answer.status_code == 422
    assert answer.json()["ErrorCode"] == code


def test_batch_with_templates(api, postmark_sandbox):
    answer = post(
        api,
        "email/batchWithTemplates",
        {
            "Messages": [
                template_message(),
                template_message(TemplateModel=None),
                template_message(To="b@example.com"),
            ]
        },
    )
    assert answer.status_code == 200
    assert [result["ErrorCode"] for result in answer.json()] == [0, 1120, 0]
    array = post(api, "email/batchWithTemplates", [template_message()])
    assert (array.status_code, array.json()["ErrorCode"]) == (422, 402)


# -- a null is a missing field -------------------------------------------------------------------------
# Postmark reads a JSON null as a field left out, and clients send nulls for every field they leave unset
# (postmarker's plain send has "TrackOpens": null, its template send "Subject": null).

#: Every field of a plain message that may be left out of ``message()``.
OPTIONAL_FIELDS = (
    "Cc",
    "Bcc",
    "Subject",
    "Tag",
    "HtmlBody",
    "ReplyTo",
    "Headers",
    "TrackOpens",
    "TrackLinks",
    "Attachments",
    "Metadata",
    "MessageStream",
)
#: Every field of a template message that may be left out of ``template_message()`` (the three a template
#: send must not have included: null is not "present").
OPTIONAL_TEMPLATE_FIELDS = (*OPTIONAL_FIELDS, "TemplateId", "TextBody", "InlineCss")


@pytest.mark.parametrize("field", OPTIONAL_FIELDS)
def test_a_null_field_is_a_missing_field(api, postmark_sandbox, field):
    answer = post(api, "email", {**message(), field: None})
    assert (answer.status_code, answer.json()["ErrorCode"]) == (200, 0), answer.json()
    # Kept as sent: the null is there for a test to see.
    assert postmark_sandbox.messages[0][field] is None


@pytest.mark.parametrize("field", OPTIONAL_TEMPLATE_FIELDS)
def test_a_null_field_is_a_missing_field_in_a_template_send(api, field):
    answer = post(api, "email/withTemplate", {**template_message(), field: None})
    assert (answer.status_code, answer.json()["ErrorCode"]) == (200, 0), answer.json()


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        # A required field that is null is missing, and refused as missing.
        ({"From": None}, 300),
        ({"To": None}, 300),
        ({"TextBody": None}, 300),
    ],
)
def test_a_null_required_field_is_refused_as_missing(api, fields, code):
    answer = post(api, "email", {**message(), **fields})
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, code)
    assert answer.json()["Message"] == post(api, "email", message(**fields)).json()["Message"]


def test_a_null_template_model_is_missing(api):
    answer = post(api, "email/withTemplate", {**template_message(), "TemplateModel": None})
    assert (answer.status_code, answer.json()["ErrorCode"]) == (422, 1120)


def test_nulls_inside_attachments_and_headers_are_missing_fields(api):
    attachment = {"Name": "a.txt", "Content": "aGk=", "ContentType": None, "ContentID": None}
    answer = post(
        api,
        "email",
        message(Attachments=[attachment], Headers=[{"Name": "X-Thing", "Value": "1"}], Metadata={"k": "v"}),
    )
    assert (answer.status_code, answer.json()["ErrorCode"]) == (200, 0), answer.json()


def test_every_field_null_at_once_in_batches(api):
    plain = {**message(), **dict.fromkeys(OPTIONAL_FIELDS)}
    templated = {**template_message(), **dict.fromkeys(OPTIONAL_TEMPLATE_FIELDS)}
    assert [r["ErrorCode"] for r in post(api, "email/batch", [plain, plain]).json()] == [0, 0]
    results = post(api, "email/batchWithTemplates", {"Messages": [templated]}).json()
    assert [r["ErrorCode"] for r in results] == [0]


# -- inactive recipients -------------------------------------------------------------------------------


@pytest.mark.postmark_sandbox(inactive=["Gone@Example.com", "left@example.com"])
def test_every_recipient_inactive_is_refused(api, postmark_sandbox):
    answer = post(api, "email", message(To="gone@example.com", Cc="LEFT@example.com"))
    assert answer.status_code == 422
    body = answer.json()
    assert body["ErrorCode"] == 406
    assert body["Message"] == (
        "You tried to send to recipient(s) that have been marked as inactive. "
        "Found inactive addresses: gone@example.com, left@example.com. Inactive recipients are ones that "
        "have generated a hard bounce, a spam complaint, or a manual suppression."
    )
    assert postmark_sandbox.messages == []


@pytest.mark.postmark_sandbox(inactive=["gone@example.com"])
def test_some_recipients_inactive_is_a_partial_success(api, postmark_sandbox):
    answer = post(api, "email", message(To="gone@example.com, here@example.com"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["ErrorCode"] == 0
    assert body["Message"] == (
        "Message OK, but will not deliver to these inactive addresses: gone@example.com. Inactive recipients "
        "are ones that have generated a hard bounce, a spam complaint, or a manual suppression."
    )
    assert len(postmark_sandbox.messages) == 1


def test_inactive_is_a_live_set(api, postmark_sandbox):
    postmark_sandbox.inactive.add("late@example.com")
    assert post(api, "email", message(To="late@example.com")).json()["ErrorCode"] == 406
    postmark_sandbox.inactive.discard("late@example.com")
    assert post(api, "email", message(To="late@example.com")).json()["ErrorCode"] == 0


def test_batch_mixes_inactive_and_fine(api, postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    results = post(api, "email/batch", [message(To="gone@example.com"), message()]).json()
    assert [result["ErrorCode"] for result in results] == [406, 0]


def test_clear_forgets_requests_and_messages(api, postmark_sandbox):
    post(api, "email", message())
    postmark_sandbox.clear()
    assert postmark_sandbox.requests == [] and postmark_sandbox.messages == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("email/", message()),
        ("email/batch/", [message()]),
        (
            "email/withTemplate/",
            {**message(Subject=None, TextBody=None), "TemplateId": 1000, "TemplateModel": {}},
        ),
        (
            "email/batchWithTemplates/",
            {"Messages": [{**message(Subject=None, TextBody=None), "TemplateId": 1000, "TemplateModel": {}}]},
        ),
    ],
)
def test_sending_paths_take_a_trailing_slash(api, postmark_sandbox, path, body):
    # Postmark routes both spellings: django-anymail calls email/withTemplate/ and postmarker
    # email/withTemplate/ and email/batchWithTemplates/, in production for years.
    answer = post(api, path, body)
    assert answer.status_code == 200, answer.text
    results = answer.json() if isinstance(answer.json(), list) else [answer.json()]
    assert [result["ErrorCode"] for result in results] == [0]
    assert len(postmark_sandbox.messages) == 1
