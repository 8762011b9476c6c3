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


def test_f_p_and_positional_services_on_each_verb(tmp_path, podman_project,
                                                  busybox_image) -> None:
    """``phoenix -f A -f B -p NAME VERB SERVICE``, as ``docker compose`` takes them, from
    another folder than the files', on every verb of item 5 that names services."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "base.yml").write_text(f"services:\n  db: {{image: '{busybox_image}', command: "
                                  "[sleep, 1d], stop_grace_period: 1s}\n")
    (app / "more.yml").write_text(
        f"services:\n  web:\n    image: '{busybox_image}'\n    command: [sh, -c, "
        "'echo web up; exec httpd -f -p 8080']\n    ports: ['127.0.0.1::8080']\n"
        "    stop_grace_period: 1s\n")
    flags = ("-f", "app/base.yml", "-f", "app/more.yml", "-p", podman_project)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return phoenix(tmp_path, *flags, *args)

    def states() -> dict[str, str]:
        shown = run("ps", "--all", "--json")
        assert shown.returncode == 0, shown.stderr
        return {r["service"]: r["status"] for r in json.loads(shown.stdout)}

    try:
        up = run("up", "web")
        assert up.returncode == 0, up.stderr
        assert states() == {"db": "missing", "web": "running"}  # only the one named
        assert run("logs", "web").stdout == "web | web up\n"
        said = run("exec", "web", "--", "sh", "-c", "echo in $0")
        assert (said.returncode, said.stdout) == (0, "in sh\n")
        assert run("port", "web", "8080").stdout.startswith("127.0.0.1:")
        assert run("stop", "web").returncode == 0 and states()["web"] == "exited"
        assert run("start", "web").returncode == 0 and states()["web"] == "running"
        assert run("restart", "web").returncode == 0 and states()["web"] == "running"
        assert run("up", "db").returncode == 0 and states() == {"db": "running",
                                                                "web": "running"}
        assert run("stop", "db").returncode == 0
        removed = run("rm", "db")
        assert removed.returncode == 0 and "removed db" in removed.stdout
        assert states() == {"db": "missing", "web": "running"}
    finally:
        down = run("down")
    assert down.returncode == 0, down.stderr
    left = commands.run(("podman", "ps", "-a", "--format", "{{.Names}}", "--filter",
                         f"label=com.docker.compose.project={podman_project}")).stdout.split()
    assert left == []
