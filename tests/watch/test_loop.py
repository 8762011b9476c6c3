"""The watcher's loop alone: it drives only what ``Watched`` hands it (no HealthMonitor
here), reports a failing tick and winds down in order (fast, no podman)."""

from __future__ import annotations

import threading
import types
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from phoenix_compose.errors import CommandError
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.loop import Watched, WatchLoop
from phoenix_compose.watch.schedule import CheckResult


class FakeOom:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")


def parts(tick, events: list[dict], **changes) -> Watched:
    bus = EventBus()
    bus.subscribe(events.append)
    observer = types.SimpleNamespace(check=lambda c: CheckResult(0.0),
                                     record=lambda c, r: None, calls=[])
    observer.close = lambda: observer.calls.append("close")
    fields = dict(tick=tick, bus=bus, project="p", services=["a", "b"], healing=False,
                  warnings=[("a", "x-phoenix-restart: bad")], root=Path("/nowhere"),
                  env="t", oom=FakeOom(), observer=observer, lag=lambda s: None,
                  stopping=threading.Event(), pool=ThreadPoolExecutor(1))
    return Watched(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_loop_ticks_reports_a_failing_tick_and_winds_down_in_order() -> None:
    events: list[dict] = []
    ticked: list[int] = []

    def tick() -> dict:
        ticked.append(1)
        if len(ticked) == 2:
            raise CommandError(("podman", "ps"), None, reason="timed out after 60 s")
        return {}

    watched = parts(tick, events)
    loop, stop = WatchLoop(watched), threading.Event()
    loop.run(0.0, stop, on_tick=lambda n, _r: stop.set() if n == 3 else None)
    assert [e["type"] for e in events] == ["watch_started", "watch_error", "watch_error",
                                          "watch_stopped"]
    assert {k: events[0][k] for k in ("project", "services", "healing")} == {
        "project": "p", "services": ["a", "b"], "healing": False}
    assert events[1]["service"] == "a" and "timed out" in events[2]["error"]
    assert events[3]["ticks"] == 3 and len(ticked) == 3
    assert watched.stopping.is_set() and watched.oom.calls == ["start", "stop"]
    assert watched.observer.calls == ["close"]  # its probe helper ends with the watch
    assert loop.scheduler is not None and loop.scheduler.stopped.is_set()


def test_once_is_one_tick_and_no_scheduler() -> None:
    events: list[dict] = []
    loop = WatchLoop(parts(lambda: {}, events, warnings=[]))
    loop.run(5.0, threading.Event(), once=True)
    assert [e["type"] for e in events] == ["watch_started", "watch_stopped"]
    assert loop.scheduler is None and events[-1]["ticks"] == 1
