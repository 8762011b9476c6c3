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
    monkeypatch.setattr("phoenix_compose.runtime.locks.open_nofollow", read_only)
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


GOOD = {"envs/t.env": "COMPOSE_PROJECT_NAME=mine\n",
        "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"}


def _broken_after_valid(make_stack) -> Path:
    """A stack with a last valid .phoenix/t/compose.yaml, whose config is now broken."""
    root = make_stack(GOOD)
    ComposeManager(root, "t", run=FakePodman({})).validate_compose_files()
    (root / "compose" / "a.yaml").write_text("services: {web: {image: 'w:1', nope: 1}}\n")
    return root


def test_down_with_a_broken_config_uses_the_intact_last_valid_file(make_stack) -> None:
    root = _broken_after_valid(make_stack)
    fake = FakePodman({})
    ComposeManager(root, "t", run=fake).stop_services()
    downs = [c for c in fake.calls if c[0] == "podman-compose"]
    assert len(downs) == 1 and downs[0][downs[0].index("-p") + 1] == "mine"


def _listed_projects(fake: FakePodman) -> set[str]:
    """The projects whose containers ``down`` listed to remove them (by label)."""
    return {arg.split("=", 2)[2] for call in fake.calls if call[:3] == ("podman", "ps", "--all")
            for arg in call if arg.startswith("label=io.podman.compose.project=")}


def test_down_never_takes_another_projects_name_from_an_edited_last_valid_file(
        make_stack, capsys) -> None:
    root = _broken_after_valid(make_stack)
    last = root / ".phoenix" / "t" / "compose.yaml"
    last.write_text(last.read_text().replace("name: mine", "name: theirs"))
    fake = FakePodman({})
    ComposeManager(root, "t", run=fake).stop_services()
    assert not any("theirs" in " ".join(c) for c in fake.calls)
    assert _listed_projects(fake) == {"mine"}  # by the env's own project, and owner
    assert "warning: .phoenix/t/compose.yaml:1:1: error: the last valid file does not match " \
           "its MAC" in capsys.readouterr().err


def test_down_refuses_a_last_valid_file_without_a_mac_as_older_versions_wrote_it(
        make_stack) -> None:
    root = _broken_after_valid(make_stack)
    (root / ".phoenix" / "t" / "compose.yaml.mac").unlink()
    fake = FakePodman({})
    ComposeManager(root, "t", run=fake).stop_services()
    assert not any(c[0] == "podman-compose" for c in fake.calls)
    assert _listed_projects(fake) == {"mine"}  # by the env's own project, and owner


def test_a_symlinked_phoenix_folder_is_refused_before_the_first_write_and_down_still_runs(
        make_stack, tmp_path: Path, capsys) -> None:
    import os

    from phoenix_compose.errors import StateError

    root = make_stack(GOOD)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, root / ".phoenix")
    fake = FakePodman({})
    with pytest.raises(StateError, match=r"environment 't' cannot keep its state: .*/\.phoenix "
                                         "is a symbolic link; refusing to follow it"):
        ComposeManager(root, "t", run=fake).start_services()
    assert fake.calls == [] and list(outside.iterdir()) == []
    ComposeManager(root, "t", run=fake).stop_services()  # `down` always works
    assert _listed_projects(fake) == {"mine"}  # by the env's own project, and owner
    assert list(outside.iterdir()) == []
    assert "`down` goes on without its lock and audit line" in capsys.readouterr().err


def test_a_symlinked_env_folder_inside_the_stack_is_refused_too(make_stack) -> None:
    import os

    from phoenix_compose.errors import StateError

    root = make_stack(GOOD)
    (root / ".phoenix" / "other").mkdir(parents=True)
    os.symlink(root / ".phoenix" / "other", root / ".phoenix" / "t")
    with pytest.raises(StateError, match=r"\.phoenix/t is a symbolic link"):
        ComposeManager(root, "t", run=FakePodman({})).restart_services()
    assert list((root / ".phoenix" / "other").iterdir()) == []


def test_on_a_full_disk_up_refuses_cleanly_and_down_still_works(tiny_tmpfs: Path,
                                                                 capsys) -> None:
    """A real full .phoenix/ (a 64 KiB tmpfs): `up` of a changed config is a clear error
    before any podman call; `down` runs from the (sealed) last valid file."""
    from phoenix_compose.errors import StateError

    root = tiny_tmpfs / "stack"
    for rel, text in GOOD.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    ComposeManager(root, "t", run=FakePodman({})).validate_compose_files()
    (root / "compose" / "a.yaml").write_text("services: {web: {image: 'w:2'}}\n# "
                                             + "x" * 2000 + "\n")
    with open(tiny_tmpfs / "filler", "wb") as filler:
        try:
            filler.write(b"x" * (1 << 20))
        except OSError:
            pass
    fake = FakePodman({})
    with pytest.raises(StateError, match="cannot write .phoenix/t: No space left on device"):
        ComposeManager(root, "t", run=fake).start_services()
    assert fake.calls == []
    ComposeManager(root, "t", run=fake).stop_services()
    downs = [c for c in fake.calls if c[0] == "podman-compose"]
    assert len(downs) == 1 and downs[0][downs[0].index("-p") + 1] == "mine"
    assert "Traceback" not in capsys.readouterr().err


def test_down_refuses_a_sealed_last_valid_file_of_another_project(make_stack, capsys) -> None:
    """Sealed, but for a project that is no longer the env's: its name is not used."""
    root = _broken_after_valid(make_stack)
    (root / "envs" / "t.env").write_text("COMPOSE_PROJECT_NAME=renamed\n")
    fake = FakePodman({})
    ComposeManager(root, "t", run=fake).stop_services()
    assert not any(c[0] == "podman-compose" for c in fake.calls)
    assert _listed_projects(fake) == {"renamed"}
    assert "warning: .phoenix/t/compose.yaml:1:7: error: this file names project 'mine', but " \
           "the environment's project is 'renamed'" in capsys.readouterr().err
