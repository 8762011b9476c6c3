"""What the watcher sees in one tick.

Checks first, for every container that was running with a healthcheck at the last look
(``podman healthcheck run``, concurrently, so a tick costs about the slowest check), then
one batched ``podman inspect`` gives every container's state and podman's aggregate health
after our runs (FailingStreak against retries).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Executor
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.containers import ContainerState, ServiceState
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.watch.restart_policy import Circuit

_STOP_CODES = (0, 128 + 2, 128 + 9, 128 + 15)  # exit, SIGINT, SIGKILL, SIGTERM


@dataclass(frozen=True)
class Observation:
    state: ContainerState | None
    status: ServiceState  # healthy, unhealthy, starting, running, stopped or missing
    response_time: float | None = None
    error: str | None = None
    deliberate: bool = False  # stopped, and the stop was meant (see Observer.deliberate)

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
        data = asdict(self)
        data["last_check"] = self.last_check.isoformat(timespec="seconds")
        data["uptime"] = round(self.uptime.total_seconds(), 1) if self.uptime else None
        data["response_time"] = round(self.response_time, 3) if self.response_time else None
        return data


class Observer:
    def __init__(self, stack: Stack, run: containers.Runner, pool: Executor,
                 check_timeout: float = 60.0) -> None:
        self.stack = stack
        self.run = run
        self.pool = pool
        self.check_timeout = check_timeout
        self._user_stops: dict[tuple[str, Any], bool] = {}
        self._timeouts = {s.container: s.health.timeout for s in stack.services.values()
                          if s.health is not None}
        self._last: dict[str, ContainerState] | None = None

    def observe(self, seen: set[str]) -> dict[str, Observation]:
        """Every service of the running stack; ``seen``: services whose container existed
        before (a service behind a profile that never ran is not part of the stack)."""
        names = [s.container for s in self.stack.services.values()]
        if self._last is None:
            self._last = containers.inspect(self.run, names)
        due = [st.name for st in self._last.values() if st.running and st.health]
        timings = dict(zip(due, self.pool.map(self._check, due)))
        states = self._last = containers.inspect(self.run, names)
        return {s.name: self._observation(states.get(s.container), *timings.get(
                    s.container, (None, None)))
                for s in self.stack.services.values()
                if s.container in states or not s.profiles or s.name in seen}

    def _check(self, container: str) -> tuple[float, str | None]:
        """How long the check took, and why it timed out (None when it did not)."""
        health = self._timeouts.get(container)
        start = time.monotonic()
        result = containers.run_check(self.run, container, health or self.check_timeout)
        timed_out = result.stderr if result.code == containers.CHECK_TIMED_OUT else None
        return time.monotonic() - start, timed_out

    def _observation(self, state: ContainerState | None, elapsed: float | None,
                     timed_out: str | None = None) -> Observation:
        if state is not None and state.running and timed_out:
            return Observation(state, ServiceState.UNHEALTHY, elapsed, timed_out)
        if state is None:
            return Observation(None, ServiceState.MISSING, error="no container")
        if not state.running:
            return Observation(state, ServiceState.STOPPED,
                               error=f"{state.status}, exit code {state.exit_code}",
                               deliberate=self.deliberate(state))
        if not state.health:
            return Observation(state, ServiceState.RUNNING, elapsed)
        status = state.service_state
        error = (state.last_output or None) if status is ServiceState.UNHEALTHY else None
        return Observation(state, status, elapsed, error)

    def deliberate(self, state: ContainerState) -> bool:
        """Was this exit meant?  podman 4.3 does not expose "stopped by user" and does not
        always log a ``stop`` event, so: an exit code that a stop or kill causes (0, or
        SIGINT, SIGKILL, SIGTERM) unless the kernel's OOM killer did it, or a stop/kill
        event since the container's last start.  Any other exit is a crash."""
        if state.status == "created" or state.oom_killed:
            return False
        if state.exit_code in _STOP_CODES:
            return True
        key = (state.name, state.started_at)
        if key not in self._user_stops:
            since = state.started_at.timestamp() if state.started_at else 0
            result = self.run(argv.events_since(state.name, since), timeout=30)
            self._user_stops[key] = bool({"stop", "kill"} & set(result.stdout.split()))
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
