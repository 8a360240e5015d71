"""Django settings shared by bench/queued.py and the RQ workers it starts (``DJANGO_SETTINGS_MODULE``).

The sandbox's URL and token reach the workers through the environment layer of the configuration
(``POSTMARK_API_URL``, ``POSTMARK_SERVER_TOKEN``); the queue's name is the run's own
(``POSTMARK_BENCH_QUEUE``), so a run never takes another run's jobs.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from pathlib import Path

SECRET_KEY = "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
INSTALLED_APPS = ["django.contrib.contenttypes", "solo", "postmark_admin", "django_rq"]
# A file: the workers are other processes and read the (empty) settings row from it.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get(
            "POSTMARK_BENCH_DATABASE", str(Path(tempfile.gettempdir()) / "pma-bench.sqlite3")
        ),
    }
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
DEFAULT_FROM_EMAIL = "bench@example.com"
USE_TZ = True
LOGGING_CONFIG = None
SILENCED_SYSTEM_CHECKS = ["postmark_admin.W001"]

QUEUE = os.environ.get("POSTMARK_BENCH_QUEUE", "postmark-bench")
REDIS_URL = os.environ.get("POSTMARK_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
RQ_QUEUES = {name: {"URL": REDIS_URL} for name in ("default", QUEUE)}
_TASKS = "django.tasks" if importlib.util.find_spec("django.tasks") else "django_tasks"
TASKS = {
    "default": {"BACKEND": f"{_TASKS}.backends.immediate.ImmediateBackend"},
    "rq": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": [QUEUE]},
}
POSTMARK_TASK_BACKEND = "rq"
POSTMARK_TASK_QUEUE = QUEUE
