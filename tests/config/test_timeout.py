"""The request timeout's fallback chain (issue 12, item 5): EMAIL_TIMEOUT counts, after POSTMARK_TIMEOUT.

Backend option (``get_connection(timeout=...)``, MAILERS OPTIONS) > the admin's row > ``POSTMARK_TIMEOUT``
> ``EMAIL_TIMEOUT`` > the environment's ``POSTMARK_TIMEOUT`` > 30 seconds.
"""

from __future__ import annotations

import django
import pytest
from django.core.mail import EmailMessage

from postmark_admin.backends import PostmarkBackend
from postmark_admin.config.effective import Source, effective_config
from postmark_admin.config.mailers import mailer_config, mailer_options
from postmark_admin.exceptions import PostmarkTransportError
from postmark_admin.models import PostmarkSettings

BACKEND = "postmark_admin.backends.PostmarkBackend"


@pytest.fixture
def email_settings(settings, clean_postmark_env):
    """settings.py as a Django 5.2 project has it: EMAIL_* settings, no MAILERS (Django 6.1 refuses both)."""
    if django.VERSION >= (6, 1):
        del settings.MAILERS
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return settings


# configured places -> (value, source, origin)
CHAIN = [
    pytest.param({}, (30.0, Source.DEFAULT, "default"), id="nothing: 30 s"),
    pytest.param({"env": "9"}, (9.0, Source.ENVIRONMENT, "environment POSTMARK_TIMEOUT"), id="environment"),
    pytest.param(
        {"EMAIL_TIMEOUT": 12}, (12.0, Source.SETTINGS, "settings.EMAIL_TIMEOUT"), id="EMAIL_TIMEOUT"
    ),
    pytest.param(
        {"EMAIL_TIMEOUT": 12, "env": "9"},
        (12.0, Source.SETTINGS, "settings.EMAIL_TIMEOUT"),
        id="settings.py before the environment",
    ),
    pytest.param(
        {"EMAIL_TIMEOUT": None, "env": "9"},
        (9.0, Source.ENVIRONMENT, "environment POSTMARK_TIMEOUT"),
        id="EMAIL_TIMEOUT None is unset",
    ),
    pytest.param(
        {"POSTMARK_TIMEOUT": 7.5, "EMAIL_TIMEOUT": 12},
        (7.5, Source.SETTINGS, "settings.POSTMARK_TIMEOUT"),
        id="POSTMARK_TIMEOUT before EMAIL_TIMEOUT",
    ),
    pytest.param(
        {"row": 5.0, "POSTMARK_TIMEOUT": 7.5, "EMAIL_TIMEOUT": 12},
        (5.0, Source.DATABASE, "database PostmarkSettings.timeout"),
        id="the admin's row before settings.py",
    ),
    pytest.param(
        {"argument": 3, "row": 5.0, "EMAIL_TIMEOUT": 12},
        (3.0, Source.ARGUMENT, "argument timeout"),
        id="get_connection(timeout=...) first",
    ),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("configured", "expected"), CHAIN)
def test_timeout_chain(configured, expected, email_settings, clean_postmark_env):
    if "env" in configured:
        clean_postmark_env.setenv("POSTMARK_TIMEOUT", configured["env"])
    for name in ("POSTMARK_TIMEOUT", "EMAIL_TIMEOUT"):
        if name in configured:
            setattr(email_settings, name, configured[name])
    if "row" in configured:
        PostmarkSettings.objects.create(timeout=configured["row"])
    arguments = {"timeout": configured["argument"]} if "argument" in configured else {}
    resolved = effective_config(**arguments).sources["timeout"]
    assert (resolved.value, resolved.source, resolved.origin) == expected
    # What a send uses is the same value.
    assert PostmarkBackend(**arguments).config().timeout == expected[0]


def test_email_timeout_is_checked_like_postmark_timeout(email_settings):
    from postmark_admin.checks import check_settings_values

    email_settings.EMAIL_TIMEOUT = "fast"
    # Our check alone: Django 6.1's own mail check reads settings.MAILERS, which this test deleted.
    [found] = [m for m in check_settings_values() if m.id == "postmark_admin.E006"]
    assert "settings.EMAIL_TIMEOUT" in found.msg


@pytest.mark.django_db
def test_a_mailers_options_timeout_is_named_by_its_place(settings, clean_postmark_env):
    # Django 6.1: MAILERS replaces EMAIL_TIMEOUT; the mailer's OPTIONS are the backend's arguments.
    settings.MAILERS = {"default": {"BACKEND": BACKEND, "OPTIONS": {"timeout": 4, "message_stream": "s"}}}
    settings.POSTMARK_TIMEOUT = 7.5
    assert mailer_options() == {"timeout": 4, "message_stream": "s"}
    resolved = mailer_config().sources["timeout"]
    assert (resolved.value, resolved.source) == (4.0, Source.ARGUMENT)
    assert resolved.origin == "settings.MAILERS['default']['OPTIONS']['timeout']"
    # Without the option, the chain goes on as usual.
    settings.MAILERS = {"default": {"BACKEND": BACKEND}}
    assert mailer_config().sources["timeout"].origin == "settings.POSTMARK_TIMEOUT"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "mailers",
    [
        {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend", "OPTIONS": {"timeout": 4}}},
        {"other": {"BACKEND": BACKEND, "OPTIONS": {"timeout": 4}}},
        {"default": {"BACKEND": "no.such.Backend", "OPTIONS": {"timeout": 4}}},
    ],
    ids=["another backend", "another alias", "unimportable backend"],
)
def test_options_of_another_mailer_do_not_count(mailers, settings, clean_postmark_env):
    settings.MAILERS = mailers
    assert mailer_options() == {}
    assert mailer_config().sources["timeout"].source == Source.DEFAULT


@pytest.mark.django_db
@pytest.mark.postmark_sandbox(latency=2.0)
def test_email_timeout_reaches_the_request(postmark_sandbox, email_settings):
    """End to end, no mock: the sandbox answers after 2 s, EMAIL_TIMEOUT = 0.5 gives up first."""
    email_settings.EMAIL_TIMEOUT = 0.5
    message = EmailMessage("Hi", "Body", "from@example.com", ["to@example.com"])
    with pytest.raises(PostmarkTransportError) as raised:
        PostmarkBackend().send_messages([message])
    assert raised.value.ambiguous
    assert "did not answer within" in str(raised.value)
    assert "EMAIL_TIMEOUT" in str(raised.value)  # the message names where the timeout came from
    assert postmark_sandbox.connections_opened == 1  # a read timeout is never retried
