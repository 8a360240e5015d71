"""The webhook events admin: read-only, newest first, filters, index-friendly search, related links."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from postmark_admin.models import PostmarkSettings, WebhookEvent
from postmark_admin.screens import events as screen_events
from tests.conftest import ADMIN_TEST_TOKEN, ADMIN_TEST_WEBHOOK_PASSWORD, create_event

CHANGELIST = "admin:postmark_admin_webhookevent_changelist"
VIEW = "postmark_admin.view_webhookevent"
DELETE = "postmark_admin.delete_webhookevent"
T0 = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def make_event(key, event_type="delivered", *, recipient="jane@example.com", hours=0, **fields):
    """An event ``hours`` after T0; unless told otherwise, one of jane's events of message ...0001."""
    defaults = {
        "message_id": "00000000-0000-0000-0000-000000000001",
        "payload": {"RecordType": "Delivery", "Recipient": recipient, "Details": "<b>250 OK</b>"},
    }
    return create_event(
        key,
        event_type,
        recipient=recipient,
        received_at=T0 + timedelta(hours=hours),
        **{**defaults, **fields},
    )


@pytest.fixture
def events(db):
    PostmarkSettings.objects.create(
        server_token=ADMIN_TEST_TOKEN, webhook_password=ADMIN_TEST_WEBHOOK_PASSWORD
    )
    return [
        make_event("a", "delivered", hours=0, tag="welcome"),
        make_event("b", "opened", hours=1, tag="welcome"),
        make_event(
            "c",
            "bounced",
            recipient="bob@example.org",
            hours=2,
            message_id="00000000-0000-0000-0000-000000000002",
            message_stream="broadcast",
            description="Hard bounce",
        ),
        make_event("d", "delivered", recipient="Carol@Example.com", hours=24 * 40, message_id="m-3"),
    ]


@pytest.fixture
def viewer(login):
    return login("viewer", VIEW)


def listed(response):
    """The recipients in the changelist's rows, in order."""
    html = response.content.decode()
    assert response.status_code == 200, html[:500]
    if "<tbody>" not in html:
        return []
    rows = html.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]
    return [row.split('title="Every event of this recipient">')[1].split("<")[0] for row in rows]


def get(client, **params):
    return client.get(reverse(CHANGELIST), params)


def test_changelist_newest_first_with_colored_labels_and_no_secrets(viewer, events, assert_no_secrets):
    response = get(viewer)
    assert listed(response) == [
        "Carol@Example.com",
        "bob@example.org",
        "jane@example.com",
        "jane@example.com",
    ]
    html = response.content.decode()
    assert '<span class="postmark-event postmark-event-bounced">bounced</span>' in html
    assert "postmark_admin/admin.css" in html
    assert "4 webhook events" in html
    assert_no_secrets(html)


def test_read_only_no_add_no_change(viewer, events, assert_no_secrets):
    html = get(viewer).content.decode()
    assert "addlink" not in html
    assert "delete_selected" not in html
    detail = viewer.get(reverse("admin:postmark_admin_webhookevent_change", args=[events[2].pk]))
    assert detail.status_code == 200
    page = detail.content.decode()
    assert 'name="_save"' not in page
    assert "deletelink" not in page
    assert_no_secrets(page)
    assert viewer.get(reverse("admin:postmark_admin_webhookevent_add")).status_code == 403
    response = viewer.post(reverse("admin:postmark_admin_webhookevent_change", args=[events[2].pk]), {})
    assert response.status_code == 403
    assert (
        viewer.post(reverse("admin:postmark_admin_webhookevent_delete", args=[events[2].pk])).status_code
        == 403
    )


def test_delete_needs_the_delete_permission(login, events):
    client = login("deleter", VIEW, DELETE)
    assert "delete_selected" in get(client).content.decode()
    url = reverse("admin:postmark_admin_webhookevent_delete", args=[events[0].pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert not WebhookEvent.objects.filter(pk=events[0].pk).exists()


def test_no_permission_no_page(login, events):
    assert get(login("nobody")).status_code == 403


def test_detail_shows_normalized_fields_related_links_and_pretty_payload(viewer, events):
    html = viewer.get(
        reverse("admin:postmark_admin_webhookevent_change", args=[events[0].pk])
    ).content.decode()
    assert "jane@example.com" in html
    assert "Delivery" in html
    # Pretty-printed (indented, sorted keys) and escaped.
    assert (
        '<pre class="postmark-payload">{\n  &quot;Details&quot;: &quot;&lt;b&gt;250 OK&lt;/b&gt;&quot;'
        in html
    )
    changelist = reverse(CHANGELIST)
    assert f'href="{changelist}?message_id=00000000-0000-0000-0000-000000000001"' in html
    assert f'href="{changelist}?recipient=jane%40example.com"' in html


def test_related_links_list_every_event_of_the_message_and_of_the_recipient(viewer, events):
    assert listed(get(viewer, message_id="00000000-0000-0000-0000-000000000001")) == ["jane@example.com"] * 2
    assert listed(get(viewer, recipient="bob@example.org")) == ["bob@example.org"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"event_type__exact": "delivered"}, ["Carol@Example.com", "jane@example.com"]),
        ({"record_type": "Bounce"}, ["bob@example.org"]),
        ({"message_stream": "broadcast"}, ["bob@example.org"]),
        (
            {"received_at__gte": "2026-03-10 00:00:00+00:00", "received_at__lt": "2026-03-11 00:00:00+00:00"},
            ["bob@example.org", *["jane@example.com"] * 2],
        ),
        ({"received_at__year": "2026", "received_at__month": "4"}, ["Carol@Example.com"]),
    ],
)
def test_filters(viewer, events, params, expected):
    assert listed(get(viewer, **params)) == expected


def test_filter_choices_cost_no_distinct_over_the_table(viewer, events):
    with CaptureQueriesContext(connection) as queries:
        html = get(viewer).content.decode()
    assert "?record_type=SpamComplaint" in html  # a known record type, though no row has it
    assert "?message_stream=broadcast" in html  # a value found among the newest rows
    assert "?event_type__exact=complained" in html
    assert not [q["sql"] for q in queries if "DISTINCT" in q["sql"].upper()]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("jane@example.com", ["jane@example.com"] * 2),
        ("Carol@Example.com", ["Carol@Example.com"]),  # stored as Postmark sent it
        ("00000000-0000-0000-0000-000000000002", ["bob@example.org"]),
        ("welcome", ["jane@example.com"] * 2),
        ("bob", ["bob@example.org"]),  # a recipient prefix
        ("bob@*", ["bob@example.org"]),
        ("example.org", []),  # not a substring search
        ("  ", ["Carol@Example.com", "bob@example.org", *["jane@example.com"] * 2]),
    ],
)
def test_search(viewer, events, term, expected):
    assert listed(get(viewer, q=term)) == expected


def test_search_is_not_icontains(viewer, events):
    with CaptureQueriesContext(connection) as queries:
        get(viewer, q="jane@example.com")
    sql = " ".join(q["sql"].upper() for q in queries)
    assert "UPPER(" not in sql and "%JANE" not in sql.replace("'", "")


def test_no_full_table_count(viewer, events):
    with CaptureQueriesContext(connection) as queries:
        get(viewer)
        get(viewer, event_type__exact="delivered")
        get(viewer, q="jane@example.com")
    counts = [q["sql"] for q in queries if "COUNT(" in q["sql"].upper()]
    assert counts
    assert all("LIMIT" in sql.upper() for sql in counts), counts


def test_capped_count_says_more_than(viewer, events, monkeypatch):
    monkeypatch.setattr(screen_events, "COUNT_CAP", 3)
    html = get(viewer).content.decode()
    assert "more than 3 webhook events" in html


def toplinks(html: str) -> str:
    """The date drill-down's links (Django 6 adds attributes to its <nav class="toplinks">)."""
    match = re.search(r'<nav class="toplinks"[^>]*>(.*?)</nav>', html, re.DOTALL)
    assert match, "no date hierarchy on the page"
    return match.group(1)


def test_date_hierarchy_from_index_probes(viewer, events):
    html = get(viewer).content.decode()
    hierarchy = toplinks(html)
    # Every event is in 2026: Django starts at the months of that year.
    assert "March 2026" in hierarchy and "April 2026" in hierarchy and "May 2026" not in hierarchy
    html = get(viewer, received_at__year="2026", received_at__month="3").content.decode()
    hierarchy = toplinks(html)
    assert "March 10" in hierarchy and "March 11" not in hierarchy
    html = get(
        viewer, received_at__year="2026", received_at__month="3", received_at__day="10"
    ).content.decode()
    assert "March 10" in toplinks(html)


def test_date_hierarchy_over_several_years(viewer, events):
    make_event("old", hours=-24 * 400)
    hierarchy = toplinks(get(viewer).content.decode())
    assert ">2025<" in hierarchy and ">2026<" in hierarchy and "2024" not in hierarchy


def test_empty_changelist(viewer, db):
    html = get(viewer).content.decode()
    assert "0 webhook events" in html


# -- no address gives a 5xx (tests/screens/test_hostile_input.py walks every screen) ----------------


@pytest.mark.parametrize(
    "query",
    [
        "message_id=%00",
        "recipient=jane%40example.com%00",
        "tag=a%00b",
        "record_type=%00",
        "message_stream__exact=%00",
        "event_type__exact=%00",
        "q=%00",
        "received_at__year=%00",
        "%00=1",
    ],
)
def test_nul_in_the_query_string_is_refused_before_the_database(viewer, events, query):
    # PostgreSQL refuses NUL in text: each of these was a 500 there.
    response = viewer.get(f"{reverse(CHANGELIST)}?{query}")
    assert response.status_code == 400
    assert "NUL" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        "payload__contains=x",  # not supported by SQLite: a 500
        "recipient__regex=(",  # an invalid regular expression: a database error
        "id__in=99999999999999999999",  # past the column's range: OverflowError on SQLite
        "dedupe_key=key-a",
        "recipient__icontains=jane",  # a full scan on a million rows
        "metadata__a=1",
    ],
)
def test_lookups_the_page_does_not_offer_are_refused(viewer, events, query):
    assert viewer.get(f"{reverse(CHANGELIST)}?{query}").status_code == 400


@pytest.mark.parametrize(
    "query",
    [
        "received_at__month=3",  # a month without its year: an AssertionError
        "received_at__day=10",
        "received_at__year=2026&received_at__day=10",
        "received_at__year=9999",  # Django's own drill-down: year 10000, ValueError
        "received_at__year=9999&received_at__month=12",  # OverflowError
        "received_at__year=99999999999999999999",  # OverflowError
        "received_at__year=2026&received_at__month=13",
        "received_at__year=2026&received_at__month=2&received_at__day=30",
        "received_at__year=0",
        "received_at__year=abc",
    ],
)
def test_a_date_drill_down_that_names_no_date_goes_back_to_the_list(viewer, events, query):
    response = viewer.get(f"{reverse(CHANGELIST)}?{query}")
    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_the_date_drill_down_takes_the_last_of_repeated_values(viewer, events):
    response = viewer.get(
        f"{reverse(CHANGELIST)}?received_at__year=2025&received_at__year=2026&received_at__month=4"
    )
    assert listed(response) == ["Carol@Example.com"]


@pytest.mark.parametrize("to_field", ["", "nope"])
def test_an_empty_or_unknown_to_field_is_no_server_error(viewer, events, to_field):
    url = reverse("admin:postmark_admin_webhookevent_change", args=[events[0].pk])
    # Django looked up a field named "" (FieldDoesNotExist, a 500); an unknown one it refuses itself.
    assert viewer.get(f"{url}?_to_field={to_field}").status_code in (200, 400)


@pytest.mark.parametrize("selected", ["abc", "1.5", "99999999999999999999", "%00"])
def test_a_forged_action_selection_runs_nothing(login, events, selected):
    client = login("deleter", VIEW, DELETE)
    body = f"action=delete_selected&index=0&_selected_action={selected}&_selected_action={events[0].pk}"
    response = client.post(reverse(CHANGELIST), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 302
    assert WebhookEvent.objects.count() == len(events)
    page = client.get(response["Location"]).content.decode()
    assert "The selection names items that cannot exist." in page
