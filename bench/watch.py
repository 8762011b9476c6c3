"""Benchmark: the health watcher at scale, native probes against exec checks, in one run.

N services (default 100) of a tiny busybox image serving HTTP (busybox ``httpd``), each
with a ``wget -q -O- http://127.0.0.1:8080/`` healthcheck at an interval (default 5 s):
a test phoenix recognises, so the watcher runs it itself (``runtime/nsprobe.py`` in the
container's network namespace).  The same containers are watched in turn (``--modes``):
- **native** (ours): the watcher (check scheduler: each check once per interval at its
  own phase, one per core at a time) with native probes, answered by its long-lived
  helper (``runtime/probeserver.py``: a fork per check);
- **spawn**: the same, a helper process per check (the watcher before; what ``up`` and
  ``health.check`` still do): the cost of an interpreter's start-up per check;
- **exec** (the peer): the same watcher, the same stack with ``x-phoenix-probe: exec``:
  every check a ``podman healthcheck run``;
- **burst** (the older peer: the watcher before the scheduler, and any poller that fires
  every check on each tick, up to 32 at once), exec checks.

Watched windows alternate with unwatched ones of the same length on the same containers
(one before the first mode, one after each), so a mode's extra CPU is all processes' CPU
(/proc/stat) while it watches minus the mean of the unwatched windows either side.  The
machine is shared, so a second figure counts only what is ours: the watcher's process, its
children (helpers, podman clients) and the containers' cgroups (less their unwatched CPU).
Reports, per mode (goals from issue 27 in brackets):
- check lag p95: how late a check started against its slot [<= 0.5 s];
- the machine's extra CPU while watching [<= 15% of one core];
- crash-to-restart p95: a container's exit (podman's FinishedAt) to the watcher's
  ``restart_started`` [<= 1.0 s];
- the watcher's own CPU (getrusage: its process; and its children: the probe helpers or
  the podman clients it ran), check duration p95 and the peak of checks at once.
The load average before and after is printed: the machine is shared.

  python bench/watch.py [--services 100] [--interval 5] [--seconds 60] [--crashes 10]
                        [--check-limit N] [--modes native,spawn,exec,burst]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from _common import REPO, helper_cpu, machine_busy, table

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import argv, busybox, checks, commands, containers  # noqa: E402
from phoenix_compose.runtime.lifecycle import ComposeManager  # noqa: E402
from phoenix_compose.runtime.stack import Stack  # noqa: E402
from phoenix_compose.watch.events import EventBus  # noqa: E402
from phoenix_compose.watch.monitor import HealthMonitor  # noqa: E402
from phoenix_compose.watch.service import _container_events  # noqa: E402

IMAGE = "localhost/phoenix-bench/busybox:1"
PROJECT = "phoenixwatchbench"
# PID 1 is a shell that exits 3 on SIGUSR1 (a crash on demand, no polling loop); httpd
# (a daemon) serves the page the healthcheck fetches
COMMAND = json.dumps(["sh", "-c", "trap 'exit 3' USR1; echo ok > /tmp/index.html && "
                      "httpd -p 8080 -h /tmp; while :; do sleep 1d & wait $!; done"])
TEST = "wget -q -O- http://127.0.0.1:8080/"


def write_stack(root: Path, services: int, interval: float, probe: str) -> None:
    """The stack, its checks run ``probe`` way (x-phoenix-probe: native or exec)."""
    (root / "compose").mkdir(parents=True)
    (root / "envs").mkdir()
    (root / "envs" / "bench.env").write_text(f"COMPOSE_PROJECT_NAME={PROJECT}\n")
    lines = ["x-phoenix-drift-interval: 0\nservices:\n"]
    for i in range(services):
        lines.append(
            f"  s{i}:\n    image: {IMAGE}\n    command: {COMMAND}\n"
            "    stop_grace_period: 1s\n"
            f"    healthcheck: {{test: [CMD-SHELL, '{TEST}'], "
            f"interval: {interval:g}s, retries: 2}}\n"
            f"    x-phoenix-probe: {probe}\n"
            "    x-phoenix-restart: {backoff_initial_s: 1, max_restarts: 100}\n")
    (root / "compose" / "stack.yaml").write_text("".join(lines))


class TimedRun:
    """The seam, noting each check's duration (a native helper or ``podman healthcheck
    run``), how many run at once, and how many failed."""

    def __init__(self) -> None:
        self.durations: list[float] = []
        self.active = self.peak = self.failed = 0
        self.kinds = {"native": 0, "exec": 0}
        self.why: list[str] = []  # what the failed ones said
        self.lock = threading.Lock()
        self.inspects = self.inspected = 0  # podman inspect calls, and containers in them

    def __call__(self, command, **kwargs):
        if tuple(command[:3]) == ("podman", "container", "inspect"):
            self.inspects += 1
            self.inspected += len(command) - list(command).index("--") - 1
        kind = "exec" if tuple(command[:3]) == ("podman", "healthcheck", "run") else \
            "native" if str(checks.HELPER) in command else None
        return self.timed(kind, commands.run, command, **kwargs)

    def serve(self, server) -> None:
        """Time the checks the watcher's long-lived helper answers too."""
        check = server.check
        server.check = lambda *args, **kwargs: self.timed("native", check, *args, **kwargs)

    def timed(self, kind, call, *args, **kwargs):
        if kind:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
        start, code = time.monotonic(), -1
        try:
            result = call(*args, **kwargs)
            code = result.code
            if kind and code:
                self.why.append((result.stdout + result.stderr).strip()[-200:])
            return result
        finally:
            if kind:
                with self.lock:
                    self.active -= 1
                    self.durations.append(time.monotonic() - start)
                    self.kinds[kind] += 1
                    self.failed += code != 0


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


CGROUPS = ("/sys/fs/cgroup/cpuacct/libpod_parent/libpod-{}/cpuacct.usage",  # v1, cgroupfs
           "/sys/fs/cgroup/machine.slice/libpod-{}.scope/cpu.stat")  # v2, systemd


def containers_cpu(ids: list[str]) -> float:
    """CPU seconds the containers' cgroups have spent (their processes: httpd answering
    a probe, an exec check's shell and wget); 0 for one not found."""
    total = 0.0
    for container in ids:
        for pattern in CGROUPS:
            try:
                text = Path(pattern.format(container)).read_text()
            except OSError:
                continue
            total += int(text) / 1e9 if text.strip().isdigit() else \
                int(text.split()[1]) / 1e6  # cpu.stat starts with usage_usec
            break
    return total


def cpu_times(ids: list[str], server=None) -> tuple[float, ...]:
    """CPU seconds so far: the whole machine's (busy), this process's, its children's
    (waited for, and the live probe helper's), the containers'."""
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return (machine_busy(), own.ru_utime + own.ru_stime,
            children.ru_utime + children.ru_stime + helper_cpu(server), containers_cpu(ids))


def window(seconds: float, ids: list[str], during=None, server=None) -> tuple[float, ...]:
    """cpu_times over ``seconds`` (while ``during`` runs, when given), in % of one core.
    The probe helper starts with the first check: its CPU counts from 0."""
    before, wall0 = cpu_times(ids), time.monotonic()
    if during is not None:
        during.start()
    time.sleep(seconds)
    after, wall = cpu_times(ids, server), time.monotonic() - wall0
    return tuple(100 * (a - b) / wall for a, b in zip(after, before))


def container_ids(stack: Stack) -> list[str]:
    found = containers.inspect(commands.run, [s.container for s in stack.services.values()])
    return [state.id for state in found.values() if state.id]


def watcher(monitor: HealthMonitor, mode: str, interval: float, stop: threading.Event,
            wake: threading.Event, limit: int | None) -> threading.Thread:
    if mode != "burst":  # the watcher as `inv health.watch` runs it
        def target() -> None:
            monitor.run_forever(interval, stop, wake=wake, check_limit=limit)
    else:  # the peer: every check inside every tick, all at once (up to 32)
        def target() -> None:
            while not stop.is_set():
                started = time.monotonic()
                monitor.tick()
                wake.wait(max(0.0, interval - (time.monotonic() - started)))
                wake.clear()
    return threading.Thread(target=target, daemon=True)


def run_mode(stack: Stack, manager: ComposeManager, mode: str, args) -> dict[str, float]:
    """One mode: a window watched, then the crashes, then a window unwatched."""
    timed, bus = TimedRun(), EventBus()
    restarts: dict[str, list[float]] = {}
    bus.subscribe(lambda e: restarts.setdefault(e["service"], []).append(time.time()),
                  types=["restart_started"])
    monitor = HealthMonitor(stack, manager.state, run=timed, bus=bus,
                            probe_server=mode == "native")
    server = monitor.observer.native.server
    if server is not None:
        timed.serve(server)
    stop, wake = threading.Event(), threading.Event()
    follower = _container_events(monitor, bus, wake)  # as `inv health.watch` wires it
    thread = watcher(monitor, mode, args.interval, stop, wake, args.check_limit)
    machine, own, children, boxes = window(args.seconds, container_ids(stack), thread, server)
    lags = list(monitor.scheduler.lags) if monitor.scheduler else []
    durations, peak, kinds = list(timed.durations), timed.peak, dict(timed.kinds)
    inspects, inspected = timed.inspects, timed.inspected  # in the watched window
    failed, why = timed.failed, sorted(set(timed.why))[:3]
    latencies = crash_latencies(stack, restarts, args.crashes)
    stop.set()
    wake.set()
    thread.join(15)
    if follower is not None:
        follower.stop()
    monitor.pool.shutdown(wait=True)
    time.sleep(2.0)  # the last restart settles before the unwatched window
    idle = window(args.seconds, container_ids(stack))
    return {"own": own, "children": children, "machine": machine, "boxes": boxes,
            "idle": idle[0], "idle_boxes": idle[3], "lag": p95(lags) if lags else float("nan"),
            "duration": p95(durations), "peak": peak, "crash": p95(latencies),
            "checks": len(durations), "failed": failed, "why": why, "crashes": len(latencies),
            "native": kinds["native"], "exec": kinds["exec"], "inspects": inspects,
            "inspected": inspected}


def settle(results: dict[str, dict[str, float]], first: tuple[float, ...]) -> None:
    """Each watched window against the mean of the unwatched windows either side of it
    (a machine shared with other work drifts): the extra CPU, all processes' and ours."""
    before = first
    for r in results.values():
        idle, idle_boxes = (before[0] + r["idle"]) / 2, (before[3] + r["idle_boxes"]) / 2
        r["idle_mean"] = idle
        r["extra"] = r["machine"] - idle
        r["ours"] = r["own"] + r["children"] + r["boxes"] - idle_boxes
        before = (r["idle"], 0.0, 0.0, r["idle_boxes"])


ROWS = [  # (label, key, format, goal)
    ("check lag p95", "lag", "{:.3f} s", "<= 0.5 s"),
    ("machine's extra CPU (all processes)", "extra", "{:.1f}% of a core", "<= 15%"),
    ("crash-to-restart p95", "crash", "{:.2f} s", "<= 1.0 s"),
    ("  ours: watcher + its children + containers' extra", "ours",
     "{:.1f}% of a core", ""),
    ("watcher CPU (own process)", "own", "{:.1f}% of a core", ""),
    ("watcher's children CPU (helpers, podman)", "children", "{:.1f}% of a core", ""),
    ("machine CPU watched / unwatched", "machine", "{:.0f}% / {idle_mean:.0f}%", ""),
    ("check duration p95", "duration", "{:.3f} s", ""),
    ("checks running at once (peak)", "peak", "{}", ""),
    ("checks run (native + exec; failed)", "checks", "{native} + {exec}; {failed}", ""),
    ("podman inspects (containers in them)", "inspects", "{} ({inspected})", ""),
]
NAMES = {"native": "native (ours)", "spawn": "native, a helper per check",
         "exec": "exec (peer)", "burst": "burst, exec (peer)"}


def report(results: dict[str, dict[str, float]]) -> str:
    rows = [("measure", *(NAMES[m] for m in results), "goal")]
    for label, key, fmt, goal in ROWS:
        cells = []
        for r in results.values():
            value = r[key]
            cells.append("-" if value != value else fmt.format(value, **r))  # nan: none
        rows.append((label, *cells, goal))
    return table(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--services", type=int, default=100)
    parser.add_argument("--interval", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--crashes", type=int, default=10)
    parser.add_argument("--check-limit", type=int, default=None,
                        help="checks at once in the watcher (default: the number of cores)")
    parser.add_argument("--modes", default="native,spawn,exec,burst",
                        help="comma-separated, in order: native, spawn, exec, burst")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not modes or set(modes) - set(NAMES):
        parser.error(f"--modes: some of {', '.join(NAMES)}")
    busybox.ensure_image(commands.run, IMAGE)
    load0 = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        managers = {}
        for probe in ("native", "exec"):  # one project, its checks either way
            write_stack(Path(tmp) / probe, args.services, args.interval, probe)
            managers[probe] = ComposeManager(Path(tmp) / probe, "bench")
        manager = managers["native"]
        manager.start_services(timeout=600)
        try:
            first = window(args.seconds, container_ids(manager.stack()))
            results = {m: run_mode(managers["exec" if m in ("exec", "burst") else "native"]
                                   .stack(),
                                   manager, m, args) for m in modes}
            settle(results, first)
        finally:
            manager.stop_services(graceful=False)
    load1 = os.getloadavg()
    print(report(results))
    for m, r in results.items():
        if r["why"]:
            print(f"{m}: failed checks said: {r['why']}")
    print(f"\n{args.services} services, interval {args.interval:g} s, {args.seconds:g} s "
          f"per window (watched, unwatched), {args.crashes} crashes each ("
          + ", ".join(f"{r['crashes']} restarted in {m}" for m, r in results.items())
          + f"); load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, "
          f"after {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f} ({os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
