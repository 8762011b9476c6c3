"""Benchmark: the health watcher on 20 services at a 2 s interval.

Reports (targets from the issue in brackets):
- the watcher's own CPU, podman's excluded (getrusage of this process) [<= 5% of a core];
- tick duration against the slowest single check in that tick [~1x: checks run
  concurrently], and against the sum of the checks (what a sequential poller like
  autoheal pays);
- detection-to-restart latency after a fault is injected [<= interval x retries + 1 s].
  python bench/watch.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import REPO, table

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import busybox, podman  # noqa: E402
from phoenix_compose.runtime.lifecycle import ComposeManager  # noqa: E402
from phoenix_compose.watch.events import EventBus  # noqa: E402
from phoenix_compose.watch.monitor import HealthMonitor  # noqa: E402

IMAGE = "localhost/phoenix-bench/busybox:1"
SERVICES, INTERVAL, RETRIES = 20, 2.0, 2
PROJECT = "phoenixwatchbench"


def write_stack(root: Path) -> None:
    (root / "compose").mkdir(parents=True)
    (root / "envs").mkdir()
    (root / "envs" / "bench.env").write_text(f"COMPOSE_PROJECT_NAME={PROJECT}\n")
    lines = ["services:\n"]
    for i in range(SERVICES):
        lines.append(
            f"  s{i}:\n    image: {IMAGE}\n    command: [sleep, 1d]\n"
            "    stop_grace_period: 1s\n    tmpfs: [/run/fault]\n"
            "    healthcheck: {test: [CMD-SHELL, 'test ! -f /run/fault/fail'], "
            f"interval: {INTERVAL:g}s, retries: {RETRIES}}}\n"
            "    x-phoenix-restart: {backoff_initial_s: 1}\n")
    (root / "compose" / "stack.yaml").write_text("".join(lines))


class TimedRun:
    """The seam, noting how long each healthcheck run takes (per tick)."""

    def __init__(self) -> None:
        self.checks: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, argv, **kwargs):
        start = time.monotonic()
        try:
            return podman.run(argv, **kwargs)
        finally:
            if tuple(argv[:3]) == ("podman", "healthcheck", "run"):
                with self.lock:
                    self.checks.append(time.monotonic() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    busybox.ensure_image(podman.run, IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_stack(root)
        manager = ComposeManager(root, "bench")
        manager.start_services(timeout=120)
        try:
            measure(root, manager, args.seconds)
        finally:
            manager.stop_services(graceful=False)


def measure(root: Path, manager: ComposeManager, seconds: float) -> None:
    stack = manager.stack()
    timed = TimedRun()
    bus = EventBus()
    restarts: dict[str, float] = {}
    bus.subscribe(lambda e: restarts.setdefault(e["service"], time.monotonic()),
                  types=["restart_started"])
    monitor = HealthMonitor(stack, manager.state, run=timed, bus=bus)
    ticks: list[tuple[float, float, float]] = []  # (tick, slowest check, sum of checks)
    original = monitor.tick

    def timed_tick():
        timed.checks.clear()
        start = time.monotonic()
        result = original()
        ticks.append((time.monotonic() - start, max(timed.checks, default=0.0),
                      sum(timed.checks)))
        return result

    monitor.tick = timed_tick  # type: ignore[method-assign]
    stop = threading.Event()
    thread = threading.Thread(target=monitor.run_forever, args=(INTERVAL, stop), daemon=True)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    thread.start()
    time.sleep(seconds)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    wall = time.monotonic() - wall0
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    steady = ticks[1:] or ticks
    latencies = []
    for i in (3, 7, 11):
        name = f"s{i}"
        injected = time.monotonic()
        subprocess.run(["podman", "exec", f"{PROJECT}_{name}_1", "touch", "/run/fault/fail"],
                       check=True)
        while name not in restarts and time.monotonic() - injected < 30:
            time.sleep(0.02)
        latencies.append(restarts.get(name, float("inf")) - injected)
    stop.set()
    thread.join(10)
    tick = statistics.median(t for t, _, _ in steady)
    slowest = statistics.median(s for _, s, _ in steady)
    total = statistics.median(s for _, _, s in steady)
    latency = statistics.median(latencies)
    print(table([
        ("measure", "value", "target"),
        ("watcher CPU (own process, podman excluded)", f"{100 * cpu / wall:.1f}% of a core",
         "<= 5%"),
        ("tick duration (median)", f"{tick * 1000:.0f} ms", ""),
        ("slowest single check in the tick (median)", f"{slowest * 1000:.0f} ms", ""),
        ("tick / slowest check", f"{tick / slowest:.2f}x", "about 1x"),
        ("sum of the tick's checks (a sequential poller)", f"{total * 1000:.0f} ms", ""),
        ("tick / sequential", f"{tick / total:.2f}x", ""),
        ("detection-to-restart latency (median of 3)", f"{latency:.2f} s",
         f"<= {INTERVAL * RETRIES + 1:g} s"),
    ]))
    print(f"\n{SERVICES} services, interval {INTERVAL:g} s, retries {RETRIES}, "
          f"{len(ticks)} ticks over {wall:.0f} s")


if __name__ == "__main__":
    main()
