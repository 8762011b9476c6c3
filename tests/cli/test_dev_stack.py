"""End to end: the real Phoenix development stack, built offline and brought up healthy."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest

from support import free_port, inv

pytestmark = [pytest.mark.podman, pytest.mark.slow]


# a fault to inject: one failed check (it removes its own marker), then healthy again.  Its
# start period leaves PostgreSQL the time to start on a busy machine (a 2 s budget did not);
# the fault is injected once it is over (podman counts no failure within it).
START_PERIOD_S = 10
FAULT = """services:
  revenue-db:
    healthcheck:
      test:
        - CMD-SHELL
        - >-
          if [ -f /tmp/fail ]; then rm -f /tmp/fail; exit 1; fi;
          pg_isready -h 127.0.0.1 -U phoenix -d revenue
      interval: 2s
      retries: 1
      start_period: 10s
      start_interval: 1s
"""


def test_the_development_stack_comes_up_healthy(phoenix_stack: Path, podman_project: str) -> None:
    (phoenix_stack / "compose" / "90-fault.yaml").write_text(FAULT)
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
    assert_cascade(phoenix_stack, podman_project, env)
    down = inv(phoenix_stack, "down", "--volumes", env=env)
    assert down.returncode == 0, down.stderr


PROBE = ("import socket, sys\n"
         "try:\n    socket.create_connection(('revenue-db', 5432), 3).close()\n"
         "except OSError as exc:\n    sys.exit(f'unreachable: {exc}')\n")


def assert_network_isolation(project: str) -> None:
    """revenue-db sits on the internal backend network: phoenix-core (frontend and backend)
    reaches it, nca-toolkit (frontend only) cannot even resolve it."""
    from phoenix_compose.runtime import argv, commands

    core = commands.run(argv.exec_(f"{project}_phoenix-core_1", ["python3", "-c", PROBE]),
                        ok_codes=(0, 1))
    assert core.code == 0, core.stderr
    toolkit = commands.run(argv.exec_(f"{project}_nca-toolkit_1", ["python3", "-c", PROBE]),
                           ok_codes=(0, 1))
    assert toolkit.code == 1 and "unreachable:" in toolkit.stderr


def assert_cascade(root: Path, project: str, env: dict[str, str]) -> None:
    """The watcher restarts an unhealthy revenue-db, then phoenix-core, then nca-toolkit
    (depends_on restart: true), each after its dependency is healthy; nothing else."""
    import os
    import subprocess
    import sys
    import threading
    import time
    from datetime import datetime, timedelta, timezone

    from phoenix_compose.runtime import argv, commands

    watch = subprocess.Popen([sys.executable, "-m", "invoke", "health.watch", "--env",
                              "development", "--json", "--interval", "2"], cwd=root,
                             env={**os.environ, **env}, stdout=subprocess.PIPE, text=True)
    events: list[dict] = []
    threading.Thread(target=lambda: [events.append(json.loads(line)) for line in watch.stdout
                                     if line.startswith("{")], daemon=True).start()
    try:
        deadline = time.monotonic() + 20
        while not any(e["type"] == "health_changed" for e in events):
            assert time.monotonic() < deadline, events
            time.sleep(0.1)
        started = commands.run(("podman", "inspect", "--format", "{{.State.StartedAt}}", "--",
                              f"{project}_revenue-db_1")).stdout.strip()
        since = datetime.fromisoformat(started[:26].rstrip("Z") + "+00:00")
        while datetime.now(timezone.utc) - since < timedelta(seconds=START_PERIOD_S + 1):
            time.sleep(0.2)  # until the start period is over: then a failure counts
        commands.run(argv.exec_(f"{project}_revenue-db_1", ["touch", "/tmp/fail"], tty=False))
        deadline = time.monotonic() + 120
        while not any(e["type"] == "cascade_finished" for e in events):
            assert time.monotonic() < deadline, [
                (e["type"], e["service"], e.get("to") or e.get("reason") or e.get("error"))
                for e in events if e["type"] != "container_event"]
            time.sleep(0.2)
    finally:
        watch.terminate()
        watch.wait(10)
    finished = next(e for e in events if e["type"] == "cascade_finished")
    assert (finished["service"], finished["restarted"], finished["skipped"]) == (
        "revenue-db", ["phoenix-core", "nca-toolkit"], {})
    assert [e["service"] for e in events if e["type"] == "restart_started"] == [
        "revenue-db", "phoenix-core", "nca-toolkit"]
    status = json.loads(inv(root, "status", "--json", env=env).stdout)
    assert all(r["status"] in ("healthy", "starting") for r in status), status
