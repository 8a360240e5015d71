"""No input gives a 5xx on any screen of either admin: every screen, every parameter, hostile values.

Each screen is walked with every GET parameter it reads, a few it does not, and for the forms and
actions every POST field, each set to values an attacker or a clumsy paste would send: NUL (which
PostgreSQL refuses in text), lone surrogates and invalid UTF-8 as percent-encoded bytes, very long
strings, negative, zero, huge and non-numeric numbers, repeats and ``[]`` names, impossible dates.
A 4xx, a redirect or a page is fine; a 5xx (or an exception out of the view) is a failure.
Run it on PostgreSQL too: ``DATABASE_URL=postgres://... pytest tests/screens/test_hostile_input.py``.
"""

from __future__ import annotations

import importlib.util
import warnings
from urllib.parse import quote, quote_from_bytes

import pytest
from django.db import transaction
from django.urls import reverse

from postmark_admin.screens.settings_page import ACTION_NAMES
from tests.conftest import create_event

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

HAS_WAGTAIL = importlib.util.find_spec("wagtail") is not None
needs_wagtail = pytest.mark.skipif(not HAS_WAGTAIL, reason="Wagtail is not installed")

#: Hostile values, each already percent-encoded for a query string or a form body.
HOSTILE = [
    "%00",
    "a%00b",
    quote_from_bytes(b"\xed\xa0\x80"),  # a lone surrogate, as UTF-8 bytes
    quote_from_bytes(b"x\xff\xfe\xc0\x80"),  # not UTF-8 at all, and an overlong NUL
    "x" * 10_000,
    quote("é\U0010ffff" * 500),
    "-1",
    "0",
    "99999",
    "99999999999999999999",
    "abc",
    "",
    quote("("),
    "2026-13-45",
    quote("9999-12-31 23:59:59"),
]


def hostile_queries(params: list[str]) -> list[str]:
    """Query strings: each parameter with each hostile value, then repeats and ``[]`` forms."""
    queries = [f"{name}={value}" for name in params for value in HOSTILE]
    for name in params:
        queries += [
            f"{name}=1&{name}=2",
            f"{name}=%00&{name}=1",
            f"{name}[]=1",
            f"{name}[0]=%00",
            f"{name}",
        ]
    return queries


#: Parameters no screen reads, and names that look like lookups on the events.
UNKNOWN = ["zzz", "%00", quote_from_bytes(b"\xed\xa0\x80"), "recipient__zzz", "pk__in", "id"]

#: The date drill-down's parameters in combination: a year with impossible months and days, and parts
#: without the year.
DATE_DRILL_DOWN = [
    "received_at__year=99999",
    "received_at__year=9999",
    "received_at__year=9999&received_at__month=12",
    "received_at__year=9999&received_at__month=12&received_at__day=31",
    "received_at__year=2026&received_at__month=13",
    "received_at__year=2026&received_at__month=0",
    "received_at__year=2026&received_at__month=2&received_at__day=30",
    "received_at__year=2026&received_at__month=-1",
    "received_at__year=0",
    "received_at__year=1&received_at__month=1&received_at__day=1",
    "received_at__month=13",
    "received_at__month=3",
    "received_at__day=10",
    "received_at__month=3&received_at__day=10",
    "received_at__year=2026&received_at__day=10",
    "received_at__year=%00&received_at__month=%00",
    "received_at__year=2026&received_at__month=3&received_at__day=%00",
]


def walk(client, method: str, url: str, queries: list[str], data: str = "") -> list[str]:
    """Request ``url?query`` for every query; the failures, as "status query: error"."""
    failures = []
    for query in queries:
        target = f"{url}?{query}" if query else url
        try:
            with warnings.catch_warnings():
                # A naive datetime typed into a date filter only warns (the suite makes that an error).
                warnings.simplefilter("ignore", RuntimeWarning)
                # A savepoint per request: one failed statement on PostgreSQL cannot fail the next.
                with transaction.atomic():
                    response = (
                        client.get(target)
                        if method == "GET"
                        else client.post(target, data, content_type="application/x-www-form-urlencoded")
                    )
        except Exception as error:
            failures.append(
                f"exception {method} {target[:200]} {data[:200]}: {type(error).__name__}: {str(error)[:200]}"
            )
            continue
        if response.status_code >= 500:
            failures.append(f"{response.status_code} {method} {target[:200]} {data[:200]}")
    return failures


def form_bodies(fields: list[str], base: dict[str, str]) -> list[str]:
    """Form bodies: ``base`` with each field set to each hostile value in turn."""
    bodies = []
    for name in fields:
        for value in HOSTILE:
            pairs = {**{key: quote(val) for key, val in base.items()}, name: value}
            bodies.append("&".join(f"{key}={val}" for key, val in pairs.items()))
    return bodies


@pytest.fixture
def root(client, django_user_model, sandbox):
    """A superuser (every screen, every button), the sandbox, and a few events."""
    user = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(user)
    for key in range(3):
        create_event(key)
    create_event("b", "bounced", message_stream="broadcast", tag="welcome")
    return client


def assert_none(failures: list[str]) -> None:
    assert not failures, f"{len(failures)} requests failed:\n" + "\n".join(failures[:40])


# -- the Django admin ------------------------------------------------------------------------------

CHANGELIST_PARAMS = [
    "q",
    "p",
    "o",
    "e",
    "all",
    "_popup",
    "_to_field",
    "_facets",
    "event_type__exact",
    "event_type",
    "record_type",
    "message_stream",
    "message_stream__exact",
    "recipient",
    "message_id",
    "tag",
    "received_at__gte",
    "received_at__lt",
    "received_at__isnull",
    "received_at__year",
    "received_at__month",
    "received_at__day",
    "dedupe_key",
    "payload__contains",
    "payload__has_key",
    "metadata__a__b",
    "recipient__regex",
    "recipient__startswith",
    "id__in",
    *UNKNOWN,
]


def test_django_admin_events_changelist(root):
    url = reverse("admin:postmark_admin_webhookevent_changelist")
    assert_none(walk(root, "GET", url, hostile_queries(CHANGELIST_PARAMS) + DATE_DRILL_DOWN))


def test_django_admin_events_changelist_with_several_filters(root):
    url = reverse("admin:postmark_admin_webhookevent_changelist")
    combined = [
        f"q={value}&event_type__exact={value}&record_type={value}&p={value}&o={value}" for value in HOSTILE
    ]
    assert_none(walk(root, "GET", url, combined))


def test_django_admin_event_detail_history_and_delete(root):
    event = create_event("detail")
    params = ["_changelist_filters", "_popup", "_to_field", "_tab", *UNKNOWN]
    for name in ["change", "history", "delete"]:
        url = reverse(f"admin:postmark_admin_webhookevent_{name}", args=[event.pk])
        assert_none(walk(root, "GET", url, hostile_queries(params)))
    paths = [
        f"/admin/postmark_admin/webhookevent/{value}/{name}/"
        for value in HOSTILE
        if value
        for name in ["change", "history", "delete"]
    ]
    assert_none([failure for path in paths for failure in walk(root, "GET", path, [""])])


def test_django_admin_settings_page(root):
    url = reverse("admin:postmark_admin_postmarksettings_change")
    params = ["_changelist_filters", "_popup", "_to_field", "_tab", *UNKNOWN]
    assert_none(walk(root, "GET", url, hostile_queries(params)))
    history = reverse("admin:postmark_admin_postmarksettings_history")
    assert_none(walk(root, "GET", history, hostile_queries(params)))
    changelist = reverse("admin:postmark_admin_postmarksettings_changelist")
    assert_none(walk(root, "GET", changelist, hostile_queries(["q", "p", *UNKNOWN])))


SETTINGS_FORM = {
    "server_token": "",
    "api_url": "",
    "message_stream": "",
    "default_from_email": "",
    "timeout": "",
    "webhook_username": "",
    "webhook_password": "",
    "ignore_unsupported_features": "",
}


def test_django_admin_settings_form(root):
    url = reverse("admin:postmark_admin_postmarksettings_change")
    fields = [*SETTINGS_FORM, "server_token_clear", "webhook_password_clear", "_save", "zzz"]
    failures = []
    for body in form_bodies(fields, {**SETTINGS_FORM, "_save": "Save"}):
        failures += walk(root, "POST", url, [""], body)
    assert_none(failures)


#: What each action reads from its form (verify_token and delivery_stats read nothing).
ACTION_FORMS = {
    "test_email": {"recipient": "to@example.com", "subject": "Hello", "message_stream": "outbound"},
    "configure_webhook": {"message_stream": "outbound"},
    "verify_token": {},
    "delivery_stats": {},
}


def walk_actions(client, url_of) -> list[str]:
    """Each action with a hostile query string, and with each field it reads set to each hostile value."""
    failures = []
    for name in ACTION_NAMES:
        url = url_of(name)
        failures += walk(client, "POST", url, hostile_queries(["q", UNKNOWN[1]]), "")
        for body in form_bodies([*ACTION_FORMS[name], "zzz"], ACTION_FORMS[name]):
            failures += walk(client, "POST", url, [""], body)
    return failures


def test_django_admin_actions(root):
    assert_none(walk_actions(root, lambda name: reverse(f"admin:postmark_admin_postmarksettings_{name}")))


def test_django_admin_generate_webhook_password(root):
    url = reverse("admin:postmark_admin_postmarksettings_generate_webhook_password")
    failures = walk(root, "GET", url, hostile_queries(["q", *UNKNOWN]))
    failures += walk(root, "POST", url, hostile_queries(["q", *UNKNOWN]))
    for body in form_bodies(["zzz", "csrfmiddlewaretoken"], {}):
        failures += walk(root, "POST", url, [""], body)
    assert_none(failures)


def test_django_admin_users_changelist_action(root, django_user_model):
    user = django_user_model.objects.get(username="root")
    url = reverse("admin:auth_user_changelist")
    base = {"action": "send_test_email_to_users", "_selected_action": str(user.pk), "index": "0"}
    failures = []
    for body in form_bodies(["action", "_selected_action", "index", "select_across", "zzz"], base):
        failures += walk(root, "POST", url, [""], body)
    assert_none(failures)


# -- Wagtail ---------------------------------------------------------------------------------------

WAGTAIL_INDEX_PARAMS = [
    "p",
    "q",
    "ordering",
    "event_type",
    "record_type",
    "message_stream",
    "received_at_from",
    "received_at_to",
    "received_at",
    "export",
    "_w_filter_fragment",
    *UNKNOWN,
]


@needs_wagtail
def test_wagtail_settings_page_and_form(root):
    url = reverse("postmark_admin_settings:edit")
    # The page reads no query parameter: a few it does not know.
    assert_none(walk(root, "GET", url, hostile_queries(UNKNOWN[:3])))
    fields = [*SETTINGS_FORM, "server_token_clear", "webhook_password_clear", "zzz"]
    failures = []
    for body in form_bodies(fields, SETTINGS_FORM):
        failures += walk(root, "POST", url, [""], body)
    assert_none(failures)


@needs_wagtail
def test_wagtail_actions(root):
    assert_none(walk_actions(root, lambda name: reverse(f"postmark_admin_settings:{name}")))


@needs_wagtail
def test_wagtail_generate_webhook_password(root):
    url = reverse("postmark_admin_settings:generate_webhook_password")
    failures = walk(root, "GET", url, hostile_queries(["q", *UNKNOWN]))
    failures += walk(root, "POST", url, hostile_queries(["q", *UNKNOWN]))
    for body in form_bodies(["zzz", "csrfmiddlewaretoken"], {}):
        failures += walk(root, "POST", url, [""], body)
    assert_none(failures)


@needs_wagtail
@pytest.mark.parametrize("view", ["index", "index_results"])
def test_wagtail_events_index(root, view):
    url = reverse(f"postmark_admin_events:{view}")
    assert_none(walk(root, "GET", url, hostile_queries(WAGTAIL_INDEX_PARAMS)))


@needs_wagtail
def test_wagtail_events_inspect(root):
    event = create_event("inspect")
    url = reverse("postmark_admin_events:inspect", args=[event.pk])
    failures = walk(root, "GET", url, hostile_queries(["p", "q", *UNKNOWN]))
    base = url.rsplit(str(event.pk), 1)[0]
    for value in HOSTILE:
        if value:
            failures += walk(root, "GET", f"{base}{value}/", [""])
    assert_none(failures)
