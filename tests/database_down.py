"""A real database that cannot be reached, for the tests of a settings row that cannot be read.

Nothing is mocked: the connection settings point at a loopback port nothing listens on (PostgreSQL)
or at a directory, which SQLite cannot open, and the connection is closed so that the next query
connects there and fails as a real outage does.

* :func:`default_database_down`: the whole default database is unreachable (for a
  ``django_db(transaction=True)`` test: the test's own transaction cannot survive a closed connection).
* :func:`settings_database_down`: only the settings row's database is unreachable (a database router
  sends it to an alias of its own), so the admin's sessions, users and events still work.
* :func:`settings_database_without_table`: the settings row's database answers but has no table yet,
  as before ``migrate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import load_backend
from django.test import override_settings

from tests.conftest import free_port

#: The alias the settings row is routed to by :func:`settings_database_down`.
ALIAS = "postmark_settings_row"


def unreachable(settings_dict: dict[str, Any], directory: Path) -> dict[str, Any]:
    """A copy of ``settings_dict`` that cannot connect: SQLite on ``directory``, others on a closed port."""
    down = dict(settings_dict)
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        down["NAME"] = str(directory)
    else:
        down["HOST"] = "127.0.0.1"
        down["PORT"] = str(free_port())
    return down


@contextmanager
def default_database_down(directory: Path) -> Iterator[None]:
    """The default database unreachable until the block ends; then it is connected again."""
    connection = connections[DEFAULT_DB_ALIAS]
    assert not connection.in_atomic_block, "use django_db(transaction=True): a transaction cannot survive"
    saved = dict(connection.settings_dict)
    connection.close()
    connection.settings_dict.update(unreachable(saved, directory))
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(saved)


class SettingsRowRouter:
    """The settings row on :data:`ALIAS`, everything else where it was."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        return ALIAS if model._meta.label == "postmark_admin.PostmarkSettings" else None

    db_for_write = db_for_read


@contextmanager
def _settings_row_on(settings_dict: dict[str, Any]) -> Iterator[None]:
    # A connection made here, not declared in DATABASES: Django's test cases allow such dynamically
    # created connections, and pytest-django creates no test database for it.
    connections[ALIAS] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, ALIAS)
    try:
        with override_settings(DATABASE_ROUTERS=[f"{__name__}.SettingsRowRouter"]):
            yield
    finally:
        connections[ALIAS].close()
        del connections[ALIAS]


@contextmanager
def settings_database_down(directory: Path) -> Iterator[None]:
    """The settings row's database unreachable; every other model on the default database as before."""
    with _settings_row_on(unreachable(connections[DEFAULT_DB_ALIAS].settings_dict, directory)):
        yield


@contextmanager
def settings_database_without_table(directory: Path) -> Iterator[None]:
    """The settings row's database reachable but without its table, as before ``migrate``.

    SQLite: a new empty file. PostgreSQL: the test database seen through a search_path naming only a
    schema that does not exist, so the table is undefined (SQLSTATE 42P01) there.
    """
    settings_dict = dict(connections[DEFAULT_DB_ALIAS].settings_dict)
    if settings_dict["ENGINE"] == "django.db.backends.sqlite3":
        settings_dict["NAME"] = str(directory / "not-migrated.sqlite3")
    else:
        options = dict(settings_dict.get("OPTIONS") or {})
        options["options"] = "-c search_path=postmark_admin_not_migrated"
        settings_dict["OPTIONS"] = options
    with _settings_row_on(settings_dict):
        yield
