"""Health checks on a schedule: each container's check runs once per interval at its own
phase, spread evenly over the interval instead of all at once, and at most ``limit`` run
at the same time (default: the number of cores), so 100 services never queue 100
``podman healthcheck run`` on 2 cores.  How late each check starts against its slot is
its lag (``phoenix_check_lag_seconds``).  A failed check wakes the watcher at once.
"""

from __future__ import annotations

import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    elapsed: float  # seconds the check took
    timed_out: str | None = None  # why, when it ran past its timeout
    ok: bool = True
    lag: float = 0.0  # seconds late against its slot (scheduled checks only)


Check = Callable[[str], CheckResult]


class CheckScheduler:
    def __init__(self, check: Check, interval: float, on_result: Callable[[str, CheckResult],
                 None], limit: int | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.check, self.interval, self.on_result, self.clock = check, interval, on_result, clock
        self.limit = max(1, limit or os.cpu_count() or 1)
        self.pool = ThreadPoolExecutor(self.limit, thread_name_prefix="phoenix-check")
        self.due: dict[str, float] = {}  # container -> when its next check is due
        self.running: set[str] = set()
        self.lags: deque[float] = deque(maxlen=10000)
        self.lock = threading.Lock()
        self.kick = threading.Event()
        self.stopped = threading.Event()

    def update(self, containers: Iterable[str]) -> None:
        """The containers to check (running, with a healthcheck).  The first set is spread
        over one interval; a container that appears later is checked at once."""
        names = sorted(set(containers))
        with self.lock:
            now, first = self.clock(), not self.due
            for gone in set(self.due) - set(names):
                del self.due[gone]
            new = [n for n in names if n not in self.due]
            for i, name in enumerate(new):
                self.due[name] = now + (i * self.interval / len(new) if first else 0.0)
        self.kick.set()

    def run(self) -> None:
        """The scheduling loop (a thread): start what is due while a slot is free."""
        while not self.stopped.is_set():
            with self.lock:
                now = self.clock()
                waiting = sorted((t, n) for n, t in self.due.items() if n not in self.running)
                for when, name in waiting:
                    if when > now or len(self.running) >= self.limit:
                        break
                    self.running.add(name)
                    self.pool.submit(self._one, name, when)
                free = len(self.running) < self.limit
                later = [t for t, n in waiting if n not in self.running]
            timeout = max(0.0, min(later) - self.clock()) if later and free else 0.5
            self.kick.wait(min(timeout, 0.5))
            self.kick.clear()

    def _one(self, name: str, scheduled: float) -> None:
        lag = max(0.0, self.clock() - scheduled)
        self.lags.append(lag)
        try:
            result = self.check(name)
            result = CheckResult(result.elapsed, result.timed_out, result.ok, lag)
            self.on_result(name, result)
        finally:
            with self.lock:
                self.running.discard(name)
                if name in self.due:  # keep the phase; checks missed are not made up
                    upcoming, now = scheduled + self.interval, self.clock()
                    while upcoming < now:
                        upcoming += self.interval
                    self.due[name] = upcoming
            self.kick.set()

    def stop(self) -> None:
        self.stopped.set()
        self.kick.set()
        self.pool.shutdown(wait=False, cancel_futures=True)
