"""postmark_admin.compat.anymail: anymail's exception names are our classes, caught either way."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage

from postmark_admin import exceptions
from postmark_admin.backends import PostmarkBackend
from postmark_admin.compat import anymail as compat

FROM = "from@example.com"

NAMES = [
    ("AnymailError", exceptions.PostmarkError),
    ("AnymailAPIError", exceptions.PostmarkAPIError),
    ("AnymailRecipientsRefused", exceptions.PostmarkRecipientsRefused),
    ("AnymailUnsupportedFeature", exceptions.PostmarkUnsupportedFeature),
    ("AnymailInvalidAddress", exceptions.PostmarkInvalidAddress),
    ("AnymailConfigurationError", exceptions.PostmarkConfigurationError),
    ("AnymailSerializationError", exceptions.PostmarkSerializationError),
]


@pytest.mark.parametrize(("name", "ours"), NAMES, ids=[n for n, _ in NAMES])
def test_each_anymail_name_is_our_class(name, ours):
    assert getattr(compat, name) is ours
    assert name in compat.__all__


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("AnymailUnsupportedFeature", ValueError),
        ("AnymailInvalidAddress", ValueError),
        ("AnymailSerializationError", TypeError),
        ("AnymailConfigurationError", ImproperlyConfigured),
    ],
)
def test_the_builtin_bases_anymail_code_may_catch(name, builtin):
    assert issubclass(getattr(compat, name), builtin)


def test_refused_recipients_caught_by_the_anymail_names(postmark_sandbox):
    postmark_sandbox.inactive.add("gone@example.com")
    with pytest.raises(compat.AnymailRecipientsRefused) as caught:
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["gone@example.com"])])
    # anymail's attributes: the HTTP status and the answer.
    assert (caught.value.status_code, caught.value.response["ErrorCode"]) == (422, 406)
    assert isinstance(caught.value, compat.AnymailAPIError)


@pytest.mark.parametrize(
    ("change", "name"),
    [
        (lambda m: setattr(m, "from_email", "Unquoted, name <from@example.com>"), "AnymailInvalidAddress"),
        (lambda m: setattr(m, "metadata", {"price": Decimal("1.5")}), "AnymailSerializationError"),
        (lambda m: setattr(m, "send_at", 1), "AnymailUnsupportedFeature"),
    ],
)
def test_refused_before_any_request_caught_by_the_anymail_names(change, name, postmark_sandbox):
    message = EmailMessage("Hi", "B", FROM, ["to@example.com"])
    change(message)
    with pytest.raises(getattr(compat, name)):
        PostmarkBackend().send_messages([message])
    assert postmark_sandbox.requests == []


def test_missing_token_caught_as_anymail_configuration_error(clean_postmark_env):
    from postmark_admin.testing import override_postmark_settings

    with override_postmark_settings(), pytest.raises(compat.AnymailConfigurationError):
        PostmarkBackend().send_messages([EmailMessage("Hi", "B", FROM, ["to@example.com"])])


def test_our_classes_do_not_derive_from_anymail_s():
    """Deliberate (docs/migrating.rst): ``except anymail.exceptions.X`` must become the compat import."""
    anymail_exceptions = pytest.importorskip("anymail.exceptions")
    for name, ours in NAMES:
        assert not issubclass(ours, getattr(anymail_exceptions, name))


def test_compat_imports_nothing_of_anymail():
    import ast
    from pathlib import Path

    tree = ast.parse(Path(compat.__file__).read_text())
    imported = [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    imported += [
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("anymail")]
