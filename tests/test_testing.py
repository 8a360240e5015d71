"""override_postmark_settings as context manager, function decorator and class decorator."""

from __future__ import annotations

import django
import pytest
from django.test import SimpleTestCase

from postmark_admin.config.effective import Source, effective_config
from postmark_admin.testing import override_postmark_settings, use_postmark_backend, uses_mailers


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


def default_backend():
    """The backend ``send_mail()`` would use now."""
    if uses_mailers():
        from django.core.mail import mailers

        return mailers.default
    from django.core.mail import get_connection

    return get_connection()


def test_use_postmark_backend_swaps_the_test_runners_backend_and_restores_it():
    from django.core.mail.backends.locmem import EmailBackend as LocmemBackend

    from postmark_admin.backends import PostmarkBackend

    assert isinstance(default_backend(), LocmemBackend)
    with use_postmark_backend():
        assert isinstance(default_backend(), PostmarkBackend)
    assert isinstance(default_backend(), LocmemBackend)


@use_postmark_backend()
def test_use_postmark_backend_as_a_decorator():
    from postmark_admin.backends import PostmarkBackend

    assert isinstance(default_backend(), PostmarkBackend)


@pytest.mark.skipif(django.VERSION < (6, 1), reason="MAILERS is Django 6.1's")
def test_use_postmark_backend_on_mailers_changes_the_default_alias_only(settings):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
        "bulk": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
    }
    with use_postmark_backend():
        assert settings.MAILERS == {
            "default": {"BACKEND": "postmark_admin.backends.PostmarkBackend"},
            "bulk": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"},
        }
        assert not hasattr(settings, "EMAIL_BACKEND")
    assert settings.MAILERS["default"]["BACKEND"] == "django.core.mail.backends.locmem.EmailBackend"


def test_uses_mailers_follows_the_settings(settings):
    assert uses_mailers() is (django.VERSION >= (6, 1))  # tests/settings.py: MAILERS on 6.1 only
    if django.VERSION >= (6, 1):
        del settings.MAILERS
        assert uses_mailers() is False
    else:
        settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
        assert uses_mailers() is False  # before 6.1, Django ignores MAILERS
