"""``inv up/status/logs/down`` as a user runs them, against real podman."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from phoenix_compose.runtime.locks import env_lock
from phoenix_compose.statedir import StateDir

from support import inv

pytestmark = pytest.mark.podman


@pytest.fixture
def busybox_stack(inv_stack, podman_project, busybox_image) -> Path:
    return inv_stack(f"""
            services:
              db:
                image: {busybox_image}
                command: ["sh", "-c", "echo db booting; sleep 1; touch /tmp/ready; exec sleep 1d"]
                healthcheck: {{test: ["CMD", "test", "-f", "/tmp/ready"], interval: 30s}}
                volumes: [data:/data]
              app:
                image: {busybox_image}
                command: ["sleep", "1d"]
                depends_on: {{db: {{condition: service_healthy}}}}
            volumes:
              data: {{}}
            """, {"envs/prod.env": f"COMPOSE_PROJECT_NAME={podman_project}\n"})


def test_up_status_logs_down(busybox_stack: Path, podman_project: str) -> None:
    up = inv(busybox_stack, "up", "--env", "t")
    assert up.returncode == 0, up.stderr
    lines = [line.split() for line in up.stdout.splitlines()]
    assert lines[0] == ["t:", "config", "valid", "->", ".phoenix/t/compose.yaml", "(podman",
                        "rootless)" if os.geteuid() else "rootful)"]
    assert "runs rootful" not in up.stderr  # a warning for production envs only
    assert lines[1:4] == [["db", "starting"], ["db", "healthy", lines[2][2], "s"],
                          ["app", "running"]]
    assert lines[4][:2] == ["SERVICE", "STATUS"]

    status = inv(busybox_stack, "status", "--env", "t", "--json")
    rows = {r["service"]: r for r in json.loads(status.stdout)}
    assert rows["db"]["status"] == "healthy" and rows["app"]["status"] == "running"
    assert rows["db"]["container"] == f"{podman_project}_db_1"

    logs = inv(busybox_stack, "logs", "db", "--env", "t", "--lines", "1")
    assert logs.stdout == "db | db booting\n"  # prefixed, as docker compose logs does

    down = inv(busybox_stack, "down", "--env", "t")
    assert down.stdout.strip() == "t: down (volumes kept)"
    after = json.loads(inv(busybox_stack, "status", "--env", "t", "--json").stdout)
    assert {r["status"] for r in after} == {"missing"}
    audit = [json.loads(line)["action"] for line in
             (busybox_stack / ".phoenix/t/audit.jsonl").read_text().splitlines()]
    assert audit == ["up", "down"]


def test_a_failing_up_exits_non_zero_without_a_traceback(busybox_stack: Path) -> None:
    compose = busybox_stack / "compose/app.yaml"
    compose.write_text(compose.read_text().replace("sleep 1; touch", "sleep 1000; touch"))
    result = inv(busybox_stack, "up", "--env", "t", "--timeout", "2")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: service 'db' failed: not ready after 2 s" in result.stderr
    assert "db booting" in result.stderr
    assert "left running: db" in result.stderr


def test_an_invalid_config_is_reported_located_and_starts_nothing(busybox_stack: Path) -> None:
    compose = busybox_stack / "compose/app.yaml"
    compose.write_text(compose.read_text().replace("service_healthy", "service_happy"))
    result = inv(busybox_stack, "up", "--env", "t")
    assert result.returncode == 1
    assert result.stderr.startswith("compose/app.yaml:10:34: error: services.app.depends_on")
    status = json.loads(inv(busybox_stack, "status", "--env", "t", "--json").stdout or "[]")
    assert all(r["status"] == "missing" for r in status)


def test_a_busy_environment_fails_clearly(busybox_stack: Path) -> None:
    with env_lock(StateDir(busybox_stack, "t").lock_file, "down"):
        result = inv(busybox_stack, "up", "--env", "t",
                     env={"INVOKE_PHOENIX_LOCK_WAIT": "0.5"})
    assert result.returncode == 1
    assert "environment 't' is busy: `inv down` (pid" in result.stderr


def test_production_volumes_are_not_deleted_without_yes(busybox_stack: Path) -> None:
    result = inv(busybox_stack, "down", "--env", "prod", "--volumes")
    assert result.returncode == 1
    assert "refusing to delete the volumes of production environment 'prod'" in result.stderr
    assert "--yes" in result.stderr


def test_logs_follow_streams_until_interrupted(busybox_stack: Path) -> None:
    import signal
    import subprocess
    import sys

    assert inv(busybox_stack, "up", "--env", "t").returncode == 0
    # as from a terminal: a suite started in the background (``cmd &`` in a script) runs
    # with SIGINT ignored, which a child inherits through exec, unlike a handler
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        proc = subprocess.Popen([sys.executable, "-m", "invoke", "logs", "db", "--env", "t",
                                 "--follow"], cwd=busybox_stack, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        assert proc.stdout.readline() == "db | db booting\n"  # following now
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) in (0, 130)
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
