"""pytest plugin (entry point ``pytest11``): the ``postmark_sandbox`` and ``postmark_outbox`` fixtures.

Registered by installing django-postmark-admin; importing it does not import Django.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from .core import Sandbox


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "postmark_sandbox(**options): options for the postmark_sandbox fixture's Sandbox "
        "(https=True, latency=0.05, inactive=[...], webhook_url=..., ...)",
    )


@pytest.fixture
def postmark_sandbox(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """A running :class:`~postmark_admin.sandbox.Sandbox`, with postmark_admin's configuration pointed at it.

    Django's mail is not routed to it: the test runner's in-memory backend stays in place (use
    ``postmark_outbox`` for that). The effective configuration's ``server_token`` and ``api_url`` are
    overridden for the test (as ``override_postmark_settings`` does), so a PostmarkBackend or
    PostmarkClient that the test builds talks to the sandbox. Give the sandbox options with
    ``@pytest.mark.postmark_sandbox(https=True, ...)``; with ``https=True`` the ``REQUESTS_CA_BUNDLE``
    environment variable points at the sandbox's CA during the test.
    """
    from postmark_admin.testing import override_postmark_settings

    from .core import Sandbox

    marker = request.node.get_closest_marker("postmark_sandbox")
    options = dict(marker.kwargs) if marker else {}
    with Sandbox(**options) as sandbox:
        if sandbox.https:
            # requests (with trust_env) verifies against REQUESTS_CA_BUNDLE: trust the sandbox's CA. The
            # test's own monkeypatch is used so that its setenv/delenv calls are undone in the right order.
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_path))
        with override_postmark_settings(server_token=sandbox.token, api_url=sandbox.url):
            yield sandbox


@pytest.fixture
def postmark_outbox(postmark_sandbox: Sandbox) -> Iterator[Sandbox]:
    """The ``postmark_sandbox``, with Django's mail sent through PostmarkBackend to it.

    Django's test setup (pytest-django's too) swaps the in-memory ``locmem`` backend in for every test;
    for this test, the ``"default"`` mailer (Django 6.1 with ``MAILERS``) or ``EMAIL_BACKEND`` (otherwise)
    is :class:`~postmark_admin.backends.PostmarkBackend` instead (see
    :class:`~postmark_admin.testing.use_postmark_backend`), so ``send_mail()``, ``EmailMessage.send()``
    and ``mail_admins()`` reach the sandbox, and ``postmark_outbox.messages`` lists what they sent.
    Sandbox options come from the same ``@pytest.mark.postmark_sandbox(...)`` marker.
    """
    from postmark_admin.testing import use_postmark_backend

    with use_postmark_backend():
        yield postmark_sandbox
