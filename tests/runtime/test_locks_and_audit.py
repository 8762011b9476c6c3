"""The env lock and the audit log, fast and without podman."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from phoenix_compose.errors import LockedError
from phoenix_compose.runtime.audit import audited, taken_down
from phoenix_compose.runtime.locks import env_lock, is_held


def test_the_lock_names_its_holder_and_a_second_taker_fails_after_waiting(tmp_path) -> None:
    path = tmp_path / ".phoenix" / "dev" / "lock"
    with env_lock(path, "up"):
        assert is_held(path)
        assert "`inv up` (pid" in path.read_text()
        started = time.monotonic()
        with pytest.raises(LockedError, match="environment 'dev' is busy: `inv up`"):
            with env_lock(path, "down", wait=0.3, poll=0.05):
                pass
        assert 0.3 <= time.monotonic() - started < 2
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
