"""HealthMonitor: the foreground watch loop that heals a stack (``inv health.watch``).

Each tick: one batched ``podman ps``/``inspect`` for container state, ``podman
healthcheck run`` for every running container with a healthcheck, concurrently (a tick
costs about the slowest check, not the sum), one batched ``inspect`` for podman's
aggregate health (FailingStreak against retries), then the restart policy
(:mod:`policy`) per service.  Restarts run in the background so a slow one never delays
the next tick.  Podman failing or hanging is logged and retried next tick.
"""

from __future__ import annotations

import fcntl
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from . import containers, podman
from .events import EventBus
from .policy import CLOSED, RestartPolicy, ServiceRecord, on_failing, on_healthy
from .stack import Stack, seconds

OK_STATUSES = ("healthy", "running")
_STOP_CODES = (0, 128 + 2, 128 + 9, 128 + 15)


@dataclass(frozen=True)
class HealthStatus:
    """One service's health, as the design's data model names it."""

    service_name: str
    status: str  # healthy, unhealthy, starting, running, stopped, missing
    last_check: datetime
    response_time: float | None
    error_message: str | None
    restart_count: int
    uptime: timedelta | None
    circuit: str = CLOSED
    paused: bool = False

    @property
    def ok(self) -> bool:
        return self.status in OK_STATUSES

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["last_check"] = self.last_check.isoformat(timespec="seconds")
        data["uptime"] = round(self.uptime.total_seconds(), 1) if self.uptime else None
        data["response_time"] = round(self.response_time, 3) if self.response_time else None
        return data


class StateStore:
    """``.phoenix/<env>/health-state.json``, read-modify-written under a file lock so the
    watcher and ``inv health.pause`` never lose each other's changes."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, ServiceRecord]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {name: ServiceRecord.from_dict(rec) for name, rec in
                (data.get("services") or {}).items()}

    @contextmanager
    def update(self) -> Iterator[dict[str, ServiceRecord]]:
        from .output import write_files

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self.read()
            yield records
            text = json.dumps({"services": {n: r.as_dict() for n, r in sorted(records.items())}},
                              indent=1, sort_keys=True) + "\n"
            write_files({self.path: text})


@dataclass
class Observation:
    state: containers.ContainerState | None
    status: str
    response_time: float | None = None
    error: str | None = None


class HealthMonitor:
    def __init__(self, stack: Stack, folder: Path, *, run: containers.Runner = podman.run,
                 bus: EventBus | None = None, clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random,
                 overrides: dict[str, Any] | None = None, heal: bool = True,
                 check_timeout: float = 60.0) -> None:
        self.stack = stack
        self.folder = folder
        self.run = run
        self.bus = bus or EventBus()
        self.clock = clock
        self.rand = rand
        self.heal = heal
        self.check_timeout = check_timeout
        self.store = StateStore(folder / "health-state.json")
        self.policies = {n: RestartPolicy.from_config(s.raw.get("x-phoenix-restart"),
                                                      overrides)
                         for n, s in stack.services.items()}
        self.last_status: dict[str, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(4, len(stack.services) + 2),
                                       thread_name_prefix="phoenix-watch")
        self.restarts: dict[str, Future] = {}
        self._user_stops: dict[tuple[str, Any], bool] = {}
        self._last_states: dict[str, containers.ContainerState] | None = None
        self.metrics: Any = None

    # -- observation -----------------------------------------------------------------------
    def observe(self, records: dict[str, ServiceRecord] | None = None
                ) -> dict[str, Observation]:
        """Checks first (for containers running at the last look), then one inspect that
        gives every container's state and podman's aggregate health after our runs."""
        names = [s.container for s in self.stack.services.values()]
        if self._last_states is None:
            self._last_states = containers.inspect(self.run, names)
        due = [st.name for st in self._last_states.values() if st.running and st.health]
        timings = dict(zip(due, self.pool.map(self._check, due)))
        states = self._last_states = containers.inspect(self.run, names)
        records = self.store.read() if records is None else records
        seen = {n for n, r in records.items() if r.seen}
        # A service behind a profile that never ran is not part of the running stack.
        return {s.name: self._observation(states.get(s.container), timings.get(s.container))
                for s in self.stack.services.values()
                if s.container in states or not s.profiles or s.name in seen}

    def _check(self, container: str) -> float:
        start = time.monotonic()
        self.run(podman.healthcheck_run(container), ok_codes=range(256),
                 timeout=self.check_timeout)
        return time.monotonic() - start

    def _observation(self, state: containers.ContainerState | None,
                     elapsed: float | None) -> Observation:
        if state is None:
            return Observation(None, "missing", error="no container")
        if not state.running:
            return Observation(state, "stopped", error=f"{state.status}, exit code "
                                                       f"{state.exit_code}")
        if not state.health:
            return Observation(state, "running", elapsed)
        error = (state.last_output or None) if state.health == "unhealthy" else None
        return Observation(state, state.health, elapsed, error)

    def check_service_health(self, service: str) -> HealthStatus:
        return self.statuses(self.observe())[service]

    def statuses(self, observed: dict[str, Observation],
                 records: dict[str, ServiceRecord] | None = None) -> dict[str, HealthStatus]:
        records = self.store.read() if records is None else records
        now = datetime.now(timezone.utc)
        out = {}
        for name, obs in observed.items():
            rec = records.get(name, ServiceRecord())
            started = obs.state.started_at if obs.state and obs.state.running else None
            out[name] = HealthStatus(name, obs.status, now, obs.response_time, obs.error,
                                     rec.restart_count, now - started if started else None,
                                     rec.circuit, rec.paused)
        return out

    # -- one tick ----------------------------------------------------------------------------
    def tick(self) -> dict[str, HealthStatus]:
        stack_down = self._admin_busy() or self._stack_taken_down()
        due_restart: list[str] = []
        due_recreate: list[str] = []
        with self.store.update() as records:
            observed = self.observe(records)
            now = self.clock()
            for name, obs in observed.items():
                rec = records.setdefault(name, ServiceRecord())
                rec.seen = rec.seen or obs.state is not None
                self._report_change(name, obs)
                if name in self.restarts or not self.heal:
                    continue
                events, action = self._decide(name, obs, rec, now, stack_down)
                for event in events:
                    self.bus.emit(event.pop("type"), name, **event)
                if action == "restart":
                    due_restart.append(name)
                elif action == "recreate":
                    due_recreate.append(name)
            statuses = self.statuses(observed, records)
        for name in due_restart:
            spec = self.stack.services[name]
            grace = int(seconds(spec.raw.get("stop_grace_period"), 10.0))
            self._launch(name, [name], podman.restart(spec.container, timeout=grace),
                         observed[name])
        if due_recreate:
            argv = podman.compose(self.stack.compose_file, self.stack.project, "up", "-d",
                                  "--no-deps", *due_recreate,
                                  profiles=sorted({p for n in due_recreate
                                                   for p in self.stack.services[n].profiles}))
            self._launch(due_recreate[0], due_recreate, argv, observed[due_recreate[0]])
        if self.metrics is not None:
            self.metrics.update(statuses)
        return statuses

    def _decide(self, name: str, obs: Observation, rec: ServiceRecord, now: float,
                stack_down: bool) -> tuple[list[dict], str]:
        policy = self.policies[name]
        if obs.status in OK_STATUSES:
            return on_healthy(rec, policy, now), "none"
        if obs.status == "starting" or stack_down:
            return [], "none"
        if obs.status == "missing" and not rec.seen:
            return [], "none"  # never created (a profile, or not started yet): not ours
        if obs.status == "stopped" and obs.state is not None and (
                obs.state.status == "created" or self._stopped_by_user(obs.state)):
            return [], "none"  # a user's own stop is respected
        decision = on_failing(rec, policy, now, self.rand)
        events = [dict(e) for e in decision.events]
        if decision.action == "restart":
            return events, "recreate" if obs.status == "missing" else "restart"
        return events, "none"

    def _launch(self, service: str, names: list[str], argv: tuple[str, ...],
                obs: Observation) -> None:
        records = self.store.read()
        for name in names:
            rec = records.get(name, ServiceRecord())
            self.bus.emit("restart_started", name, reason=obs.status, detail=obs.error,
                          attempt=rec.attempt, restart_count=rec.restart_count,
                          circuit=rec.circuit,
                          next_allowed_in_s=round(max(0.0, rec.next_restart_at - self.clock()),
                                                  2))
        future = self.pool.submit(self.run, argv, timeout=120)
        for name in names:
            self.restarts[name] = future
        future.add_done_callback(lambda f: self._finished(names, f))

    def _finished(self, names: list[str], future: Future) -> None:
        error = future.exception()
        for name in names:
            self.restarts.pop(name, None)
            if error is None:
                self.bus.emit("restart_succeeded", name)
            else:
                self.bus.emit("restart_failed", name, error=str(error).splitlines()[0])

    def _report_change(self, name: str, obs: Observation) -> None:
        previous = self.last_status.get(name)
        if previous != obs.status:
            self.last_status[name] = obs.status
            self.bus.emit("health_changed", name, **{"from": previous, "to": obs.status},
                          detail=obs.error)

    def _stopped_by_user(self, state: containers.ContainerState) -> bool:
        """Was this exit meant?  podman 4.3 does not expose "stopped by user" and does not
        always log a ``stop`` event, so: an exit code that a stop or kill causes (0, or
        SIGINT, SIGKILL, SIGTERM) unless the kernel's OOM killer did it, or a stop/kill
        event since the container's last start.  Any other exit is a crash."""
        if state.oom_killed:
            return False
        if state.exit_code in _STOP_CODES:
            return True
        key = (state.name, state.started_at)
        if key not in self._user_stops:
            since = state.started_at.timestamp() if state.started_at else 0
            result = self.run(("podman", "events", "--stream=false", "--since",
                               f"{since:.0f}", "--filter", f"container={state.name}",
                               "--format", "{{.Status}}"), ok_codes=range(256), timeout=30)
            self._user_stops[key] = bool({"stop", "kill"} & set(result.stdout.split()))
        return self._user_stops[key]

    def _admin_busy(self) -> bool:
        """`inv up/down/restart` holds the env lock: never heal in the middle of one."""
        try:
            with open(self.folder / "lock", "rb") as lock:
                try:
                    fcntl.flock(lock, fcntl.LOCK_SH | fcntl.LOCK_NB)
                except BlockingIOError:
                    return True
                fcntl.flock(lock, fcntl.LOCK_UN)
        except FileNotFoundError:
            return False
        return False

    def _stack_taken_down(self) -> bool:
        """After a successful `inv down`, the stack is meant to be down: heal nothing."""
        path = self.folder / "audit.jsonl"
        try:
            with open(path, "rb") as handle:
                handle.seek(max(0, path.stat().st_size - 4096))
                last = handle.read().decode("utf-8", "replace").strip().splitlines()[-1]
            record = json.loads(last)
        except (OSError, ValueError, IndexError):
            return False
        return record.get("action") == "down" and record.get("result") == "ok"

    # -- manual override --------------------------------------------------------------------
    def set_paused(self, service: str, paused: bool) -> None:
        self.stack.select([service])
        with self.store.update() as records:
            records.setdefault(service, ServiceRecord()).paused = paused
        self.bus.emit("service_paused" if paused else "service_resumed", service)

    # -- the loop ----------------------------------------------------------------------------
    def run_forever(self, interval: float, stop: threading.Event, once: bool = False,
                    on_tick: Callable[[int, dict[str, HealthStatus]], None] | None = None,
                    wake: threading.Event | None = None) -> None:
        """Tick every ``interval`` until ``stop``; ``wake`` (set by container events or by
        ``stop``) starts the next tick at once."""
        wake = wake or stop
        self.bus.emit("watch_started", None, project=self.stack.project, interval_s=interval,
                      services=sorted(self.stack.services), healing=self.heal)
        ticks = 0
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    statuses = self.tick()
                except podman.CommandError as exc:  # podman failing or hanging: next tick
                    self.bus.emit("watch_error", None, error=str(exc).splitlines()[0])
                    statuses = {}
                ticks += 1
                if on_tick is not None:
                    on_tick(ticks, statuses)
                if once:
                    break
                wake.wait(max(0.0, interval - (time.monotonic() - started)))
                if wake is not stop:
                    wake.clear()
        finally:
            self.bus.emit("watch_stopped", None, ticks=ticks)
            self.pool.shutdown(wait=False, cancel_futures=True)
