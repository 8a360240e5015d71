"""The write-only secret input: never renders the value; blank keeps, the box clears, text replaces."""

from __future__ import annotations

import pytest
from django import forms

from postmark_admin.config.secret_form import KEEP
from postmark_admin.models import PostmarkSettings

TOKEN = "3f9a1c7e-5555-4b6d-8e2f-abcdefabcdef"


class SettingsForm(forms.ModelForm):
    class Meta:
        model = PostmarkSettings
        fields = ["server_token", "message_stream"]


@pytest.fixture
def row(db):
    return PostmarkSettings.objects.create(server_token=TOKEN, message_stream="s")


def test_rendered_form_never_contains_the_secret(row):
    html = str(SettingsForm(instance=row))
    assert TOKEN not in html
    assert "A value is stored here" in html
    # A redisplayed form (an error elsewhere) does not echo a newly typed secret either.
    bound = SettingsForm({"server_token": "typed-" + TOKEN, "message_stream": "bad stream!"}, instance=row)
    assert not bound.is_valid()
    assert TOKEN not in str(bound)


def test_blank_keeps_the_stored_secret(row):
    form = SettingsForm({"server_token": "", "message_stream": "changed"}, instance=row)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["server_token"] is KEEP
    assert "server_token" not in form.changed_data
    form.save()
    row.refresh_from_db()
    assert row.server_token.reveal() == TOKEN
    assert row.message_stream == "changed"


def test_new_value_replaces(row):
    form = SettingsForm({"server_token": "new-token", "message_stream": "s"}, instance=row)
    assert form.is_valid(), form.errors
    assert "server_token" in form.changed_data
    form.save()
    row.refresh_from_db()
    assert row.server_token.reveal() == "new-token"


def test_clear_box_clears(row):
    form = SettingsForm({"server_token": "", "server_token_clear": "on", "message_stream": "s"}, instance=row)
    assert form.is_valid(), form.errors
    form.save()
    row.refresh_from_db()
    assert not row.server_token


def test_unset_secret_says_it_falls_back(db):
    html = str(SettingsForm(instance=PostmarkSettings()))
    assert "Not set here" in html
