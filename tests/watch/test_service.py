"""The watch loop's resilience and output, against a patched seam (fast)."""

from __future__ import annotations

import threading
from pathlib import Path

from phoenix_compose.runtime.commands import CommandError
from phoenix_compose.runtime.stack import Health, ServiceSpec, Stack
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.monitor import HealthMonitor
from phoenix_compose.watch.service import format_event

STACK = Stack("p", Path("/x/compose.yaml"), {"db": ServiceSpec(
    "db", "p_db_1", "img:1", False, {}, Health())})


def watched(tmp_path: Path, run) -> tuple[HealthMonitor, list[dict]]:
    """A monitor of STACK on the seam ``run``, and the events its bus carries."""
    bus = EventBus()
    events: list[dict] = []
    bus.subscribe(events.append)
    return HealthMonitor(STACK, StateDir(tmp_path, "t"), run=run, bus=bus), events


def test_podman_failing_or_hanging_never_crashes_the_watcher(tmp_path: Path) -> None:
    calls = []

    def hanging(argv, **kwargs):
        calls.append(argv)
        raise CommandError(argv, None, reason="timed out after 60 s")

    monitor, events = watched(tmp_path, hanging)
    stop = threading.Event()
    monitor.run_forever(0.01, stop, on_tick=lambda n, _s: stop.set() if n == 3 else None)
    types = [e["type"] for e in events]
    assert types == ["watch_started", "watch_error", "watch_error", "watch_error",
                     "watch_stopped"]
    assert "timed out after 60 s" in events[1]["error"]
    assert events[-1]["ticks"] == 3


def test_work_in_flight_reports_before_watch_stopped_which_stays_last(tmp_path) -> None:
    import time

    def quiet(argv, **kwargs):
        raise CommandError(argv, None, reason="killed")

    monitor, events = watched(tmp_path, quiet)
    bus = monitor.bus
    stop = threading.Event()

    def late() -> None:  # e.g. a drift check whose podman call the stop killed
        time.sleep(0.3)
        bus.emit("watch_error", None, error="drift check: killed")

    def on_tick(n: int, _statuses) -> None:
        monitor.pool.submit(late)
        stop.set()

    monitor.run_forever(0.01, stop, on_tick=on_tick)
    assert [e["type"] for e in events][-2:] == ["watch_error", "watch_stopped"]
    assert events[-2]["error"] == "drift check: killed"


def test_events_read_as_stable_lines() -> None:
    line = format_event({"type": "health_changed", "service": "db", "time":
                         "2026-11-27T07:00:01.123+00:00", "from": "healthy", "to": "unhealthy",
                         "detail": "connection refused\nmore"})
    assert line == "07:00:01 health_changed    db                 healthy -> unhealthy " \
                   "(connection refused)"


def test_a_health_check_output_cannot_drive_the_terminal() -> None:
    line = format_event({"type": "health_changed", "service": "db", "time":
                         "2026-11-27T07:00:01.123+00:00", "from": "healthy", "to": "unhealthy",
                         "detail": "\x1b[2Adb healthy\x07"})
    assert line == "07:00:01 health_changed    db                 healthy -> unhealthy " \
                   "(\\x1b[2Adb healthy\\x07)"


def test_a_broken_subscriber_does_not_stop_the_bus(capsys) -> None:
    bus = EventBus()
    got: list[dict] = []

    def broken(event):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(got.append, types=["x"])
    bus.emit("x", "svc", n=1)
    bus.emit("y")
    assert [(e["type"], e["service"], e["n"]) for e in got] == [("x", "svc", 1)]
    assert "boom" in capsys.readouterr().err


def test_the_watchers_signal_handler_takes_no_lock_and_a_signal_still_stops_it() -> None:
    """A handler runs between any two bytecodes of the main thread, e.g. inside the
    ``Event.set`` of a first signal: one that takes that lock again deadlocks (two close
    signals hung ``health.watch``).  Here the main thread holds the events' locks while the
    handler runs; it must return, and a real signal must still stop the loop."""
    import os
    import signal

    from phoenix_compose.watch.service import _handle_signals

    stop, wake = threading.Event(), threading.Event()
    before = signal.getsignal(signal.SIGINT)  # SIG_IGN in a job started with `&` by a script
    restore = _handle_signals(stop, wake)
    try:
        handler = signal.getsignal(signal.SIGTERM)
        assert callable(handler)
        with stop._cond, wake._cond:  # type: ignore[attr-defined]  # as if inside set()
            called = threading.Thread(target=handler, args=(signal.SIGTERM, None), daemon=True)
            called.start()
            called.join(10)  # a hang guard only
            assert not called.is_alive(), "the signal handler blocked on a lock"
        os.kill(os.getpid(), signal.SIGTERM)
        os.kill(os.getpid(), signal.SIGINT)
        assert stop.wait(10) and wake.wait(10)
    finally:
        restore()
    assert signal.getsignal(signal.SIGINT) is before
