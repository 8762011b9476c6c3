"""``watch`` in a thread, collecting its JSON events (for the real-podman watch tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path

from phoenix_compose.watch.service import watch


class Watcher:
    def __init__(self, root: Path, env: str = "t", **kwargs) -> None:
        self.events: list[dict] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=watch, args=(root, env), kwargs=dict(
            as_json=True, out=lambda line: self.events.append(json.loads(line)),
            stop=self.stop, **kwargs), daemon=True)
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

    def of(self, type_: str, service: str = "web") -> list[dict]:
        return [e for e in self.events if e["type"] == type_ and e["service"] == service]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


def is_type(type_: str, service: str = "web") -> Callable[[dict], bool]:
    return lambda e: e["type"] == type_ and e["service"] == service
