"""A folder holding only ``compose.yaml`` and ``.env``, driven by ``phoenix`` as a docker
compose user drives ``docker compose``: plan, up, status, logs, the watcher, down."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from phoenix_compose.runtime import commands

from support.watching import Watcher

pytestmark = pytest.mark.podman

COMPOSE = """services:
  web:
    image: ${IMAGE}
    command:
      - sh
      - -c
      - 'echo ok > /www/index.html; echo "serving $$GREETING"; exec httpd -f -p 8080 -h /www'
    environment: {GREETING: "${GREETING}"}
    stop_grace_period: 1s
    healthcheck:
      test: [CMD, wget, -q, -O-, http://127.0.0.1:8080/]
      interval: 1s
    x-phoenix-restart: {backoff_initial_s: 0.5}
"""


def phoenix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phoenix_compose.cli.program", *args],
                          cwd=root, capture_output=True, text=True, timeout=180)


def test_a_compose_yaml_and_dotenv_folder_runs_as_docker_compose_users_expect(
        tmp_path, podman_project, busybox_image) -> None:
    root = tmp_path / podman_project  # the project is named after its folder
    root.mkdir()
    (root / "compose.yaml").write_text(COMPOSE)
    (root / ".env").write_text(f"IMAGE={busybox_image}\nGREETING=from-dotenv\n")
    planned = phoenix(root, "plan")
    assert planned.returncode == 2, planned.stderr  # 2: there are changes to make
    assert planned.stdout.startswith(f"default: 1 to create (project {podman_project})")
    up = phoenix(root, "up")
    assert up.returncode == 0, up.stderr
    container = f"{podman_project}_web_1"
    rows = json.loads(phoenix(root, "status", "--json").stdout)
    assert [(r["service"], r["status"]) for r in rows] == [("web", "healthy")]
    assert "serving from-dotenv" in phoenix(root, "logs").stdout
    again = phoenix(root, "plan")
    assert again.returncode == 0 and "create" not in again.stdout.lower(), again.stdout
    watcher = Watcher(root, env="default", interval=0.5)
    try:
        watcher.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "healthy", 20)
        pid = json.loads(commands.run(("podman", "inspect", "--", container)).stdout)[0][
            "State"]["Pid"]
        os.kill(pid, signal.SIGKILL)  # a crash: the watcher of this folder heals it
        watcher.wait_for(lambda e: e["type"] == "restart_succeeded" and e["service"] == "web",
                         30)
    finally:
        watcher.close()
    down = phoenix(root, "down")
    assert down.returncode == 0, down.stderr
    left = commands.run(("podman", "ps", "-a", "--format", "{{.Names}}", "--filter",
                       f"label=com.docker.compose.project={podman_project}")).stdout.split()
    assert left == []
    assert not (root / "compose").exists() and not (root / "envs").exists()  # nothing added
    assert sorted(p.name for p in root.iterdir()) == [".env", ".phoenix", "compose.yaml"]
