#!/usr/bin/env python3
"""Bring up the demo site (example/) on SQLite with a local Postmark sandbox, print the login, serve it.

    python3 scripts/demo.py              # http://127.0.0.1:8000/admin/
    python3 scripts/demo.py --port 8100

DATABASE_URL switches the demo to another database. Ctrl-C stops it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _bootstrap import ensure_venv, run


def main() -> int:
    # With the wagtail extra, the demo serves both admins: Django's at /admin/, Wagtail's at /cms/.
    python = ensure_venv(f"demo-py{sys.version_info.major}.{sys.version_info.minor}", ["-e.[wagtail]"])
    try:
        return run(python, "example/manage.py", "rundemo", *sys.argv[1:])
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
