"""What the docs must keep true that the Sphinx build alone does not check."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

#: The public faces the API reference documents (the others, apps/urls/wagtail_hooks, are for Django).
DOCUMENTED_FACES = [
    "postmark_admin.backends",
    "postmark_admin.message",
    "postmark_admin.exceptions",
    "postmark_admin.signals",
    "postmark_admin.testing",
    "postmark_admin.models",
    "postmark_admin.checks",
    "postmark_admin.sandbox",
    "postmark_admin.sandbox.pytest_plugin",
]

#: Paths that exist on the machine the docs were written on, and on no reader's.
MACHINE_LOCAL = re.compile(r"/work/|venv311|/tmp/|/home/|/root/|/Users/")


def user_facing_files():
    yield ROOT / "README.md"
    yield from sorted((ROOT / "docs").glob("*.rst"))
    yield from sorted((ROOT / "bench").glob("*.py"))
    yield from sorted((ROOT / "scripts").glob("*.py"))


def test_the_api_reference_documents_every_public_face():
    api = (ROOT / "docs" / "api.rst").read_text()
    declared = set(re.findall(r"^\.\. (?:automodule|py:module):: (\S+)", api, flags=re.M))
    assert set(DOCUMENTED_FACES) <= declared, sorted(set(DOCUMENTED_FACES) - declared)


def test_sphinx_is_nitpicky():
    assert re.search(r"^nitpicky = True$", (ROOT / "docs" / "conf.py").read_text(), flags=re.M)


@pytest.mark.parametrize("path", list(user_facing_files()), ids=lambda path: str(path.relative_to(ROOT)))
def test_no_machine_local_paths(path):
    found = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if MACHINE_LOCAL.search(line)
    ]
    assert not found, found
