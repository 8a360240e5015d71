"""Without Wagtail installed, every postmark_admin module imports without importing Wagtail."""

from __future__ import annotations

import importlib.util
import os
import pkgutil
import subprocess
import sys

import pytest

import postmark_admin
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("wagtail") is not None,
    reason="Wagtail is installed: this checks the install without the [wagtail] extra",
)

#: Only these modules may import Wagtail.
WAGTAIL_MODULES = ("postmark_admin.wagtail_hooks", "postmark_admin.wagtail")


def all_modules() -> list[str]:
    names = [
        info.name
        for info in pkgutil.walk_packages(postmark_admin.__path__, prefix="postmark_admin.")
        if not info.name.startswith(WAGTAIL_MODULES)
        and ".migrations." not in info.name
        and not info.name.endswith(".__main__")
    ]
    return sorted(names)


def test_the_module_list_is_real():
    names = all_modules()
    assert {
        "postmark_admin.admin",
        "postmark_admin.screens.settings_page",
        "postmark_admin.sandbox.core",
    } <= set(names)
    assert not any(name.startswith(WAGTAIL_MODULES) for name in names)


def test_no_module_imports_wagtail():
    # A fresh interpreter, so that nothing imported by other tests can hide an import.
    script = (
        "import django, sys\n"
        "django.setup()\n"
        f"for name in {all_modules()!r}:\n"
        "    __import__(name)\n"
        "print(sorted(m for m in sys.modules if m == 'wagtail' or m.startswith('wagtail.')))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def test_wagtail_hooks_needs_wagtail():
    with pytest.raises(ModuleNotFoundError, match="wagtail"):
        importlib.import_module("postmark_admin.wagtail_hooks")
