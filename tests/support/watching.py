"""``watch`` in a thread, collecting its JSON events (for the real-podman watch tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from phoenix_compose.watch.service import watch


class Ticks:
    """Counts the watcher's finished ticks (``count_ticks`` wraps HealthMonitor.tick):
    "nothing happened for three ticks" instead of "for three seconds"."""

    def __init__(self) -> None:
        self.count = 0
        self.changed = threading.Condition()

    def bump(self) -> None:
        with self.changed:
            self.count += 1
            self.changed.notify_all()

    def wait(self, more: int, timeout: float = 60) -> None:
        """Until ``more`` ticks have finished from now (``timeout``: a hang guard only)."""
        with self.changed:
            target = self.count + more
            if not self.changed.wait_for(lambda: self.count >= target, timeout):
                raise AssertionError(f"the watcher made {self.count - target + more} of "
                                     f"{more} ticks in {timeout} s")


def count_ticks(monkeypatch) -> Ticks:
    """Counts every HealthMonitor's finished ticks from now on (the watcher decides once
    per tick): ``monkeypatch`` undoes it after the test."""
    from phoenix_compose.watch.monitor import HealthMonitor

    counter = Ticks()
    original = HealthMonitor.tick

    def tick(self: HealthMonitor):
        try:
            return original(self)
        finally:
            counter.bump()

    monkeypatch.setattr(HealthMonitor, "tick", tick)
    return counter


class Watcher:
    def __init__(self, root: Path, env: str = "t", ticks: Ticks | None = None,
                 **kwargs) -> None:
        self.events: list[dict] = []
        self.ticks = ticks or Ticks()
        self.at_tick: list[int] = []  # for each event: how many ticks had finished

        def out(line: str) -> None:
            self.at_tick.append(self.ticks.count)
            self.events.append(json.loads(line))

        self.stop = threading.Event()
        self.thread = threading.Thread(target=watch, args=(root, env), kwargs=dict(
            as_json=True, out=out, stop=self.stop, **kwargs), daemon=True)
        self.started = time.monotonic()
        self.thread.start()

    def wait_for(self, match: Callable[[dict], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in list(self.events):
                if match(event):
                    return event
            time.sleep(0.05)
        errors = sorted({e.get("error") for e in self.events if e["type"] == "watch_error"})
        raise AssertionError(f"no matching event in {timeout} s; got "
                             f"{[(e['type'], e['service']) for e in self.events]}; "
                             f"errors: {errors}")

    def tick_of(self, event: dict) -> int:
        """The tick ``event`` came in (counted from 0; events between ticks: the next)."""
        return self.at_tick[next(i for i, e in enumerate(self.events) if e is event)]

    def of(self, type_: str, service: str = "web") -> list[dict]:
        return [e for e in self.events if e["type"] == type_ and e["service"] == service]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def is_type(type_: str, service: str = "web") -> Callable[[dict], bool]:
    return lambda e: e["type"] == type_ and e["service"] == service
