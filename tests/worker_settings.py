"""Settings for the task workers that tests/workers/ starts: the test run's settings, on its test database.

The test passes the test database's name (``POSTMARK_WORKER_DATABASE``), the sandbox's token and URL
(``POSTMARK_SERVER_TOKEN``, ``POSTMARK_API_URL``: the environment layer of the configuration) and the
queue name (``POSTMARK_TEST_TASK_QUEUE``) in the workers' environment.
"""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["POSTMARK_WORKER_DATABASE"]
DATABASES["default"].pop("TEST", None)
# The client's own retries off, so an injected 503 reaches the task-level retry at once.
POSTMARK_MAX_RETRIES = int(os.environ.get("POSTMARK_WORKER_MAX_RETRIES", "3"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"postmark_admin": {"handlers": ["console"], "level": "INFO"}},
}
