"""Sphinx configuration for django-postmark-admin's documentation."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

project = "django-postmark-admin"
author = "django-postmark-admin contributors"
copyright = "2026, django-postmark-admin contributors"
extensions = ["sphinx.ext.autodoc", "sphinx.ext.viewcode", "myst_parser"]
source_suffix = {".rst": "restructuredtext"}
suppress_warnings = ["myst.header"]
templates_path: list[str] = []
exclude_patterns = ["_build"]
html_theme = "furo"
html_title = "django-postmark-admin"
autodoc_member_order = "bysource"
nitpicky = True

# Every reference must resolve (-n with -W). Our own objects are all documented (docs/api.rst); the
# Python, Django, pytest and requests objects the signatures name cannot be, since intersphinx needs the
# network to fetch their inventories (the build runs offline, and no objects.inv is installed). Only
# those foreign names are ignored, by their module prefix.
nitpick_ignore_regex = [
    (r"py:.*", r"(collections\.abc|typing|email|enum|datetime|pathlib|ssl|http|socket|threading)\..*"),
    (r"py:.*", r"(django|pytest|requests|solo|_pytest)(\..*)?"),
]
# Names written without their module in type hints (imported under TYPE_CHECKING, or Django's).
nitpick_ignore = [
    ("py:class", "EmailMessage"),
    # A dataclass field's postponed annotation ("dict[str, RecipientStatus]") reaches Sphinx as one
    # string, which it splits at the comma: the first half names no object.
    ("py:class", "dict[str"),
]
