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
    assert_network_isolation(podman_project)
    down = inv(phoenix_stack, "down", "--volumes", env=env)
    assert down.returncode == 0, down.stderr


PROBE = ("import socket, sys\n"
         "try:\n    socket.create_connection(('revenue-db', 5432), 3).close()\n"
         "except OSError as exc:\n    sys.exit(f'unreachable: {exc}')\n")


def assert_network_isolation(project: str) -> None:
    """revenue-db sits on the internal backend network: phoenix-core (frontend and backend)
    reaches it, nca-toolkit (frontend only) cannot even resolve it."""
    from phoenix_compose.runtime import argv, podman

    core = podman.run(argv.exec_(f"{project}_phoenix-core_1", ["python3", "-c", PROBE]),
                      ok_codes=(0, 1))
    assert core.code == 0, core.stderr
    toolkit = podman.run(argv.exec_(f"{project}_nca-toolkit_1", ["python3", "-c", PROBE]),
                         ok_codes=(0, 1))
    assert toolkit.code == 1 and "unreachable:" in toolkit.stderr
