"""The env lock and the audit log, fast and without podman."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from phoenix_compose.errors import LockedError, StateError
from phoenix_compose.runtime import locks
from phoenix_compose.runtime.audit import audited, taken_down
from phoenix_compose.runtime.locks import env_lock, is_held

from support import FakeClock


def test_the_lock_names_its_holder_and_a_second_taker_fails_after_waiting(
        tmp_path, monkeypatch) -> None:
    clock = FakeClock()  # the taker's waiting moves only this clock
    monkeypatch.setattr(locks, "time", SimpleNamespace(monotonic=clock, sleep=clock.sleep))
    monkeypatch.setattr(locks.stopping, "pause", clock.sleep)  # the wait between polls
    path = tmp_path / ".phoenix" / "dev" / "lock"
    with env_lock(path, "up"):
        assert is_held(path)
        assert "`inv up` (pid" in path.read_text()
        with pytest.raises(LockedError, match="environment 'dev' is busy: `inv up`") as info:
            with env_lock(path, "down", wait=0.3, poll=0.05):
                pass
        assert 0.3 <= clock.now < 0.3 + 0.05  # the whole wait, and not a poll more
        assert "waited 0.3 s" in str(info.value.hint)
    assert not is_held(path) and path.read_text() == ""


def test_a_waiting_taker_gets_the_lock_once_it_is_released(tmp_path: Path) -> None:
    path = tmp_path / "lock"
    released = threading.Event()

    def hold() -> None:
        with env_lock(path, "up"):
            released.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    while not is_held(path):
        time.sleep(0.01)
    threading.Timer(0.2, released.set).start()
    with env_lock(path, "down", wait=5, poll=0.02):
        assert "`inv down`" in path.read_text()
    holder.join()


def test_no_lock_file_is_not_held(tmp_path: Path) -> None:
    assert not is_held(tmp_path / "nope")


def read(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_each_action_appends_one_line_with_its_result(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with audited(log, "up", {"services": ["db"]}):
        pass
    with pytest.raises(RuntimeError):
        with audited(log, "down", {}):
            raise RuntimeError("podman said no\nmore")
    with pytest.raises(KeyboardInterrupt):
        with audited(log, "restart", {}):
            raise KeyboardInterrupt
    records = read(log)
    assert [(r["action"], r["result"]) for r in records] == [
        ("up", "ok"), ("down", "error"), ("restart", "interrupted")]
    assert records[0]["args"] == {"services": ["db"]} and records[1]["error"] == "podman said no"
    assert {"time", "user", "host", "duration_s"} <= set(records[0])


def test_the_stack_is_taken_down_only_after_a_successful_down(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    assert not taken_down(log)
    with audited(log, "down", {}):
        pass
    assert taken_down(log)
    with audited(log, "up", {}):
        pass
    assert not taken_down(log)
    log.write_text(log.read_text() + "{not json\n")
    assert not taken_down(log)


def test_an_error_is_masked_before_it_reaches_the_audit_log(tmp_path: Path) -> None:
    log = tmp_path / "audit.jsonl"
    with pytest.raises(RuntimeError):
        with audited(log, "up", {}, mask=lambda text: text.replace("hunter2x", "****")):
            raise RuntimeError("podman said hunter2x")
    assert read(log)[0]["error"] == "podman said ****"


def test_a_failed_up_never_writes_a_secret_to_the_audit_log(make_stack) -> None:
    from phoenix_compose.errors import ComposeRuntimeError
    from phoenix_compose.runtime.commands import Result
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root = make_stack({"envs/t.env": "DB_PASSWORD=hunter2-secret\n",
                       "compose/a.yaml": "services: {web: {image: 'w:${DB_PASSWORD}'}}\n"})

    def no_images(argv, **kwargs):
        if tuple(argv[:3]) == ("podman", "image", "inspect"):
            return Result(tuple(argv), 125, "", "Error: image not known")
        return Result(tuple(argv), 0, "[]", "")

    with pytest.raises(ComposeRuntimeError, match="image not present"):
        ComposeManager(root, "t", run=no_images).start_services()
    text = (root / ".phoenix" / "t" / "audit.jsonl").read_text()
    assert "hunter2-secret" not in text and "********" in text


def test_events_are_masked_before_they_reach_the_log(tmp_path: Path) -> None:
    from phoenix_compose.config.masking import Masker
    from phoenix_compose.watch.events import EventLog

    log = EventLog(tmp_path / "events.jsonl", Masker(["hunter2x"]).tree)
    log({"type": "watch_error", "service": None, "error": "bad hunter2x"})
    assert read(tmp_path / "events.jsonl")[0]["error"] == "bad ********"


def test_services_removed_by_rm_are_known_until_the_next_action(tmp_path: Path) -> None:
    from phoenix_compose.runtime.audit import removed_by_user

    log = tmp_path / "audit.jsonl"
    assert removed_by_user(log, ["a", "b"]) == set()
    with audited(log, "rm", {"services": ["a"], "stop": False}):
        pass
    assert removed_by_user(log, ["a", "b"]) == {"a"}
    with audited(log, "rm", {"services": [], "stop": False}):
        pass
    assert removed_by_user(log, ["a", "b"]) == {"a", "b"}
    with audited(log, "up", {}):
        pass
    assert removed_by_user(log, ["a", "b"]) == set()


def test_the_audit_line_keeps_the_secrets_prefix_and_masks_only_secrets(make_stack) -> None:
    """PHOENIX_SECRETS_PREFIX names where secrets live, it is not one: masking its value
    turned `acmeblue_db_password` into `********_db_password` in the audit log."""
    from phoenix_compose.errors import ConfigurationError
    from phoenix_compose.runtime.commands import Result
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root = make_stack({"envs/t.env": "PHOENIX_SECRETS_PREFIX=acmeblue\n",
                       "compose/a.yaml": """
                           secrets: {acmeblue_db_password: {external: true}}
                           services:
                             web:
                               image: w:1
                               secrets: [acmeblue_db_password]
                           """})

    def no_secrets(argv, **kwargs):
        return Result(tuple(argv), 0, "" if "secret" in argv else "[]", "")

    with pytest.raises(ConfigurationError, match="missing from podman"):
        ComposeManager(root, "t", run=no_secrets).start_services()
    (record,) = read(root / ".phoenix" / "t" / "audit.jsonl")
    assert "acmeblue_db_password (used by web)" in record["error"], record


def _victim(tmp_path: Path) -> Path:
    victim = tmp_path / "outside.sh"
    victim.write_text("#!/bin/sh\necho precious\n")
    return victim


def test_a_lock_file_that_is_a_symlink_is_not_truncated(tmp_path: Path, capsys) -> None:
    import os

    victim = _victim(tmp_path)
    path = tmp_path / ".phoenix" / "dev" / "lock"
    path.parent.mkdir(parents=True)
    os.symlink(victim, path)
    with env_lock(path, "down"):
        pass  # `down` goes on, unlocked
    assert victim.read_text() == "#!/bin/sh\necho precious\n"
    assert "cannot take the lock" in capsys.readouterr().err
    assert is_held(path)  # `down` may be running unlocked: the watcher must not heal


@pytest.mark.parametrize("action", ["up", "rollback", "restart", "stop", "secrets.set"])
def test_a_lock_that_is_a_symlink_stops_every_action_but_down(tmp_path: Path,
                                                              action: str) -> None:
    import os

    victim = _victim(tmp_path)
    path = tmp_path / ".phoenix" / "dev" / "lock"
    path.parent.mkdir(parents=True)
    os.symlink(victim, path)
    ran = []
    with pytest.raises(StateError, match=f"cannot take the lock {path}.*`inv {action}` "
                                         "does not run without it"):
        with env_lock(path, action):
            ran.append(action)
    assert not ran and victim.read_text() == "#!/bin/sh\necho precious\n"


def test_an_audit_log_that_is_a_symlink_gets_no_line_and_the_action_a_warning(
        tmp_path: Path, capsys) -> None:
    import os

    victim = _victim(tmp_path)
    log = tmp_path / ".phoenix" / "dev" / "audit.jsonl"
    log.parent.mkdir(parents=True)
    os.symlink(victim, log)
    with audited(log, "down", {}):
        pass
    assert victim.read_text() == "#!/bin/sh\necho precious\n"
    assert "audit line not written" in capsys.readouterr().err
    assert not taken_down(log)


def test_the_watchers_state_lock_that_is_a_symlink_is_refused_untouched(tmp_path) -> None:
    import os

    from phoenix_compose.errors import StateError
    from phoenix_compose.statedir import StateDir
    from phoenix_compose.watch.state import StateStore

    victim = _victim(tmp_path)
    state = StateDir(tmp_path, "dev")
    state.path.mkdir(parents=True)
    os.symlink(victim, state.health_lock)
    with pytest.raises(StateError, match="health-state.lock: it is a symbolic link"):
        with StateStore(state).update():
            pass
    assert victim.read_text() == "#!/bin/sh\necho precious\n"
