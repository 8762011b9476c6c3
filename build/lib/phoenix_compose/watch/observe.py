"""What the watcher sees in one tick.

Checks first, for every container that was running with a healthcheck at the last look
(``podman healthcheck run``, concurrently, so a tick costs about the slowest check), then
one batched ``podman inspect`` gives every container's state and podman's aggregate health
after our runs (FailingStreak against retries).  With the check scheduler (no checks in
the tick), the inspect covers only the containers :mod:`.freshness` names: those an event
or an exec check made stale, all of them now and then and whenever events may be lost.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.containers import ContainerState, ServiceState
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.watch.freshness import Freshness
from phoenix_compose.watch.oom import OomDetector, OomKill
from phoenix_compose.watch.restart_policy import Circuit
from phoenix_compose.watch.schedule import CheckResult
from phoenix_compose.watch.units import units

SETTLE_POLLS, SETTLE_STEP_S = 10, 0.1  # how long podman may take to log the exit cleanup


@dataclass(frozen=True)
class Observation:
    state: ContainerState | None
    status: ServiceState  # healthy, unhealthy, starting, running, stopped or missing
    response_time: float | None = None
    error: str | None = None
    deliberate: bool = False  # stopped, and the stop was meant (see Observer.deliberate)
    oom: OomKill | None = None  # the OOM killer hit it: its main process, or one inside

    @property
    def created_only(self) -> bool:
        """Created but never started (``up --no-start``, or a start still under way)."""
        return self.state is not None and self.state.status == "created"


@dataclass(frozen=True)
class HealthStatus:
    """One service's health, as the design's data model names it."""

    service_name: str
    status: ServiceState
    last_check: datetime
    response_time: float | None
    error_message: str | None
    restart_count: int
    uptime: timedelta | None
    circuit: Circuit = Circuit.CLOSED
    paused: bool = False

    @property
    def ok(self) -> bool:
        return self.status.ok

    def as_dict(self) -> dict[str, Any]:
        """In the one JSON vocabulary of every ``--json`` output (``service``, ``status``,
        ``restarts``, ``uptime_s``, durations in ``*_s``: docs/guide/running.md)."""
        return {"service": self.service_name, "status": str(self.status),
                "last_check": self.last_check.isoformat(timespec="seconds"),
                "response_time_s": round(self.response_time, 3) if self.response_time else None,
                "error": self.error_message, "restarts": self.restart_count,
                "uptime_s": round(self.uptime.total_seconds(), 1) if self.uptime else None,
                "circuit": str(self.circuit), "paused": self.paused}


class Observer:
    def __init__(self, stack: Stack, run: containers.Runner, pool: Executor,
                 check_timeout: float = 60.0, oom: OomDetector | None = None,
                 owner: Owner | None = None, native: NativeHealth | None = None) -> None:
        self.stack = stack
        self.native = native or NativeHealth.for_stack(stack)
        self.owner = owner  # a container of the stack's name that is not its is left alone
        self.run = run
        self.pool = pool
        self.check_timeout = check_timeout
        self._user_stops: dict[tuple[str, Any], bool] = {}
        # our own record of the stops we made (runtime.audit.stopped_by_us), by service
        self.stopped_by_us: Callable[[str, datetime], bool] = lambda _s, _t: False
        self.sleep: Callable[[float], None] = time.sleep
        self.oom = oom or OomDetector()
        self._oom_kills: dict[tuple[str, Any], OomKill | None] = {}
        self.units = units(stack)  # a service's replicas are units of their own
        self._timeouts = {u.container: u.spec.health.timeout for u in self.units.values()
                          if u.spec.health is not None}
        self._last: dict[str, ContainerState] | None = None
        self.foreign: set[str] = set()  # container names another stack root holds
        self.results: dict[str, CheckResult] = {}  # container -> its latest check
        self._results_lock = threading.Lock()
        self.fresh = Freshness()  # which containers a tick inspects (service.py feeds it)

    def observe(self, seen: set[str], run_checks: bool = True) -> dict[str, Observation]:
        """Every unit (:mod:`.units`) of the running stack; ``seen``: units whose container existed
        before (a service behind a profile that never ran is not part of the stack).
        ``run_checks``: check every running container first (at most ``limit`` at once);
        else the scheduler's latest results (:mod:`.schedule`) are used."""
        names = [u.container for u in self.units.values()]
        if run_checks:
            if self._last is None:
                self._last = self._look(names)
            due = [st.name for st in self._last.values() if st.running and st.health]
            checked = dict(zip(due, self.pool.map(self.check, due)))
            with self._results_lock:
                self.results.update(checked)
        states = self._last = self._look(names if run_checks else self.fresh.plan(names))
        self.oom.forget({st.id for st in states.values()})  # counters of gone containers
        with self._results_lock:
            results, self.results = self.results, {}
        self.native.save()
        return {u.name: self._observation(states.get(u.container), results.get(u.container))
                for u in self.units.values() if u.container not in self.foreign
                and u.spec.replicas > 0  # 0 replicas: none to heal
                and (u.container in states or not u.spec.profiles or u.name in seen)}

    def _look(self, names: list[str]) -> dict[str, ContainerState]:
        """The last look's states, those of ``names`` inspected anew (:mod:`.freshness`: all,
        or those an event named since).  One of another stack root is not observed."""
        try:
            states = containers.inspect(self.run, names)
        except CommandError:
            self.fresh.failed()  # the next tick looks at everything
            raise
        if self.owner is not None:
            self.foreign = (self.foreign - set(names)) | {
                n for n, s in states.items() if not self.owner.owns_container(s)}
        kept = {n: s for n, s in (self._last or {}).items() if n not in names}
        return {**kept, **{n: s for n, s in states.items() if n not in self.foreign}}

    def checked(self) -> list[str]:
        """Containers the last look found running with a healthcheck."""
        return [st.name for st in (self._last or {}).values() if st.running and st.health]

    def record(self, container: str, result: CheckResult) -> None:
        """A scheduled check's result, for the next observation."""
        if not self.native.native(container):  # podman's own health of it has changed:
            self.fresh.stale([container])  # marked before the result is seen
        with self._results_lock:
            self.results[container] = result

    def close(self) -> None:
        """End what the checks keep running (the native probe helper)."""
        self.native.close()

    def check(self, container: str) -> CheckResult:
        """One check, held to its own timeout (podman 4.3 ignores it)."""
        health = self._timeouts.get(container)
        start = time.monotonic()
        try:  # native or exec (runtime.checks); the last look gives its process
            result = self.native.check(self.run, container, health or self.check_timeout,
                                       (self._last or {}).get(container))
        except CommandError:  # e.g. replaced meanwhile by one without a healthcheck: the
            return CheckResult(time.monotonic() - start)  # inspect that follows tells
        timed_out = result.stderr if result.code == containers.CHECK_TIMED_OUT else None
        return CheckResult(time.monotonic() - start, timed_out, result.code == 0)

    def _observation(self, state: ContainerState | None, check: CheckResult | None
                     ) -> Observation:
        elapsed, timed_out = (check.elapsed, check.timed_out) if check else (None, None)
        if state is not None and state.running and timed_out:
            return Observation(state, ServiceState.UNHEALTHY, elapsed, timed_out)
        if state is None:
            return Observation(None, ServiceState.MISSING, error="no container")
        state = self.native.apply(state)  # the health of a native probe is ours
        if not state.running:
            oom = self.oom_killed(state)
            return Observation(state, ServiceState.STOPPED, error="oom-killed" if oom else
                               f"{state.status}, exit code {state.exit_code}",
                               deliberate=not oom and self.deliberate(state), oom=oom)
        inside = self.oom.sample(state.id, state.cgroup_path)
        if not state.health:
            return Observation(state, ServiceState.RUNNING, elapsed, oom=inside)
        status = state.service_state
        error = (state.last_output or None) if status is ServiceState.UNHEALTHY else None
        return Observation(state, status, elapsed, error, oom=inside)

    def oom_killed(self, state: ContainerState) -> OomKill | None:
        """Asked once per container run (a kill's kernel log line may be a moment late)."""
        key = (state.id, state.started_at)
        if key not in self._oom_kills:
            self._oom_kills[key] = self.oom.killed(state.id, state.exit_code,
                                                   state.oom_killed)
        return self._oom_kills[key]

    def deliberate(self, state: ContainerState) -> bool:
        """Was this exit meant?  Only when we made the stop (``stop``, ``down``, ``rm``...:
        our audit record names the service since the container's last start), or podman
        logged one: a ``stop`` or ``kill`` event, or, podman 4.3 logging no ``stop`` event,
        the second ``cleanup`` after ``died`` that only ``podman stop`` makes (the stop
        command cleans up after conmon's own exit cleanup; measured, see README).  An exit
        code alone is no evidence: a main process killed from the host (137) is a crash."""
        if state.status == "created":
            return False
        key = (state.name, state.started_at)
        if key not in self._user_stops:
            service = next((u.name for u in self.units.values()
                            if u.container == state.name), state.name)
            self._user_stops[key] = bool(
                state.started_at and self.stopped_by_us(service, state.started_at)) or \
                podman_stopped(self.run, state, self.sleep)
        return self._user_stops[key]


def statuses(observed: Mapping[str, Observation], records: Mapping[str, Any]
             ) -> dict[str, HealthStatus]:
    """The design's HealthStatus of every observed service (``records``: ServiceRecords)."""
    now = datetime.now(timezone.utc)
    out = {}
    for name, obs in observed.items():
        rec = records.get(name)
        started = obs.state.started_at if obs.state and obs.state.running else None
        out[name] = HealthStatus(name, obs.status, now, obs.response_time, obs.error,
                                 rec.restart_count if rec else 0,
                                 now - started if started else None,
                                 rec.circuit if rec else Circuit.CLOSED,
                                 rec.paused if rec else False)
    return out


def podman_stopped(run: containers.Runner, state: ContainerState,
                   sleep: Callable[[float], None]) -> bool:
    """podman's own evidence of a stop since the container's last start.  Its exit
    cleanup comes a moment after ``died``: wait for it (at most about a second)."""
    since = state.started_at.timestamp() if state.started_at else 0
    seen_cleanup = False
    for _ in range(SETTLE_POLLS):
        # by id: a name a start-first swap moved on also names the old container,
        # whose stop (died, then two cleanups) is not this one's
        logged = run(argv.events_since(state.id or state.name, since), timeout=30).stdout.split()
        if {"stop", "kill", "restart"} & set(logged):  # podman restart: a stop too
            return True
        after = logged[len(logged) - logged[::-1].index("died"):] if "died" in logged else []
        if after.count("cleanup") >= 2:
            return True
        if seen_cleanup:  # one cleanup, and a moment later still one: conmon's alone
            return False
        seen_cleanup = "cleanup" in after
        sleep(SETTLE_STEP_S)
    return False
