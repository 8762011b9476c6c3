"""Damaged state recovers with one warning; `down` always works, and never on the wrong
project; the logs rotate."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from phoenix_compose import fileio
from phoenix_compose.errors import PhoenixError
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.restart_policy import RestartPolicy
from phoenix_compose.watch.state import ServiceRecord, StateStore

from support import FakePodman

COMPOSE = "services: {web: {image: 'w:1', x-phoenix-restart: {max_restarts: lots}}}\n"


@pytest.mark.parametrize("text", [
    "[1, 2]", '{"services": [1]}', '{"services": {"web": [1]}}', '{"services": {"web": '
    '{"restart_times": "x", "circuit": "melted"}}}', '{"services": {"web": {"attempt": '
    '"two"}}}', '{"servi', "null", ""])
def test_a_damaged_health_state_reads_as_fresh_records(tmp_path: Path, text: str) -> None:
    state = StateDir(tmp_path, "t")
    state.path.mkdir(parents=True)
    state.health_state.write_text(text)
    records = StateStore(state).read()
    assert all(r == ServiceRecord() for r in records.values())
    with StateStore(state).update() as updated:  # and it can be written again
        updated["web"] = ServiceRecord(paused=True)
    assert StateStore(state).read()["web"].paused


def test_a_bad_restart_policy_falls_back_to_defaults_with_a_warning() -> None:
    warnings: list[str] = []
    policy = RestartPolicy.from_config({"max_restarts": "lots", "window_s": 30},
                                       warn=warnings.append)
    assert policy == RestartPolicy(window_s=30.0)
    assert warnings == ["x-phoenix-restart.max_restarts: 'lots' is not valid; using the "
                        "default 5"]
    assert RestartPolicy.from_config(7, warn=warnings.append) == RestartPolicy()


def test_the_watcher_reports_a_bad_policy_and_keeps_going(make_stack, monkeypatch) -> None:
    from phoenix_compose.runtime.stack import load_stack
    from phoenix_compose.watch.events import EventBus
    from phoenix_compose.watch.monitor import HealthMonitor

    # config.validate refuses such a value now; a compose.yaml written before it did (the
    # watcher's last valid file) may still hold one
    last = make_stack({"envs/t.env": ""}) / ".phoenix" / "t" / "compose.yaml"
    last.parent.mkdir(parents=True)
    last.write_text("name: p\n" + COMPOSE)
    bus = EventBus()
    events: list[dict] = []
    bus.subscribe(events.append)
    monitor = HealthMonitor(load_stack(last), StateDir(last.parents[2], "t"),
                            run=FakePodman({}), bus=bus)
    monitor.run_forever(0.01, __import__("threading").Event(), once=True)
    errors = [e for e in events if e["type"] == "watch_error"]
    assert errors and "max_restarts: 'lots' is not valid" in errors[0]["error"]
    assert events[-1]["type"] == "watch_stopped"


def test_down_works_when_phoenix_cannot_be_written(make_stack, monkeypatch, capsys) -> None:
    root = make_stack({"envs/t.env": "", "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    fake = FakePodman({})
    ComposeManager(root, "t", run=fake).validate_compose_files()  # a last valid file exists

    def read_only(*_args, **_kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(fileio, "write_files", read_only)
    monkeypatch.setattr("phoenix_compose.runtime.audit.append_jsonl", read_only)
    monkeypatch.setattr("phoenix_compose.runtime.locks.os.open", read_only)
    (root / "compose" / "a.yaml").write_text("services: {web: {image: 'w:2'}}\n")  # changed
    ComposeManager(root, "t", run=fake).stop_services()
    assert any(c[0] == "podman-compose" and "down" in c for c in fake.calls)
    err = capsys.readouterr().err
    assert "cannot take the lock" in err and "audit line not written" in err


def test_down_with_a_broken_env_and_no_last_file_refuses_to_guess(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=mine\nBROKEN='\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    fake = FakePodman({})
    with pytest.raises(PhoenixError, match="cannot tell which project") as info:
        ComposeManager(root, "t", run=fake).stop_services()
    assert "--project NAME" in info.value.hint
    assert not any("ps" in c or "rm" in c for c in fake.calls)
    ComposeManager(root, "t", run=fake).stop_services(project="mine")
    assert ("podman", "ps", "--all", "--format", "json", "--filter",
            "label=io.podman.compose.project=mine") in fake.calls


def test_event_and_audit_logs_rotate_by_size(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(fileio, "ROTATION", [fileio.Rotation(max_bytes=200, keep=2)])
    log = tmp_path / "events.jsonl"
    for i in range(30):
        fileio.append_jsonl(log, {"n": i, "pad": "x" * 20})
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["events.jsonl", "events.jsonl.1", "events.jsonl.2"]
    assert all(p.stat().st_size <= 200 for p in tmp_path.iterdir())
    last = [json.loads(line)["n"] for line in log.read_text().splitlines()]
    assert last[-1] == 29
