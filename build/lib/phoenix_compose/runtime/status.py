"""``inv status``: one row per service, from one ``podman ps`` and one batched inspect."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from typing import Any

from phoenix_compose.runtime import containers
from phoenix_compose.runtime.containers import ServiceState
from phoenix_compose.runtime.stack import Stack


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str
    state: str  # podman's container state, or "missing"
    status: ServiceState
    uptime_s: float | None
    restarts: int
    ports: tuple[str, ...]
    exit_code: int | None = None
    user: str = ""  # inside the container: "root", or the user it runs as
    memory_limit: str | None = None  # deploy.resources.limits.memory (or mem_limit)
    last_exit: str | None = None  # why it last stopped, as the watcher saw it: "oom-killed"
    edge: str | None = None  # behind the edge: its server's state (ready, drain, maint)
    weight: int | None = None  # and its weight there
    # every backend it serves (one per routed port): "web.80: ready (weight 100)"
    at_edge: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def service_status(run: containers.Runner, stack: Stack,
                   states: Mapping[str, containers.ContainerState] | None = None
                   ) -> list[ServiceStatus]:
    """Every service in dependency order; a service behind an inactive profile is left out.
    ``states``: the project's containers, when just inspected (else asked of podman).
    One row per replica (``edgeup.with_edge`` adds its server's state at the edge)."""
    if states is None:
        states = containers.project_containers(run, stack.project)
    now = datetime.now(timezone.utc)
    rows = []
    for name in stack.order():
        spec = stack.services[name]
        if states.get(spec.container) is None and spec.profiles:
            continue  # behind a profile that is not running
        for container in spec.containers:  # one row per replica
            row = status_row(name, container, states.get(container), now)
            rows.append(replace(row, memory_limit=spec.memory_limit))
    return rows


def status_row(name: str, container: str, state: containers.ContainerState | None,
               now: datetime) -> ServiceStatus:
    if state is None:
        return ServiceStatus(name, container, "missing", ServiceState.MISSING, None, 0, ())
    uptime = None
    if state.running and state.started_at:
        uptime = round((now - state.started_at).total_seconds(), 1)
    return ServiceStatus(name, container, state.status, state.service_state, uptime,
                         state.restarts, state.ports,
                         None if state.running else state.exit_code,
                         state.user if state.user not in ("", "0", "0:0") else "root",
                         last_exit="oom-killed" if state.oom_killed else None)
