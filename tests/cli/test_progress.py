"""Live progress with rich on a terminal; plain, greppable lines off one."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from support import inv

pytestmark = pytest.mark.podman


@pytest.fixture
def stack(inv_stack, busybox_image) -> Path:
    return inv_stack(f"""
            services:
              db:
                image: {busybox_image}
                command: ["sh", "-c", "sleep 1; touch /tmp/ok; exec sleep 1d"]
                healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ok"], interval: 30s}}
                stop_grace_period: 1s
            """)


def on_a_terminal(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "invoke", *args], cwd=root,
                            stdin=follower, stdout=follower, stderr=follower,
                            env={**os.environ, "COLUMNS": "100", **(env or {})})
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the program ended
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=60)
    os.close(leader)
    assert proc.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_a_terminal_gets_live_rows(stack: Path) -> None:
    text = on_a_terminal(stack, "up", "--env", "t")
    assert "✓" in text and "db" in text and "healthy" in text
    assert "  db                   healthy" not in text  # not the plain line


def test_no_color_keeps_the_plain_lines_on_a_terminal(stack: Path) -> None:
    text = on_a_terminal(stack, "up", "--env", "t", env={"NO_COLOR": "1"})
    assert "✓" not in text and "db                   starting" in text


def test_off_a_terminal_the_lines_stay_plain(stack: Path) -> None:
    result = inv(stack, "up", "--env", "t")
    assert result.returncode == 0
    assert "  db                   starting" in result.stdout and "✓" not in result.stdout
