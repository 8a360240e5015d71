"""The supported Pythons and Djangos are the same in the classifiers, the docs, the README, the scripts and CI."""

from __future__ import annotations

import re
import sys
import tomllib

import pytest

from tests.conftest import ROOT

PYTHONS = ["3.11", "3.12", "3.13"]
DJANGOS = ["5.2", "6.0", "6.1"]


def test_classifiers_name_exactly_the_supported_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    classifiers = project["classifiers"]
    pythons = [
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    ]
    djangos = [c.rsplit(" :: ", 1)[1] for c in classifiers if c.startswith("Framework :: Django :: ")]
    assert pythons == PYTHONS
    assert djangos == DJANGOS
    assert project["requires-python"] == f">={PYTHONS[0]}"


def test_the_quickstart_and_the_readme_name_them():
    quickstart = (ROOT / "docs" / "quickstart.rst").read_text()
    assert "Supported: Python 3.11, 3.12 and 3.13; Django 5.2 LTS, 6.0 and 6.1" in quickstart
    readme = (ROOT / "README.md").read_text()
    assert "Python 3.11-3.13, Django 5.2 LTS, 6.0 or 6.1" in readme
    assert "Python 3.11, 3.12 or 3.13" in readme and "`--django 5.2`, `6.0` or `6.1`" in readme


def test_the_scripts_pin_each_django_series():
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        from _bootstrap import DJANGO_SERIES
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    assert set(DJANGOS) <= set(DJANGO_SERIES)


def test_ci_tests_every_python_and_every_django():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip(".ci/run is not shipped in the sdist")
    jobs = re.findall(
        r'^job "tests: Python (3\.\d+), Django (\d\.\d), (SQLite|PostgreSQL)', ci.read_text(), re.M
    )
    assert {python for python, _, _ in jobs} == set(PYTHONS)
    assert {django for _, django, _ in jobs} == set(DJANGOS)
    assert sum(database == "PostgreSQL" for _, _, database in jobs) >= 2
