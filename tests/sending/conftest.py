from __future__ import annotations

import pytest

from postmark_admin.sending import session


@pytest.fixture(autouse=True)
def _fresh_session():
    """Every sending test starts with a fresh pool: an earlier test's connections to its sandbox must not
    be counted (or reused) here."""
    session.reset_session()
    yield
    session.reset_session()
