"""``./dev``: its help, and a fast tier that needs neither root nor podman."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from support import REPO


def dev(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO / "dev"), *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)


def test_help_exits_0_and_prints_only_the_usage() -> None:
    for args in (("help",), ("--help",), ("-h",)):
        result = dev(*args)
        assert result.returncode == 0
        assert result.stdout.startswith("phoenix-compose developer entry point")
        assert "set -euo" not in result.stdout and "./dev test -m" in result.stdout
    assert dev("frobnicate").returncode == 2


@pytest.mark.slow  # it runs pytest itself
def test_the_fast_tier_installs_nothing_of_the_system(tmp_path: Path) -> None:
    shim = tmp_path / "bin"
    shim.mkdir()
    marker = tmp_path / "system-touched"
    for tool in ("apt-get", "podman", "sudo"):
        (shim / tool).write_text(f"#!/bin/sh\ntouch {marker}\nexit 99\n")
        (shim / tool).chmod(0o755)
    path = os.pathsep.join([str(shim), os.environ["PATH"]])  # the shims answer first
    result = dev("test", "-m", "not podman and not slow", "-q", "--collect-only",
                 "tests/test_statedir.py", env={"PATH": path})
    assert result.returncode == 0, result.stdout + result.stderr
    assert not marker.exists()
    assert "2 tests collected" in result.stdout
