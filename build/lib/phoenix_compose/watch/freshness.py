"""Which containers a tick must ``podman inspect``: only those whose state may have changed.

With the check scheduler the checks deliver their results without a tick, and ``podman
events`` reports every state change as it happens: a tick reuses the states of the last
look, and inspects only the containers an event named since (died, start, stop, kill,
remove, health_status...: :data:`STALE_ON`) or whose exec check ran (podman's own health
changed).  A tick with nothing stale runs no podman command at all.

All of them are inspected (a full look):
- on the first tick, and whenever the event stream is down or was restarted (events may
  have been lost meanwhile);
- after a failed inspect;
- as a safety net against an event podman 4.3 does not log, every :data:`FULL_EVERY_TICKS`
  ticks or :data:`FULL_EVERY_S` seconds, whichever comes first: at the default 5 s interval
  every 6th tick, so a missed change is seen within 30 s (a crash's ``died`` event is never
  the one missed in practice: it is what wakes the watcher); at intervals of 30 s or more,
  every tick, as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

FULL_EVERY_TICKS = 6
FULL_EVERY_S = 30.0
# the event statuses after which a container's last inspected state may be out of date
STALE_ON = frozenset({"create", "init", "start", "restart", "died", "stop", "kill", "remove",
                      "cleanup", "health_status", "pause", "unpause", "oom", "rename"})


class Freshness:
    """Marks containers stale (from events, from exec checks) and plans each tick's inspect.
    ``stream``: is the event stream up (False: a full look every tick); ``clock``: monotonic
    seconds.  Thread-safe: events come from the follower's thread."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 every_ticks: int = FULL_EVERY_TICKS, every_s: float = FULL_EVERY_S) -> None:
        self.clock, self.every_ticks, self.every_s = clock, every_ticks, every_s
        self.stream: Callable[[], bool] = lambda: False  # no event stream: always full
        self._lock = threading.Lock()
        self._stale: set[str] = set()
        self._full = True  # the first look
        self._ticks = 0  # ticks since the last full look
        self._full_at = 0.0
        self.full_looks = self.partial_looks = 0  # counted, for the tests and the bench

    def event(self, status: str, container: str | None) -> None:
        """A ``podman events`` line of the project (its status and container name)."""
        if status not in STALE_ON:
            return
        with self._lock:
            if status == "rename" or not container:  # a name moved: which is which?
                self._full = True
            else:
                self._stale.add(container)

    def stale(self, containers: Iterable[str]) -> None:
        with self._lock:
            self._stale.update(containers)

    def restarted(self) -> None:
        """The event stream was (re)started: what happened before it may be missed."""
        with self._lock:
            self._full = True

    def failed(self) -> None:
        """The planned inspect failed: look at everything next time."""
        with self._lock:
            self._full = True

    def plan(self, names: list[str]) -> list[str]:
        """The containers of ``names`` this tick inspects (all of them for a full look)."""
        up = self.stream()  # outside the lock: it may restart the stream (-> restarted)
        now = self.clock()
        with self._lock:
            self._ticks += 1
            full = (self._full or not up or self._ticks >= self.every_ticks
                    or now - self._full_at >= self.every_s)
            if full:
                self._full, self._ticks, self._full_at = False, 0, now
                self._stale.clear()
                self.full_looks += 1
                return list(names)
            due, self._stale = [n for n in names if n in self._stale], set()
            self.partial_looks += 1
            return due


class Stream:
    """The event stream a :class:`Freshness` relies on: ``start(since)`` (a Unix time)
    starts a follower (anything with ``alive()`` and ``stop()``; None when it cannot run);
    one that ended is started again at the next tick, which then looks at everything."""

    def __init__(self, start: Callable[[float], Any], fresh: Freshness,
                 now: Callable[[], float] = time.time) -> None:
        self._start, self.fresh, self.now = start, fresh, now
        self.restarts = 0
        fresh.stream = self.up
        fresh.restarted()
        self.follower = start(now())

    def up(self) -> bool:
        if self.follower is None:  # it could not start: a full look every tick
            return False
        if self.follower.alive():
            return True
        self.follower.stop()
        self.restarts += 1
        self.fresh.restarted()
        self.follower = self._start(self.now())
        return False

    def stop(self) -> None:
        if self.follower is not None:
            self.follower.stop()
