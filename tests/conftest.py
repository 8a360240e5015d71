from __future__ import annotations

import pytest

from postmark_admin import settings_cache


@pytest.fixture(autouse=True)
def _fresh_settings_cache():
    """Every test starts with no cached copy of the settings row."""
    settings_cache.clear()
    yield
    settings_cache.clear()


@pytest.fixture
def clean_postmark_env(monkeypatch):
    """Remove every POSTMARK_* / ANYMAIL_* variable so the machine's environment cannot leak in."""
    import os

    for name in list(os.environ):
        if name.startswith(("POSTMARK_", "ANYMAIL_")):
            monkeypatch.delenv(name)
    return monkeypatch
