"""The act side of :mod:`.edgedecide`: the watcher keeps the edge's servers in step with
the replicas it heals (issue 26, item 4), through the env's runtime API
(``StateDir.edge``; :class:`..runtime.edgeproc.Edge`).  Nothing is done for the edge when
it does not run; only servers of this env's edged services' replicas are touched.

- ``on_event`` (a bus subscriber, called as podman reports the event): a replica that
  died, was stopped, killed or removed: its server to ``maint`` in every backend of its
  service, when it was ``ready`` or ``drain`` (a server ``up`` already took out, or
  deleted, is not ours).  Such a server is remembered as *out*.
- ``tick`` (each tick, after the observation): a replica found not running is taken out
  the same way; one that is out and healthy again rejoins in the background, as ``up``
  joins a replica (:meth:`..runtime.edgeup.EdgeKeeper.join`: the address from
  ``podman port``, so a recreated container's new port is followed; ``ready``).  So does
  a healthy replica whose server is in ``maint`` or missing though this guard did not take
  it out (a watcher restarted since, an event missed), while nothing administers the stack.
- A failing API is a ``watch_error``; the next event or tick tries again."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

from phoenix_compose.edge.api import RuntimeAPI
from phoenix_compose.edge.model import State
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import containers, locks
from phoenix_compose.runtime.edgeplan import Route, routes
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import Clock
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.edgedecide import EdgeMove, on_event, on_observation
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.observe import Observation
from phoenix_compose.watch.units import units

JOIN_TIMEOUT_S = 30.0  # the rejoin's own health wait (the replica was just seen healthy)


class EdgeGuard:
    def __init__(self, stack: Stack, state: StateDir, run: containers.Runner, bus: EventBus,
                 api: Callable[[], RuntimeAPI | None] | None = None,
                 clock: Clock | None = None, active: bool = True) -> None:
        self.bus, self.active = bus, active  # not active: the watch heals nothing
        if active:
            bus.subscribe(self.on_event, ["container_event"])
        self.units = {n: u for n, u in units(stack).items() if u.spec.edged}
        self.replicas = {u.container: n for n, u in self.units.items()}  # container -> unit
        self.routes: dict[str, list[Route]] = {}
        for route in routes(stack):
            self.routes.setdefault(route.service, []).append(route)
        self.api = api or (lambda: _running_api(state))
        # up/down/restart hold the env: the edge is theirs (checked again before a rejoin acts)
        self.administered: Callable[[], bool] = lambda: locks.is_held(state.lock_file)
        self.keeper = EdgeKeeper(state, run, lambda *_: None, clock or Clock())
        self.out: set[str] = set()  # units whose server the watcher took out
        self.joining: set[str] = set()
        self._lock = threading.Lock()

    def on_event(self, event: dict[str, Any]) -> None:
        move = on_event(event, self.replicas)
        if move is not None and not self._renamed(move):
            self.take_out(move)

    def _renamed(self, move: EdgeMove) -> bool:
        """The event is of a container that no longer holds its name: a start-first roll
        renamed a new replica into it (an event read late must not take that one out)."""
        if not move.id:
            return False
        try:
            now = containers.inspect(self.keeper.run, [move.container]).get(move.container)
        except ComposeRuntimeError:
            return False  # podman does not answer: the event is taken as it says
        return now is not None and bool(now.id) and not now.id.startswith(move.id) \
            and not move.id.startswith(now.id)

    def tick(self, observed: Mapping[str, Observation], busy: set[str] | Mapping[str, Any],
             stack_down: bool, pool: Executor) -> None:
        servers: dict[tuple[str, str], State] | None = None  # the edge's, read once a tick
        for name in (self.units.keys() & observed.keys()) if self.active else ():
            with self._lock:
                out, joining = name in self.out, name in self.joining
            if not (out or stack_down or joining or name in busy) and observed[name].status.ok:
                servers = self._servers() if servers is None else servers
                out = self._absent(name, servers)  # out of the edge, though not by this guard
            move = on_observation(name, self.units[name].container, observed[name], out=out,
                                  busy=name in busy or joining, stack_down=stack_down)
            if move is not None and move.state is State.MAINT:
                self.take_out(move)
            elif move is not None:
                with self._lock:
                    self.joining.add(name)
                pool.submit(self.rejoin, move)

    def _servers(self) -> dict[tuple[str, str], State]:
        """Each server's state by (backend, server); empty when the edge does not run or
        does not answer (nothing is then judged absent)."""
        try:
            api = self.api()
            return {} if api is None else {(s.backend, s.server): s.state
                                           for s in api.servers_state()}
        except ComposeRuntimeError:
            return {}

    def _absent(self, name: str, servers: Mapping[tuple[str, str], State]) -> bool:
        """A healthy replica with no ready (or draining) server in one of its backends, while
        nothing administers the stack: out of the edge, though this guard did not take it
        out (a watcher started since, an event missed, or ``up`` deleted the server of a
        replica dead at its end), so it rejoins as one the guard took out does."""
        unit = self.units[name]
        return bool(servers) and any(
            servers.get((r.backend, unit.container), State.MAINT) is State.MAINT
            for r in self.routes.get(unit.spec.name, []))

    def take_out(self, move: EdgeMove) -> None:
        """``move``'s server to maint in each of its service's backends, if it serves."""
        try:
            api = self.api()
            if api is None:
                return
            for route in self.routes.get(self.units[move.unit].spec.name, []):
                current = {s.server: s for s in api.servers_state(route.backend)}
                server = current.get(move.container)
                if server is None or server.state is State.MAINT:
                    continue
                api.set_state(route.backend, move.container, State.MAINT)
                with self._lock:
                    self.out.add(move.unit)
                self.bus.emit("edge_out", move.unit, container=move.container,
                              backend=route.backend, reason=move.reason)
        except ComposeRuntimeError as exc:  # the API's (EdgeError), or podman's
            self.bus.emit("watch_error", move.unit, error=str(exc).splitlines()[0])

    def rejoin(self, move: EdgeMove) -> None:
        """``move``'s replica back in each backend once healthy, at its current address."""
        unit = self.units[move.unit]
        try:
            api = self.api()
            if api is None:
                return
            self.keeper.await_health(unit.spec, move.container, JOIN_TIMEOUT_S)
            if self.administered():  # taken since the tick: up may be draining this one
                return  # still out: a later tick tries again
            joined = [route.backend for route in self.routes.get(unit.spec.name, [])
                      if self.keeper.join(api, route, unit.spec, [move.container],
                                          JOIN_TIMEOUT_S)]
            if joined:
                with self._lock:
                    self.out.discard(move.unit)
                self.bus.emit("edge_in", move.unit, container=move.container,
                              backends=joined, reason=move.reason)
        except ComposeRuntimeError as exc:  # the API's, podman's, or a check never passing
            self.bus.emit("watch_error", move.unit, error=str(exc).splitlines()[0])
        finally:
            with self._lock:
                self.joining.discard(move.unit)


def _running_api(state: StateDir) -> RuntimeAPI | None:
    edge = Edge(state)
    return edge.api() if edge.pid() is not None else None
