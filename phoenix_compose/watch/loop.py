"""The watcher's loop: a tick every interval (or at once when woken by a container event
or a failed check), the check scheduler beside it, the kernel log followed for OOM kills.
Podman failing or hanging, or ``.phoenix/`` unwritable, is a ``watch_error`` and the next
tick tries again."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from phoenix_compose.errors import CommandError, StateError
from phoenix_compose.watch.jobs import start_jobs, stop_jobs
from phoenix_compose.watch.schedule import CheckResult, CheckScheduler

OnTick = Callable[[int, dict[str, Any]], None]
JOB_GRACE_S = 60.0  # how long a stop waits for a running plugin job (its podman calls are
#                     killed by a signal; its cleanup, e.g. a throwaway's removal, is not)
POOL_GRACE_S = 1.0  # how long a stop waits for the watcher's own work in flight


def run_loop(monitor: Any, interval: float, stop: threading.Event, once: bool = False,
             on_tick: OnTick | None = None, wake: threading.Event | None = None,
             check_limit: int | None = None) -> None:
    """``monitor``: a HealthMonitor.  Without ``once``, health checks run on the scheduler
    (spread over the interval, ``check_limit`` at once) instead of inside each tick."""
    wake = wake or stop
    bus = monitor.bus
    bus.emit("watch_started", None, project=monitor.stack.project, interval_s=interval,
             services=sorted(monitor.stack.services), healing=monitor.heal)
    for service, text in monitor.warnings:
        bus.emit("watch_error", service, error=text)
    jobs = None
    if not once:
        monitor.scheduler = _scheduler(monitor, interval, wake, check_limit)
        jobs = start_jobs(monitor.state.root, monitor.state.env, bus.emit, stop)
    ticks = 0
    monitor.oom.start()
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                result = monitor.tick()
            except (CommandError, StateError) as exc:
                bus.emit("watch_error", None, error=str(exc).splitlines()[0])
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
        _wind_down(monitor, jobs, ticks)


def _wind_down(monitor: Any, jobs: threading.Thread | None, ticks: int) -> None:
    monitor.stopping.set()
    monitor.oom.stop()
    if monitor.scheduler is not None:
        monitor.scheduler.stop()
    stop_jobs(jobs, JOB_GRACE_S)  # a job cut short still removes what it made
    # work in flight (a drift check, a restart: their podman calls are killed by a signal)
    # reports before watch_stopped, which stays the last event; never waited on for long
    closer = threading.Thread(target=monitor.pool.shutdown, daemon=True,
                              kwargs={"wait": True, "cancel_futures": True})
    closer.start()
    closer.join(POOL_GRACE_S)
    monitor.bus.emit("watch_stopped", None, ticks=ticks)


def _scheduler(monitor: Any, interval: float, wake: threading.Event,
               limit: int | None) -> CheckScheduler:
    def on_result(container: str, result: CheckResult) -> None:
        monitor.observer.record(container, result)
        if monitor.metrics is not None:
            monitor.metrics.lag.observe(result.lag)
        if not result.ok or result.timed_out:
            wake.set()  # a failing check: look now, not at the next tick

    scheduler = CheckScheduler(monitor.observer.check, interval, on_result, limit)
    threading.Thread(target=scheduler.run, name="phoenix-schedule", daemon=True).start()
    return scheduler
