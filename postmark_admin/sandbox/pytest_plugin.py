"""pytest plugin (entry point ``pytest11``): the ``postmark_sandbox`` fixture.

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
    """A running :class:`~postmark_admin.sandbox.Sandbox`, with postmark_admin pointed at it.

    The effective configuration's ``server_token`` and ``api_url`` are overridden for the test (as
    ``override_postmark_settings`` does), so the site's code sends to the sandbox. Give the sandbox
    options with ``@pytest.mark.postmark_sandbox(https=True, ...)``; with ``https=True`` the
    ``REQUESTS_CA_BUNDLE`` environment variable points at the sandbox's CA during the test.
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
