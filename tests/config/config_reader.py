"""A second process for the cross-process tests: reads the effective configuration on request.

Started as ``python -m tests.config.config_reader`` by tests/config/test_row_cache.py, with the
parent's test database and cache in PMA_CHILD_SETTINGS (JSON). For each line "read" on stdin it prints
one JSON line: the effective message stream, the last characters of the token and how many SQL queries
the read cost. "quit" ends it.
"""

from __future__ import annotations

import json
import os
import sys


def main() -> None:
    import django
    from django.conf import settings

    import tests.settings as base

    overrides = json.loads(os.environ["PMA_CHILD_SETTINGS"])
    names = {name: getattr(base, name) for name in dir(base) if name.isupper()}
    names.update(overrides)
    settings.configure(**names)
    django.setup()

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from postmark_admin.config.effective import effective_config

    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        with CaptureQueriesContext(connection) as queries:
            config = effective_config()
        reply = {
            "message_stream": config.message_stream,
            "token_tail": config.server_token.reveal()[-4:],
            "queries": len(queries.captured_queries),
        }
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    main()
