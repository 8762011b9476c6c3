"""Benchmark: the health watcher at scale, against the way it used to work (the peer).

N services (default 100) of a tiny busybox image at an interval (default 5 s), measured
twice in one run, on the same containers:
- **spread** (ours): each check once per interval at its own phase, at most one per core
  at a time (the check scheduler); a tick is one batched inspect;
- **burst** (the peer: this watcher before, and any poller that fires every check on each
  tick): all checks at the start of every tick, up to 32 at once.

Reports, per mode (targets from the issue in brackets):
- the watcher's own CPU, podman excluded (getrusage of this process) [<= 5% of a core];
- check lag p95: how late a check started against its slot [<= 0.5 s];
- check duration p95 (a contention signal) and the peak of checks running at once;
- crash-to-restart p95: a container's exit (podman's FinishedAt) to the watcher's
  ``restart_started`` [<= 1.5 s].

  python bench/watch.py [--services 100] [--interval 5] [--seconds 60] [--crashes 10]
                        [--check-limit N]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _common import REPO, table

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import argv, busybox, commands  # noqa: E402
from phoenix_compose.runtime.lifecycle import ComposeManager  # noqa: E402
from phoenix_compose.watch.events import EventBus  # noqa: E402
from phoenix_compose.watch.monitor import HealthMonitor  # noqa: E402
from phoenix_compose.watch.service import _container_events  # noqa: E402

IMAGE = "localhost/phoenix-bench/busybox:1"
PROJECT = "phoenixwatchbench"
# PID 1 is a shell that exits 3 on SIGUSR1: a crash on demand, no polling loop
COMMAND = '["sh", "-c", "trap \'exit 3\' USR1; while :; do sleep 1d & wait $!; done"]'


def write_stack(root: Path, services: int, interval: float) -> None:
    (root / "compose").mkdir(parents=True)
    (root / "envs").mkdir()
    (root / "envs" / "bench.env").write_text(f"COMPOSE_PROJECT_NAME={PROJECT}\n")
    lines = ["x-phoenix-drift-interval: 0\nservices:\n"]
    for i in range(services):
        lines.append(
            f"  s{i}:\n    image: {IMAGE}\n    command: {COMMAND}\n"
            "    stop_grace_period: 1s\n"
            "    healthcheck: {test: [CMD-SHELL, 'true'], "
            f"interval: {interval:g}s, retries: 2}}\n"
            "    x-phoenix-restart: {backoff_initial_s: 1, max_restarts: 100}\n")
    (root / "compose" / "stack.yaml").write_text("".join(lines))


class TimedRun:
    """The seam, noting each healthcheck run's duration and how many run at once."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.active = self.peak = 0
        self.lock = threading.Lock()

    def __call__(self, command, **kwargs):
        is_check = tuple(command[:3]) == ("podman", "healthcheck", "run")
        if is_check:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
        start = time.monotonic()
        try:
            return commands.run(command, **kwargs)
        finally:
            if is_check:
                with self.lock:
                    self.active -= 1
                    self.durations.append(time.monotonic() - start)


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else \
        (values[0] if values else float("nan"))


def finished_at(container: str) -> float:
    text = json.loads(commands.run(argv.inspect(container)).stdout)[0]["State"]["FinishedAt"]
    return datetime.fromisoformat(text[:26].rstrip("Z") + "+00:00").timestamp()


def crash_latencies(stack, restarts: dict[str, list[float]], crashes: int) -> list[float]:
    """Crash ``crashes`` services one by one (exit 3); seconds from each exit (podman's
    FinishedAt) to the watcher's restart_started."""
    latencies = []
    for i in range(crashes):
        name = f"s{i * 7 % len(stack.services)}"
        container = stack.services[name].container
        crashed = time.time()
        commands.run(argv.exec_(container, ["sh", "-c", "kill -USR1 1"]),
                     ok_codes=(0, 1, 137, 255))
        deadline = time.monotonic() + 30
        while not any(t > crashed for t in restarts.get(name, [])) and \
                time.monotonic() < deadline:
            time.sleep(0.01)
        after = [t for t in restarts.get(name, []) if t > crashed]
        if after:
            latencies.append(after[0] - finished_at(container))
        time.sleep(1.0)  # let it come back before the next one
    return latencies


def run_mode(manager: ComposeManager, mode: str, interval: float, seconds: float,
             crashes: int, limit: int | None = None) -> dict[str, float]:
    stack = manager.stack()
    timed, bus = TimedRun(), EventBus()
    restarts: dict[str, list[float]] = {}
    bus.subscribe(lambda e: restarts.setdefault(e["service"], []).append(time.time()),
                  types=["restart_started"])
    monitor = HealthMonitor(stack, manager.state, run=timed, bus=bus)
    stop, wake = threading.Event(), threading.Event()
    follower = _container_events(monitor, bus, wake)  # as `inv health.watch` wires it
    if mode == "spread":
        target = lambda: monitor.run_forever(interval, stop, wake=wake,  # noqa: E731
                                             check_limit=limit)
    else:  # the peer: every check inside every tick, all at once (up to 32)
        def target() -> None:
            while not stop.is_set():
                started = time.monotonic()
                monitor.tick()
                wake.wait(max(0.0, interval - (time.monotonic() - started)))
                wake.clear()
    thread = threading.Thread(target=target, daemon=True)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    thread.start()
    time.sleep(seconds)
    cpu1, wall = resource.getrusage(resource.RUSAGE_SELF), time.monotonic() - wall0
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    lags = list(monitor.scheduler.lags) if monitor.scheduler else []
    durations, peak = list(timed.durations), timed.peak
    latencies = crash_latencies(stack, restarts, crashes)
    stop.set()
    wake.set()
    thread.join(15)
    if follower is not None:
        follower.stop()
    monitor.pool.shutdown(wait=True)
    return {"cpu": 100 * cpu / wall, "lag": p95(lags), "duration": p95(durations),
            "peak": peak, "crash": p95(latencies), "checks": len(durations),
            "crashes": len(latencies)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--check-limit", type=int, default=None,
                        help="checks at once in spread mode (default: the number of cores)")
    args = parser.parse_args()
    busybox.ensure_image(commands.run, IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_stack(root, args.services, args.interval)
        manager = ComposeManager(root, "bench")
        manager.start_services(timeout=600)
        try:
            ours = run_mode(manager, "spread", args.interval, args.seconds, args.crashes,
                            args.check_limit)
            peer = run_mode(manager, "burst", args.interval, args.seconds, args.crashes)
        finally:
            manager.stop_services(graceful=False)
    print(table([
        ("measure", "spread (ours)", "burst (peer)", "ratio", "target"),
        ("watcher CPU (own process)", f"{ours['cpu']:.1f}% of a core",
         f"{peer['cpu']:.1f}% of a core", f"{ours['cpu'] / peer['cpu']:.2f}x", "<= 5%"),
        ("check lag p95", f"{ours['lag']:.3f} s", "-", "", "<= 0.5 s"),
        ("check duration p95", f"{ours['duration']:.3f} s", f"{peer['duration']:.3f} s",
         f"{ours['duration'] / peer['duration']:.2f}x", ""),
        ("checks running at once (peak)", f"{ours['peak']}", f"{peer['peak']}", "", ""),
        ("crash-to-restart p95", f"{ours['crash']:.2f} s", f"{peer['crash']:.2f} s",
         f"{ours['crash'] / peer['crash']:.2f}x", "<= 1.5 s"),
    ]))
    print(f"\n{args.services} services, interval {args.interval:g} s, {args.seconds:g} s per "
          f"mode, {args.crashes} crashes each ({ours['crashes']} and {peer['crashes']} "
          f"restarted); checks run: {ours['checks']} (spread), {peer['checks']} (burst)")


if __name__ == "__main__":
    main()
