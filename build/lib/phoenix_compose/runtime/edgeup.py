"""The edge in ``up``, ``down`` and ``status`` (issue 26, item 3): the running edge follows
the stack.

- :meth:`EdgeKeeper.sync` (after ``up``'s start loop, and after a rollback): the edge runs
  while the stack has routes (:func:`.edgeplan.routes`) and is stopped when it has none;
  each running replica of a routed service joins its backend through the runtime API once
  its health check passes (``podman healthcheck run``: the check the start loop waits for;
  no check: once it runs), ready; a server whose container is no longer a replica is
  drained (its ``stop_grace_period``) and deleted.  A replica that never passes is never
  added: :class:`.errors.ComposeRuntimeError` names it (``up`` then rolls back).
- :func:`with_edge`: each replica's server state and weight, for ``status``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from phoenix_compose.edge import drain
from phoenix_compose.edge.api import RuntimeAPI, ServerState
from phoenix_compose.edge.haproxycfg import render
from phoenix_compose.edge.model import Server, State
from phoenix_compose.errors import ComposeRuntimeError, EdgeError
from phoenix_compose.fileio import read_bytes
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.edgeplan import Route, edge_config, parse_port, routes, server
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.runtime.startup import Clock, Report
from phoenix_compose.runtime.status import ServiceStatus
from phoenix_compose.statedir import StateDir


@dataclass
class EdgeKeeper:
    state: StateDir
    run: containers.Runner
    report: Report
    clock: Clock

    @property
    def edge(self) -> Edge:
        return Edge(self.state)

    def sync(self, stack: Stack, timeout: float) -> None:
        """The edge as the stack wants it (see the module's text)."""
        found = routes(stack)
        if not found:
            if self.edge.stop():
                self.report("*", "edge stopped", "no service is behind the edge")
            return
        if self.edge.pid() is None:
            self.edge.start(edge_config(stack, self.edge.socket))
            self.report("*", "edge started", _listing(found))
        elif reshaped(self.edge, stack):
            self.edge.reload(edge_config(stack, self.edge.socket, carried(
                self.edge.api(), {r.backend for r in found})))
            self.report("*", "edge reloaded", _listing(found))
        api = self.edge.api()
        for route in found:
            spec = stack.services[route.service]
            live = self.join(api, route, spec, spec.containers, timeout)
            self.leave(api, route, spec, [s for (b, s) in _servers(api) if b == route.backend
                                          and s not in live])

    def release(self, stack: Stack, gone: Sequence[str]) -> None:
        """Before ``gone`` are removed (or recreated): their servers drained and deleted,
        so no request is sent to a container being stopped."""
        if not gone or self.edge.pid() is None:
            return
        api = self.edge.api()
        for route in routes(stack):
            self.leave(api, route, stack.services[route.service], gone)

    def join(self, api: RuntimeAPI, route: Route, spec: ServiceSpec,
             replicas: Iterable[str], timeout: float) -> list[str]:
        """Each of ``replicas`` that runs, once healthy, a ready server; the joined ones."""
        joined = []
        for container in replicas:
            found = self.address(container, route.target)
            if found is None:
                continue  # not running (or not made): nothing to route to
            self.await_health(spec, container, timeout)
            current = _servers(api).get((route.backend, container))
            if current is not None and (current.address, current.port) != found:
                drain.remove(api, route.backend, container, spec.stop_grace)
                current = None
            if current is None:
                api.add_server(route.backend, server(container, *found, ready=True))
            elif current.state is not State.READY:
                api.set_state(route.backend, container, State.READY)
            joined.append(container)
        return joined

    def leave(self, api: RuntimeAPI, route: Route, spec: ServiceSpec,
              replicas: Iterable[str]) -> None:
        """Drain and delete the servers of ``replicas`` (their containers stay)."""
        for container in replicas:
            if (route.backend, container) in _servers(api):
                drain.remove(api, route.backend, container, spec.stop_grace)

    def address(self, container: str, target: int) -> tuple[str, int] | None:
        """Where the host reaches ``container``'s ``target`` port (``podman port``)."""
        result = self.run(argv.port(container, f"{target}/tcp"), ok_codes=(0, 125))
        return parse_port(result.stdout) if result.code == 0 else None

    def await_health(self, spec: ServiceSpec, container: str, timeout: float) -> None:
        """Until ``container``'s health check passes (no check: at once), at most its grace
        (``start_period`` + ``interval`` x ``retries``, and one check's ``timeout``)."""
        health = spec.health
        if health is None:
            return
        deadline = self.clock.now() + min(timeout, health.grace + health.timeout)
        while self.run(argv.healthcheck_run(container), ok_codes=(0, 1, 125)).code != 0:
            if self.clock.now() >= deadline:
                raise ComposeRuntimeError(
                    f"replica {container} of service '{spec.name}' never became healthy: "
                    "it got no traffic", hint=f"`podman logs -- {container}`")
            self.clock.sleep(min(health.start_interval or 1.0, health.interval))


def _listing(found: Sequence[Route]) -> str:
    return ", ".join(f"{r.address}:{r.published} -> {r.service}" for r in found)


def reshaped(edge: Edge, stack: Stack) -> bool:
    """The running edge's frontends or backends differ from the stack's (a published port
    added or removed): its config file, servers left out, against the stack's."""
    try:
        running = read_bytes(edge.config_file).decode("utf-8", errors="replace")
    except OSError:
        return True
    return _shape(running) != _shape(render(edge_config(stack, edge.socket)))


def _shape(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith("server ")]


def carried(api: RuntimeAPI, backends: set[str]) -> dict[str, tuple[Server, ...]]:
    """The servers of ``backends`` as they are now, for a reload's config (a draining one
    goes on as maint: it was leaving)."""
    out: dict[str, list[Server]] = {}
    for s in api.servers_state():
        if s.backend in backends:
            state = State.READY if s.state is State.READY else State.MAINT
            out.setdefault(s.backend, []).append(
                Server(s.server, s.address, s.port, s.weight, state))
    return {backend: tuple(servers) for backend, servers in out.items()}


def _servers(api: RuntimeAPI) -> dict[tuple[str, str], ServerState]:
    return {(s.backend, s.server): s for s in api.servers_state()}


def with_edge(state: StateDir, rows: Sequence[ServiceStatus]
              ) -> tuple[list[ServiceStatus], list[str]]:
    """``status``: each replica's row with its server's state and weight, and a note on
    the edge itself, when the env's edge runs (else the rows as they are)."""
    edge = Edge(state)
    if (pid := edge.pid()) is None:
        return list(rows), []
    try:
        found = edge.api().servers_state()
    except EdgeError as exc:
        return list(rows), [f"edge: HAProxy pid {pid} does not answer: {exc}"]
    servers: dict[str, list[ServerState]] = {}
    for s in found:  # a replica has a server in each backend: one per routed port
        servers.setdefault(s.server, []).append(s)
    out = [_at_edge(r, servers[r.container]) if r.container in servers else r for r in rows]
    return out, [f"edge: HAProxy pid {pid}, {len(found)} server(s), runtime API "
                 f"{edge.socket}"]


def _at_edge(row: ServiceStatus, states: Sequence[ServerState]) -> ServiceStatus:
    """``row`` with its servers' states: ``edge``/``weight`` of the first backend's,
    ``at_edge`` every backend's."""
    return replace(row, edge=states[0].state.value, weight=states[0].weight,
                   at_edge=tuple(f"{s.backend}: {s.state.value} (weight {s.weight})"
                                 for s in states))
