"""The server token never follows the API URL to a host of a settings editor's choosing."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry
from django.core.mail import EmailMessage
from django.test import override_settings
from django.urls import reverse
from requests.adapters import HTTPAdapter

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config.api_hosts import api_url_problem
from postmark_admin.exceptions import PostmarkConfigurationError
from postmark_admin.models import PostmarkSettings
from postmark_admin.sending.client import PostmarkClient
from postmark_admin.testing import override_postmark_settings
from tests.conftest import ADMIN_TEST_TOKEN, messages_of, settings_form_data

pytestmark = pytest.mark.usefixtures("clean_postmark_env")

ADMIN_URL = "admin:postmark_admin_postmarksettings_change"
WAGTAIL_URL = "postmark_admin_settings:edit"
EVIL = "https://collector.example/"
CHANGE = "postmark_admin.change_postmarksettings"


@pytest.mark.parametrize(
    ("url", "allowed", "problem"),
    [
        ("https://api.postmarkapp.com/", None, None),
        ("https://API.PostmarkApp.com:443/", None, None),
        ("http://127.0.0.1:8025/", None, None),
        ("http://localhost:8025/", None, None),
        ("http://[::1]:8025/", None, None),
        ("https://collector.example/", None, "not in POSTMARK_ALLOWED_API_HOSTS"),
        ("https://api.postmarkapp.com.collector.example/", None, "not in POSTMARK_ALLOWED_API_HOSTS"),
        ("http://api.postmarkapp.com/", None, "plain http://"),
        ("https://collector.example/", ["collector.example"], None),
        ("http://collector.example/", ["*"], "plain http://"),
        ("https://anything.example/", ["*"], None),
        ("http://127.0.0.1:8025/", ["api.postmarkapp.com"], "not in POSTMARK_ALLOWED_API_HOSTS"),
    ],
)
def test_api_url_rule(url, allowed, problem, settings):
    if allowed is not None:
        settings.POSTMARK_ALLOWED_API_HOSTS = allowed
    found = api_url_problem(url)
    assert (found is None) if problem is None else (problem in (found or "")), found


@pytest.fixture
def requests_made(monkeypatch):
    made = []
    monkeypatch.setattr(HTTPAdapter, "send", lambda self, request, **kwargs: made.append(request))
    return made


@pytest.mark.django_db
@pytest.mark.parametrize("where", ["override", "settings", "argument"])
def test_a_send_to_a_disallowed_host_is_refused_before_any_request(where, requests_made, settings):
    message = EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])
    options = {"api_url": EVIL} if where == "argument" else {}
    if where == "settings":
        settings.POSTMARK_API_URL = EVIL
    layer = {"api_url": EVIL} if where == "override" else {}
    with override_postmark_settings(server_token=ADMIN_TEST_TOKEN, **layer):
        assert PostmarkBackend(fail_silently=True, **options).send_messages([message]) == 0
        with pytest.raises(PostmarkConfigurationError) as caught:
            PostmarkBackend(**options).send_messages([message])
        assert "POSTMARK_ALLOWED_API_HOSTS" in str(caught.value)
        with pytest.raises(PostmarkConfigurationError):
            PostmarkClient(**options).get_server()
    assert requests_made == []


@pytest.mark.django_db
def test_a_row_with_a_disallowed_host_is_refused(requests_made):
    PostmarkSettings.objects.create(server_token=ADMIN_TEST_TOKEN, api_url=EVIL)
    message = EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])
    assert PostmarkBackend(fail_silently=True).send_messages([message]) == 0
    with pytest.raises(PostmarkConfigurationError):
        PostmarkBackend().send_messages([message])
    assert requests_made == []


def _editor(login, admin):
    if admin == "wagtail":
        pytest.importorskip("wagtail", reason="Wagtail is not installed")
        return login("editor", "wagtailadmin.access_admin", CHANGE), reverse(WAGTAIL_URL), {}
    return login("editor", CHANGE), reverse(ADMIN_URL), {"_save": "Save"}


@pytest.mark.parametrize("admin", ["django", "wagtail"])
@pytest.mark.parametrize(
    ("url", "problem"),
    [(EVIL, "not in POSTMARK_ALLOWED_API_HOSTS"), ("http://api.postmarkapp.com/", "plain http://")],
)
def test_the_form_refuses_a_disallowed_api_url(admin, url, problem, login):
    PostmarkSettings.objects.create(server_token=ADMIN_TEST_TOKEN)
    client, page, extra = _editor(login, admin)
    response = client.post(page, settings_form_data(api_url=url, **extra))
    assert response.status_code == 200
    assert problem in response.content.decode()
    row = PostmarkSettings.objects.get()
    assert row.api_url == "" and row.server_token.reveal() == ADMIN_TEST_TOKEN


@pytest.mark.parametrize("admin", ["django", "wagtail"])
@override_settings(POSTMARK_ALLOWED_API_HOSTS=["api.postmarkapp.com", "collector.example", "127.0.0.1"])
def test_an_origin_change_clears_the_stored_token(admin, login):
    PostmarkSettings.objects.create(server_token=ADMIN_TEST_TOKEN)
    client, page, extra = _editor(login, admin)
    response = client.post(page, settings_form_data(api_url=EVIL, **extra), follow=True)
    row = PostmarkSettings.objects.get()
    assert row.api_url == EVIL and not row.server_token
    found = [text for _level, text in messages_of(response) if "server token was cleared" in text]
    assert found and "https://collector.example" in found[0] and "https://api.postmarkapp.com" in found[0]
    if admin == "django":
        [entry] = LogEntry.objects.all()
        logged = entry.get_change_message()
        assert "API URL origin from https://api.postmarkapp.com to https://collector.example" in logged
        assert "the stored server token was cleared" in logged


@pytest.mark.parametrize("admin", ["django", "wagtail"])
@override_settings(POSTMARK_ALLOWED_API_HOSTS=["api.postmarkapp.com", "collector.example"])
def test_a_token_typed_in_the_same_save_is_kept(admin, login):
    PostmarkSettings.objects.create(server_token=ADMIN_TEST_TOKEN)
    client, page, extra = _editor(login, admin)
    client.post(page, settings_form_data(api_url=EVIL, server_token="their-own-token-123456", **extra))
    row = PostmarkSettings.objects.get()
    assert row.api_url == EVIL and row.server_token.reveal() == "their-own-token-123456"
    if admin == "django":
        [entry] = LogEntry.objects.all()
        logged = entry.get_change_message()
        assert "API URL origin from" in logged and "cleared" not in logged


@pytest.mark.parametrize("admin", ["django", "wagtail"])
def test_the_same_origin_keeps_the_token(admin, login):
    PostmarkSettings.objects.create(server_token=ADMIN_TEST_TOKEN, api_url="http://127.0.0.1:8025/")
    client, page, extra = _editor(login, admin)
    client.post(page, settings_form_data(api_url="http://127.0.0.1:8025/v2/", **extra))
    row = PostmarkSettings.objects.get()
    assert row.api_url == "http://127.0.0.1:8025/v2/" and row.server_token.reveal() == ADMIN_TEST_TOKEN
