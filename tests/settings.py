"""Settings for the test suite. DATABASE_URL switches it from SQLite to PostgreSQL."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path
from typing import Any

import django
import environ

env = environ.Env()
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "tests-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
DEBUG = False
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

DATABASES = {
    "default": env.db(
        "DATABASE_URL", default=f"sqlite:///{Path(tempfile.gettempdir()) / 'postmark-admin-tests.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that tests can start other processes on the same test database.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"postmark-admin-test-{os.getpid()}.sqlite3")
    }

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "solo",
    "postmark_admin",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The browser's Accept-Language picks the language, as on a real site (the German browser tests);
    # the test client sends none, so the other tests see LANGUAGE_CODE's English.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]

ROOT_URLCONF = "tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
STATIC_URL = "/static/"
DEFAULT_FROM_EMAIL = "Tests <tests@example.com>"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
else:
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SILENCED_SYSTEM_CHECKS = ["postmark_admin.W001"]

# The Wagtail admin (issue 6): only when Wagtail is installed, so the suite also runs without it.
if importlib.util.find_spec("wagtail") is not None:
    INSTALLED_APPS += [
        "wagtail.users",
        "wagtail.documents",
        "wagtail.images",
        "wagtail.admin",
        "wagtail",
        "modelcluster",
        "taggit",
    ]
    ROOT_URLCONF = "tests.urls_wagtail"
    WAGTAIL_SITE_NAME = "django-postmark-admin tests"
    WAGTAILADMIN_BASE_URL = "http://testserver"

# Queued sending (issue 15): Django's Tasks framework (django.tasks on Django 6, the django-tasks
# backport on 5.2) and the worker backends of the [tasks] extra, when installed. "default" runs
# tasks in the calling process; "rq" and "db" are drained by real worker processes in
# tests/workers/. The RQ queue's name is this run's own (the workers inherit it), so runs sharing a
# Redis never take each other's jobs.
_TASKS_PACKAGE = next(
    (name for name in ("django.tasks", "django_tasks") if importlib.util.find_spec(name) is not None), None
)
TEST_REDIS_URL = env("TEST_REDIS_URL", default="redis://127.0.0.1:6379/0")
TEST_TASK_QUEUE = os.environ.setdefault("POSTMARK_TEST_TASK_QUEUE", f"postmark-test-{os.getpid()}")
if _TASKS_PACKAGE is not None:
    TASKS: dict[str, dict[str, Any]] = {
        "default": {"BACKEND": f"{_TASKS_PACKAGE}.backends.immediate.ImmediateBackend"}
    }
    if importlib.util.find_spec("django_tasks_rq") is not None:
        INSTALLED_APPS += ["django_rq"]
        # django-tasks-rq reads results through the "default" queue's connection.
        RQ_QUEUES = {name: {"URL": TEST_REDIS_URL} for name in ("default", TEST_TASK_QUEUE)}
        RQ_QUEUES["postmark-test-unreachable"] = {"URL": "redis://127.0.0.1:9/0"}  # nothing listens on port 9
        TASKS["rq"] = {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [TEST_TASK_QUEUE]}
    if importlib.util.find_spec("django_tasks_db") is not None:
        INSTALLED_APPS += ["django_tasks_db"]
        TASKS["db"] = {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": [TEST_TASK_QUEUE]}
