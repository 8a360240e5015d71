"""Settings of the demo site. Not for production: DEBUG is on and the secret key is fixed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import django
import environ

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="demo-only-secret-key-change-me-0123456789abcdefghijkl")
DEBUG = env.bool("DJANGO_DEBUG", default=True)
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "solo",
    "postmark_admin",
    "example",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "example.urls"
WSGI_APPLICATION = "example.wsgi.application"

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

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# The demo runs one process, so a local cache is enough; production sites use a shared one.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
SILENCED_SYSTEM_CHECKS = ["postmark_admin.W001"]

if django.VERSION >= (6, 1):
    MAILERS = {"default": {"BACKEND": "postmark_admin.backends.PostmarkBackend"}}
else:
    EMAIL_BACKEND = "postmark_admin.backends.PostmarkBackend"
# The deliverability desk's sent-message log: on by default (docs/desk.rst); said here for the demo's readers.
POSTMARK_LOG_MESSAGES = True
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Demo <demo@example.com>")

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
USE_I18N = True
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Wagtail's admin at /cms/ beside Django's at /admin/, only when Wagtail is installed
# (pip install "django-postmark-admin[wagtail]"): the demo runs without it too.
WAGTAIL_INSTALLED = importlib.util.find_spec("wagtail") is not None
if WAGTAIL_INSTALLED:
    INSTALLED_APPS += [
        "wagtail.users",
        "wagtail.documents",
        "wagtail.images",
        "wagtail.admin",
        "wagtail",
        "modelcluster",
        "taggit",
    ]
    WAGTAIL_SITE_NAME = "django-postmark-admin demo"
    WAGTAILADMIN_BASE_URL = "http://127.0.0.1:8000"
