"""Item 5's compose vocabulary against real podman, as a user types it: kill, pause and
unpause (honoured by the watcher), up --no-deps --force-recreate --pull --wait, down --rmi,
logs -n, ps -a and positional service names."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands, containers

from support import inv
from support.watching import Watcher, count_ticks

pytestmark = pytest.mark.podman


@pytest.fixture
def stack(inv_stack, busybox_image) -> Path:
    root = inv_stack(f"""
            services:
              db:
                image: {busybox_image}
                command: ["sh", "-c", "echo db ready; exec sleep 1d"]
                stop_grace_period: 1s
              web:
                image: {busybox_image}
                command: ["sh", "-c", "trap 'exit 7' TERM; echo one; echo two;
                                       while :; do sleep 1; done"]
                depends_on: [db]
                stop_grace_period: 1s
            """)
    up = inv(root, "up", "--env", "t")
    assert up.returncode == 0, up.stderr
    return root


def _rows(root: Path, *flags: str) -> dict[str, str]:
    result = inv(root, "ps", "--env", "t", "--json", *flags)
    assert result.returncode == 0, result.stderr
    return {r["service"]: r["state"] for r in json.loads(result.stdout)}


def _ids(project: str) -> dict[str, str]:
    states = containers.project_containers(commands.run, project)
    return {s.service: s.id for s in states.values()}


def test_kill_and_pause_are_left_alone_by_the_watcher(stack: Path, monkeypatch) -> None:
    ticks = count_ticks(monkeypatch)
    watcher = Watcher(stack, "t", ticks=ticks, interval=0.5)
    try:
        ticks.wait(1)
        killed = inv(stack, "kill", "web", "--env", "t")  # SIGKILL: exit 137, like a crash
        assert killed.returncode == 0 and "killed web" in killed.stdout, killed.stderr
        paused = inv(stack, "pause", "db", "--env", "t")
        assert paused.returncode == 0 and "paused db" in paused.stdout, paused.stderr
        ticks.wait(4)  # four looks at them, and no restart
        assert not [e for e in watcher.events if e["type"] == "restart_started"]
        assert _rows(stack) == {"db": "paused"}  # ps: running (or paused) ones only
        assert _rows(stack, "-a") == {"db": "paused", "web": "exited"}
        unpaused = inv(stack, "unpause", "--env", "t")
        assert unpaused.returncode == 0 and "unpaused db" in unpaused.stdout
        assert _rows(stack) == {"db": "running"}
    finally:
        watcher.close()
    actions = [json.loads(line)["action"] for line in
               (stack / ".phoenix/t/audit.jsonl").read_text().splitlines()]
    assert actions[-3:] == ["kill", "pause", "unpause"]


def test_kill_sends_the_signal_asked_for(stack: Path) -> None:
    result = inv(stack, "kill", "-s", "SIGTERM", "--env", "t", "web")
    assert result.returncode == 0 and "killed web" in result.stdout, result.stderr
    for _ in range(40):  # the trap runs after the current `sleep 1` (a hang guard only)
        state = containers.inspect(commands.run, [f"{_project(stack)}_web_1"])
        if not next(iter(state.values())).running:
            break
        time.sleep(0.25)
    assert next(iter(state.values())).exit_code == 7  # its TERM trap: not KILL (137)
    assert _rows(stack) == {"db": "running"}


def _project(root: Path) -> str:
    return (root / "envs/t.env").read_text().split("=", 1)[1].strip()


def test_up_no_deps_force_recreate_recreates_only_the_named_service(stack: Path) -> None:
    before = _ids(_project(stack))
    result = inv(stack, "up", "web", "--env", "t", "--no-deps", "--force-recreate",
                 "--pull", "never", "-d", "--wait")
    assert result.returncode == 0, result.stderr
    assert "recreate" in result.stdout and "--force-recreate" in result.stdout
    after = _ids(_project(stack))
    assert after["db"] == before["db"] and after["web"] != before["web"]
    assert _rows(stack) == {"db": "running", "web": "running"}
    up = json.loads((stack / ".phoenix/t/audit.jsonl").read_text().splitlines()[-1])
    assert up["args"]["no_deps"] is True and up["args"]["pull"] == "never"


def test_logs_n_tails_each_service(stack: Path) -> None:
    result = inv(stack, "logs", "-n", "1", "web", "db", "--env", "t")
    assert result.stdout.splitlines() == ["web | two", "db  | db ready"] or \
        result.stdout.splitlines() == ["db  | db ready", "web | two"], result.stdout


def test_up_builds_a_missing_image_and_down_rmi_local_removes_it(
        inv_stack, busybox_image) -> None:
    root = inv_stack(f"""
            services:
              tool:
                build: {{context: ../img}}
                command: ["sleep", "1d"]
                stop_grace_period: 1s
              db:
                image: {busybox_image}
                command: ["sleep", "1d"]
                stop_grace_period: 1s
            """, files={"img/Containerfile": f"FROM {busybox_image}\n"})
    built = f"{_project(root)}_tool"
    try:
        refused = inv(root, "up", "--env", "t", "--no-build")
        assert refused.returncode == 1, refused.stdout
        assert f"image not built (--no-build): {built} (service tool)" in refused.stderr
        assert containers.project_containers(commands.run, _project(root)) == {}
        up = inv(root, "up", "--env", "t", timeout=180)  # builds what is not here
        assert up.returncode == 0, up.stderr
        assert "built" in up.stdout
        assert commands.run(argv.image_exists(built), ok_codes=(0, 1)).code == 0
        down = inv(root, "down", "--env", "t", "--rmi", "local")
        assert down.returncode == 0, down.stderr
        assert f"removed image(s) {built}" in down.stdout
        assert commands.run(argv.image_exists(built), ok_codes=(0, 1)).code == 1
        assert commands.run(argv.image_exists(busybox_image), ok_codes=(0, 1)).code == 0
    finally:
        commands.run(argv.untag(built), ok_codes=(0, 1, 2), timeout=60)


def test_run_starts_the_dependencies_then_a_one_off_and_rm_removes_it(stack: Path) -> None:
    assert inv(stack, "stop", "web", "db", "--env", "t").returncode == 0
    result = inv(stack, "run", "--rm", "web", "--env", "t", "--", "sh", "-c",
                 "echo hi from the one-off; exit 4")
    assert result.returncode == 4, result.stderr
    assert "hi from the one-off" in result.stdout
    assert _rows(stack) == {"db": "running"}  # its dependency, started first
    names = set(containers.project_containers(commands.run, _project(stack)))
    assert names == {f"{_project(stack)}_db_1", f"{_project(stack)}_web_1"}  # --rm
