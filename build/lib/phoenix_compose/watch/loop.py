"""The watcher's loop: a tick every interval (or at once when woken by a container event
or a failed check), the check scheduler beside it, the kernel log followed for OOM kills.
Podman failing or hanging, or ``.phoenix/`` unwritable, is a ``watch_error`` and the next
tick tries again.

The loop is a ``WatchLoop`` the HealthMonitor owns; it reaches the monitor only through
``Watched``: the parts of it the loop drives, named and typed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.errors import CommandError, StateError
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.jobs import start_jobs, stop_jobs
from phoenix_compose.watch.observe import HealthStatus, Observer
from phoenix_compose.watch.oom import OomDetector
from phoenix_compose.watch.schedule import CheckResult, CheckScheduler

OnTick = Callable[[int, dict[str, HealthStatus]], None]
JOB_GRACE_S = 60.0  # how long a stop waits for a running plugin job (its podman calls are
#                     killed by a signal; its cleanup, e.g. a throwaway's removal, is not)
POOL_GRACE_S = 1.0  # how long a stop waits for the watcher's own work in flight


@dataclass(frozen=True)
class Watched:
    """What the loop drives, handed over by the monitor that owns it."""

    tick: Callable[[], dict[str, HealthStatus]]  # one observe -> decide -> act
    bus: EventBus
    project: str  # for the watch_started event: what is watched, healed or not
    services: list[str]
    healing: bool
    warnings: list[tuple[str, str]]  # (service, text): reported once the watch starts
    root: Path  # the stack root and env the plugin jobs run for
    env: str
    oom: OomDetector
    observer: Observer  # runs the scheduled checks and records their results
    lag: Callable[[float], None]  # a scheduled check's lag, for the metrics
    stopping: threading.Event  # set once the loop winds down
    pool: ThreadPoolExecutor  # the monitor's work in flight, shut down at the end


class WatchLoop:
    """Ticks ``watched`` until stopped.  Without ``once``, health checks run on the
    scheduler (spread over the interval, ``check_limit`` at once) instead of inside each
    tick: ``scheduler`` is set while the loop runs."""

    def __init__(self, watched: Watched) -> None:
        self.watched = watched
        self.scheduler: CheckScheduler | None = None

    def run(self, interval: float, stop: threading.Event, once: bool = False,
            on_tick: OnTick | None = None, wake: threading.Event | None = None,
            check_limit: int | None = None) -> None:
        parts, wake = self.watched, wake or stop
        parts.bus.emit("watch_started", None, project=parts.project, interval_s=interval,
                       services=parts.services, healing=parts.healing)
        for service, text in parts.warnings:
            parts.bus.emit("watch_error", service, error=text)
        jobs = None
        if not once:
            self.scheduler = self._scheduler(interval, wake, check_limit)
            jobs = start_jobs(parts.root, parts.env, parts.bus.emit, stop)
        ticks = 0
        parts.oom.start()
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    result = parts.tick()
                except (CommandError, StateError) as exc:
                    parts.bus.emit("watch_error", None, error=str(exc).splitlines()[0])
                    result = {}
                ticks += 1
                if on_tick is not None:
                    on_tick(ticks, result)
                if once:
                    break
                wake.wait(max(0.0, interval - (time.monotonic() - started)))
                if wake is not stop:
                    wake.clear()
        finally:
            self._wind_down(jobs, ticks)

    def _wind_down(self, jobs: threading.Thread | None, ticks: int) -> None:
        parts = self.watched
        parts.stopping.set()
        parts.oom.stop()
        if self.scheduler is not None:
            self.scheduler.stop()
        parts.observer.close()  # its long-lived probe helper, when it keeps one
        stop_jobs(jobs, JOB_GRACE_S)  # a job cut short still removes what it made
        # work in flight (a drift check, a restart: their podman calls are killed by a
        # signal) reports before watch_stopped, which stays the last event; never waited on
        # for long
        closer = threading.Thread(target=parts.pool.shutdown, daemon=True,
                                  kwargs={"wait": True, "cancel_futures": True})
        closer.start()
        closer.join(POOL_GRACE_S)
        parts.bus.emit("watch_stopped", None, ticks=ticks)

    def _scheduler(self, interval: float, wake: threading.Event,
                   limit: int | None) -> CheckScheduler:
        observer, lag = self.watched.observer, self.watched.lag

        def on_result(container: str, result: CheckResult) -> None:
            observer.record(container, result)
            lag(result.lag)
            if not result.ok or result.timed_out:
                wake.set()  # a failing check: look now, not at the next tick

        scheduler = CheckScheduler(observer.check, interval, on_result, limit)
        threading.Thread(target=scheduler.run, name="phoenix-schedule", daemon=True).start()
        return scheduler
