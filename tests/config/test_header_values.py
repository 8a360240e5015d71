"""Secrets that cannot travel in an HTTP header are refused, with a sentence saying what is wrong."""

from __future__ import annotations

import pytest

from postmark_admin.config.crypto import Secret
from postmark_admin.config.effective import effective_config
from postmark_admin.config.fields import header_value_problem, secret_problem
from postmark_admin.exceptions import PostmarkConfigurationError
from postmark_admin.testing import override_postmark_settings

TOKEN = "0f8e7d6c-5b4a-4392-8170-aabbccddeeff"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (TOKEN + "\u200b", "an invisible character (U+200B ZERO WIDTH SPACE) at position 37"),
        ("\ufeff" + TOKEN, "an invisible character (U+FEFF ZERO WIDTH NO-BREAK SPACE) at position 1"),
        (TOKEN[:5] + "\u00a0" + TOKEN[5:], "an invisible character (U+00A0 NO-BREAK SPACE) at position 6"),
        ("tok€en", "the character '€' (U+20AC EURO SIGN) at position 4"),
        ("tok\ren", "a control character (U+000D) at position 4"),
        ("tok\nen", "a control character (U+000A) at position 4"),
        ("tok\x00en", "a control character (U+0000) at position 4"),
        ("tok\x7fen", "a control character (U+007F) at position 4"),
        ("tok\ten", "a control character (U+0009) at position 4"),
        ("tok en", "a space at position 4"),
        ("tokén", "the character 'é' (U+00E9 LATIN SMALL LETTER E WITH ACUTE) at position 4"),
    ],
)
def test_header_value_problem_names_the_character(value, expected):
    problem = header_value_problem(value)
    assert problem is not None and problem.startswith("contains " + expected), problem
    assert "cannot be sent in an HTTP header" in problem
    assert TOKEN not in problem


@pytest.mark.parametrize("value", [TOKEN, "POSTMARK_API_TEST", "p@ss!w0rd~{}[]", ""])
def test_printable_ascii_is_fine(value):
    assert header_value_problem(value) is None


def test_webhook_credentials_may_hold_a_space_but_not_the_token():
    assert secret_problem("webhook_password", "correct horse battery") is None
    assert secret_problem("server_token", Secret("correct horse")) is not None
    assert secret_problem("webhook_password", Secret("pass\u200bword")) is not None


@pytest.mark.django_db
@pytest.mark.parametrize("bad", [TOKEN + "\u200b", "tok€en", "tok\r\nX-Injected: 1"])
def test_require_server_token_refuses_an_unsendable_token_naming_its_origin(bad, clean_postmark_env):
    with pytest.raises(PostmarkConfigurationError) as caught:
        effective_config(server_token=bad).require_server_token()
    assert "argument server_token" in str(caught.value) and "HTTP header" in str(caught.value)
    with override_postmark_settings(server_token=bad), pytest.raises(PostmarkConfigurationError) as caught:
        effective_config().require_server_token()
    assert "override_postmark_settings(server_token)" in str(caught.value)
    assert bad not in str(caught.value)
