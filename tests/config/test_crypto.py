"""Secrets: masked everywhere, encrypted at rest, readable after a SECRET_KEY rotation."""

from __future__ import annotations

import copy
import logging
import pickle

import pytest
from django.db import connection

from postmark_admin.config.crypto import PREFIX, Secret, SecretDecryptionError, decrypt, encrypt
from postmark_admin.config.effective import effective_config
from postmark_admin.models import PostmarkSettings

TOKEN = "b7c4e0d2-1111-4a5b-9c8d-0123456789ab"


def test_secret_never_shows_itself(caplog):
    secret = Secret(TOKEN)
    logging.getLogger("test").warning("token %s %r %s", secret, secret, f"{secret}")
    for text in (str(secret), repr(secret), f"{secret}", f"{secret!r}", caplog.text, str([secret])):
        assert TOKEN not in text
    assert secret.reveal() == TOKEN
    assert secret.masked() == "********89ab"


def test_short_secret_masks_completely():
    assert Secret("abcdefgh").masked() == "********"
    assert Secret("").masked() == ""


def test_secret_refuses_pickling_but_copies():
    secret = Secret(TOKEN)
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert copy.deepcopy(secret) is secret


def test_secret_equality_is_by_value():
    assert Secret("a") == Secret("a") == "a"
    assert Secret("a") != Secret("b")
    assert not Secret("")


def test_roundtrip_and_random_iv():
    first, second = encrypt(TOKEN), encrypt(TOKEN)
    assert first.startswith(PREFIX) and first != second
    assert decrypt(first) == decrypt(second) == TOKEN


def test_rotation_with_fallbacks(settings):
    stored = encrypt(TOKEN)
    settings.SECRET_KEY = "a-brand-new-secret-key-0123456789abcdefghijklmnop"
    with pytest.raises(SecretDecryptionError) as excinfo:
        decrypt(stored)
    assert TOKEN not in str(excinfo.value)
    settings.SECRET_KEY_FALLBACKS = ["tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"]
    assert decrypt(stored) == TOKEN


@pytest.mark.django_db
def test_database_column_holds_no_clear_text():
    PostmarkSettings.objects.create(
        server_token=TOKEN, webhook_username="hook", webhook_password="pw-" + TOKEN
    )
    with connection.cursor() as cursor:
        cursor.execute("SELECT server_token, webhook_password FROM postmark_admin_postmarksettings")
        row = cursor.fetchone()
    assert all(value.startswith(PREFIX) for value in row)
    assert not any(TOKEN in value for value in row)
    loaded = PostmarkSettings.objects.get()
    assert loaded.server_token.reveal() == TOKEN
    assert loaded.webhook_password.reveal() == "pw-" + TOKEN


@pytest.mark.django_db
def test_dumpdata_holds_no_clear_text_and_loads_back(tmp_path):
    from django.core import serializers

    PostmarkSettings.objects.create(server_token=TOKEN)
    dumped = serializers.serialize("json", PostmarkSettings.objects.all())
    assert TOKEN not in dumped
    PostmarkSettings.objects.all().delete()
    for obj in serializers.deserialize("json", dumped):
        obj.save()
    assert PostmarkSettings.objects.get().server_token.reveal() == TOKEN


@pytest.mark.django_db
def test_undecryptable_secret_is_unset_reported_and_kept(settings, clean_postmark_env):
    PostmarkSettings.objects.create(server_token=TOKEN, message_stream="kept")
    settings.SECRET_KEY = "rotated-without-fallback-0123456789abcdefghijklmnop"
    settings.POSTMARK_SERVER_TOKEN = "from-settings"
    config = effective_config()
    # Treated as unset: the next layer wins, and the problem is reported.
    assert config.require_server_token() == "from-settings"
    assert config.undecryptable == ("server_token",)
    row = PostmarkSettings.objects.get()
    assert row.server_token.is_undecryptable
    assert "undecryptable" in repr(row.server_token)
    # Saving another field keeps the ciphertext, so restoring the key recovers the token.
    row.message_stream = "changed"
    row.save()
    settings.SECRET_KEY_FALLBACKS = ["tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"]
    assert PostmarkSettings.objects.get().server_token.reveal() == TOKEN


@pytest.mark.django_db
def test_missing_token_message_mentions_undecryptable(settings, clean_postmark_env):
    from postmark_admin.exceptions import PostmarkConfigurationError

    PostmarkSettings.objects.create(server_token=TOKEN)
    settings.SECRET_KEY = "rotated-without-fallback-0123456789abcdefghijklmnop"
    with pytest.raises(PostmarkConfigurationError, match="cannot be decrypted") as excinfo:
        effective_config().require_server_token()
    assert TOKEN not in str(excinfo.value)


def test_model_attribute_is_always_a_secret():
    row = PostmarkSettings(server_token=TOKEN)
    assert isinstance(row.server_token, Secret)
    assert TOKEN not in repr(row.__dict__)
    row.webhook_password = "plain"
    assert isinstance(row.webhook_password, Secret)
