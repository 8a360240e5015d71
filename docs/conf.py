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
nitpicky = False
