"""override_postmark_settings as context manager, function decorator and class decorator."""

from __future__ import annotations

import pytest
from django.test import SimpleTestCase

from postmark_admin.config.effective import Source, effective_config
from postmark_admin.testing import override_postmark_settings


@override_postmark_settings(message_stream="decorated")
def test_function_decorator(clean_postmark_env):
    assert effective_config().message_stream == "decorated"


@pytest.mark.django_db
def test_context_manager_nests_and_restores(clean_postmark_env):
    with override_postmark_settings(server_token="outer", message_stream="outer-stream"):
        with override_postmark_settings(server_token="inner"):
            config = effective_config()
            assert config.server_token.reveal() == "inner"
            assert config.message_stream == "outer-stream"
        assert effective_config().server_token.reveal() == "outer"
    assert effective_config().sources["server_token"].source == Source.DEFAULT


def test_webhook_pair(clean_postmark_env):
    with override_postmark_settings(webhook_username="u", webhook_password="p"):
        creds = effective_config().webhook_credentials
    assert [(c.username, c.password.reveal()) for c in creds] == [("u", "p")]


def test_unknown_field_is_refused():
    with pytest.raises(TypeError, match="server_tokn"):
        override_postmark_settings(server_tokn="x")


@override_postmark_settings(api_url="http://127.0.0.1:1/")
class ClassDecorated(SimpleTestCase):
    def test_class_decorator(self):
        assert effective_config().api_url == "http://127.0.0.1:1/"


@pytest.mark.django_db
def test_overrides_closed_out_of_order_remove_their_own_layer(clean_postmark_env):
    outer = override_postmark_settings(message_stream="outer-stream")
    inner = override_postmark_settings(server_token="inner")
    outer.enable()
    inner.enable()
    try:
        assert effective_config().message_stream == "outer-stream"
        outer.disable()
        config = effective_config()
        assert (config.server_token.reveal(), config.message_stream) == ("inner", "outbound")
    finally:
        inner.disable()
    assert effective_config().sources["server_token"].source == Source.DEFAULT


def test_every_settings_form_field_can_be_overridden():
    from django.forms.models import fields_for_model

    from postmark_admin.models import PostmarkSettings
    from postmark_admin.testing import overridable_fields

    assert overridable_fields() == set(fields_for_model(PostmarkSettings))
