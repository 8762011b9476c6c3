"""A burst of stop signals during an administrative action, in this process: the handler
never raises at an arbitrary point, the action stops at its next safe point (a pause or a
podman call), the lock is released and the exit code is that of the first signal.

The same with `inv up` in a process of its own, six bursts: tests/cli/test_signals.py
(slow tier)."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli.common import stop_signals
from phoenix_compose.runtime import commands, stopping
from phoenix_compose.runtime.locks import env_lock, is_held

BURSTS = [(signal.SIGTERM, signal.SIGTERM, signal.SIGINT),
          (signal.SIGINT, signal.SIGTERM, signal.SIGINT),
          (signal.SIGTERM, signal.SIGINT, signal.SIGTERM)]


@pytest.mark.parametrize("burst", BURSTS)
def test_a_burst_of_stop_signals_ends_the_action_at_its_next_pause(
        tmp_path: Path, monkeypatch, capsys, burst: tuple[int, ...]) -> None:
    killed = threading.Event()
    monkeypatch.setattr(commands, "terminate_all", killed.set)  # the reader thread kills podman
    lock = tmp_path / "lock"
    before = {sig: signal.getsignal(sig) for sig in stopping.STOPS}
    sent = []
    with pytest.raises(Exit) as info:
        with stop_signals(left_running=lambda: ["db"]), env_lock(lock, "up"):
            for sig in burst:  # each handled between two bytecodes of this thread
                os.kill(os.getpid(), sig)
                sent.append(sig)  # a handler that raised would stop the burst here
            assert killed.wait(10)  # a hang guard: the reader thread saw the burst
            stopping.pause(60)  # the action's next safe point: it raises at once
            pytest.fail("the pause did not notice the stop")
    assert sent == list(burst) and info.value.code == 128 + burst[0]
    assert "interrupted; left running: db" in capsys.readouterr().err
    assert not is_held(lock)
    assert {sig: signal.getsignal(sig) for sig in stopping.STOPS} == before
    assert not stopping.STOP.is_set()  # the next action starts unstopped


def test_a_stop_noted_during_cleanup_raises_only_after_it() -> None:
    restore = stopping.noted(lambda: None)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stopping.STOP.wait(10)
        with stopping.cleaning():
            stopping.check()  # cleanup after a stop still runs
        with pytest.raises(KeyboardInterrupt) as info:
            stopping.check()
        assert getattr(info.value, "signum", None) == signal.SIGTERM
    finally:
        restore()
    assert not stopping.STOP.is_set()
