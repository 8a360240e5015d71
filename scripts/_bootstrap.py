"""Make (or reuse) a virtualenv under .venv/ with this project installed.

Only the standard library is used here: these scripts run on a machine that has nothing but Python.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: The Django series the scripts can pin (``--django``): the supported ones, and "6" for the newest 6.x.
DJANGO_SERIES = {
    "5.2": "django>=5.2,<5.3",
    "6": "django>=6.0,<7",
    "6.0": "django>=6.0,<6.1",
    "6.1": "django>=6.1,<6.2",
}


def _say(message: str) -> None:
    print(f"==> {message}", flush=True)


def venv_python(venv_dir: Path) -> Path:
    return venv_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def ensure_venv(name: str, requirements: list[str]) -> Path:
    """A virtualenv at .venv/<name> with ``requirements`` installed; reinstalls when they or pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this script may be started by an older python3
        sys.exit(f"django-postmark-admin needs Python 3.11 or newer; this is {sys.version.split()[0]}.")
    venv_dir = ROOT / ".venv" / name
    python = venv_python(venv_dir)
    if not python.exists():
        _say(f"creating the virtualenv {venv_dir.relative_to(ROOT)}")
        venv.EnvBuilder(with_pip=True, clear=True).create(venv_dir)
    stamp_file = venv_dir / ".installed"
    digest = hashlib.sha256()
    digest.update((ROOT / "pyproject.toml").read_bytes())
    digest.update("\n".join(requirements).encode())
    stamp = digest.hexdigest()
    if not stamp_file.exists() or stamp_file.read_text() != stamp:
        _say("installing: " + " ".join(requirements))
        pip = [str(python), "-m", "pip", "--disable-pip-version-check"]
        subprocess.run([*pip, "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([*pip, "install", "--quiet", *requirements], check=True, cwd=ROOT)
        stamp_file.write_text(stamp)
    return python


def run(python: Path, *args: str, env: dict[str, str] | None = None) -> int:
    """Run ``python args...`` from the project root and return its exit code."""
    return subprocess.call([str(python), *args], cwd=ROOT, env={**os.environ, **(env or {})})
