"""End to end: the real Phoenix development stack, built offline and brought up healthy."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from support import free_port, inv

pytestmark = [pytest.mark.podman, pytest.mark.slow]


def test_the_development_stack_comes_up_healthy(phoenix_stack: Path, podman_project: str) -> None:
    core, toolkit = free_port(), free_port()
    env = {"COMPOSE_PROJECT_NAME": podman_project, "PHOENIX_CORE_PORT": str(core),
           "NCA_TOOLKIT_PORT": str(toolkit)}
    build = inv(phoenix_stack, "images.build", "--env", "development", env=env)
    assert build.returncode == 0, build.stdout + build.stderr
    up = inv(phoenix_stack, "up", "--env", "development", "--timeout", "180", env=env)
    assert up.returncode == 0, up.stdout + up.stderr
    status = json.loads(inv(phoenix_stack, "status", "--json", env=env).stdout)
    assert {r["service"]: r["status"] for r in status} == {
        "revenue-db": "healthy", "phoenix-core": "healthy", "nca-toolkit": "healthy"}
    with urllib.request.urlopen(f"http://127.0.0.1:{core}/health", timeout=10) as response:
        body = json.loads(response.read())
    assert body["checks"] == {"postgres://revenue-db:5432": "ok"}
    with urllib.request.urlopen(f"http://127.0.0.1:{toolkit}/health", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"
    down = inv(phoenix_stack, "down", "--volumes", env=env)
    assert down.returncode == 0, down.stderr
