"""Wagtail's admin in German for a browser that asks for it: the Postmark settings page and events list.

Wagtail takes the language of the request (LocaleMiddleware, from Accept-Language) when the user has
chosen none. Screenshots go to artifacts/screenshots/django-<series>/wagtail-*-de.png.
"""

from __future__ import annotations

import pytest

pytest.importorskip(
    "wagtail", reason="Wagtail is not installed (pip install 'django-postmark-admin[wagtail]')"
)

from django.urls import reverse

from postmark_admin.models import WebhookEvent
from tests.conftest import (
    assert_no_horizontal_overflow,
    assert_page_hides_secrets,
    german_page,
    log_in_with_the_form,
    needs_chromium,
    save_screenshot,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    needs_chromium,
]


def test_wagtail_settings_page_and_events_in_german(live_server, live_sandbox, browser, django_user_model):
    django_user_model.objects.create_superuser("editor", "editor@example.com", "editor-password")
    WebhookEvent.objects.create(
        dedupe_key="german-browser-test",
        record_type="Delivery",
        event_type="delivered",
        message_id="6a5c1b8e-3f2d-4e7a-9b0c-1d2e3f4a5b6c",
        recipient="jemand@example.com",
        payload={"RecordType": "Delivery"},
    )
    settings_path = reverse("postmark_admin_settings:edit")
    context, page = german_page(browser)
    login_url = f"{live_server.url}{reverse('wagtailadmin_login')}?next={settings_path}"
    log_in_with_the_form(page, login_url, "editor", "editor-password", submit="button[type=submit]")
    page.wait_for_selector("#postmark-effective-config")

    assert page.inner_text("#postmark-effective-config h2") == "Wirksame Konfiguration"
    assert page.inner_text("#postmark-actions-heading") == "Mit Postmark sprechen"
    assert page.inner_text("button[name=_send_test_email]") == "Test-E-Mail senden"
    # Wagtail's "Save" is "Speichern", Django's "Sichern": the catalog of the app listed first wins.
    assert page.inner_text("#w-editor-form button[type=submit] >> nth=0").strip() in ("Speichern", "Sichern")
    assert "Einstellungen" in page.inner_text("#wagtail-sidebar")
    assert_no_horizontal_overflow(page)
    assert_page_hides_secrets(page)
    save_screenshot(page, "wagtail-settings-de")

    page.goto(live_server.url + reverse("postmark_admin_events:index"))
    main = page.inner_text("main")
    assert "jemand@example.com" in main and "zugestellt" in main, main
    assert_no_horizontal_overflow(page)
    save_screenshot(page, "wagtail-events-de")
    context.close()
