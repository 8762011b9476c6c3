"""Dependency cascades: after the watcher restarts (or recreates) a service, every
dependent whose ``depends_on`` entry says ``restart: true`` (compose-spec; default false)
is restarted too, once its dependency is healthy again, in dependency order.  Such a
restart counts against the dependent's own budget and circuit (``decide.charge``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from typing import Any

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import argv, audit, containers
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.watch.decide import Action, charge
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.restart_policy import RestartPolicy
from phoenix_compose.watch.state import StateStore


def restarts_with(stack: Stack, name: str, dep: str) -> bool:
    return dep in stack.services[name].restarts_with


def dependents(stack: Stack, root: str) -> list[str]:
    """What a restart of ``root`` cascades to, transitively, in dependency order."""
    chosen, out = {root}, []
    for name in stack.order():
        if name != root and any(restarts_with(stack, name, d) for d in chosen
                                if d in stack.services[name].depends_on):
            chosen.add(name)
            out.append(name)
    return out


class Cascader:
    def __init__(self, stack: Stack, run: containers.Runner, bus: EventBus, store: StateStore,
                 policies: Mapping[str, RestartPolicy], clock: Callable[[], float],
                 rand: Callable[[], float], stop: threading.Event | None = None) -> None:
        self.stack, self.run, self.bus, self.store = stack, run, bus, store
        self.policies, self.clock, self.rand = policies, clock, rand
        self.stop = stop or threading.Event()
        self.counted: list[str] = []  # every cascade restart made (for metrics and tests)
        self.native = NativeHealth.for_stack(stack)  # the watcher shares its own

    def launch(self, root: str, cause: str, busy: dict[str, Future], pool: Executor) -> None:
        """Run the cascade of ``root`` in ``pool``; its dependents are ``busy`` meanwhile
        (the watcher leaves them alone)."""
        names = [n for n in dependents(self.stack, root) if n not in busy]
        if not names or self.stop.is_set():
            return
        future = pool.submit(self, root, cause)
        for name in names:
            busy[name] = future
        future.add_done_callback(lambda f: [busy.pop(n, None) for n in names
                                            if busy.get(n) is f])

    def __call__(self, root: str, cause: str) -> dict[str, Any]:
        """Restart the dependents of ``root`` (just restarted because of ``cause``)."""
        planned = dependents(self.stack, root)
        started = time.monotonic()
        self.bus.emit("cascade_started", root, cause=cause, services=planned)
        restarted, skipped = [root], {}
        for name in planned:
            deps = [d for d in self.stack.services[name].depends_on
                    if d in restarted and restarts_with(self.stack, name, d)]
            if not deps:
                skipped[name] = "no dependency of it was restarted"
                continue
            waiting = next((d for d in deps if not self.wait_healthy(d)), None)
            if waiting is not None:
                skipped[name] = f"{waiting} did not become healthy"
                continue
            why = self._restart(name, root, cause)
            if why:
                skipped[name] = why
            else:
                restarted.append(name)
        result = {"cause": cause, "restarted": restarted[1:], "skipped": skipped,
                  "duration_s": round(time.monotonic() - started, 2)}
        self.bus.emit("cascade_finished", root, **result)
        return result

    def _restart(self, name: str, root: str, cause: str) -> str:
        """Restart one dependent under its own budget; why not ("" when it was)."""
        with self.store.update() as records:
            verdict = charge(records.get(name), self.policies[name], self.clock(), self.rand)
            records[name] = verdict.record
        for event in verdict.events:  # circuit_open
            self.bus.emit(event["type"], name)
        if verdict.action is not Action.RESTART:
            return verdict.reason
        spec = self.stack.services[name]
        self.bus.emit("restart_started", name, reason=f"cascade from {root}", detail=cause,
                      attempt=verdict.record.attempt,
                      restart_count=verdict.record.restart_count,
                      circuit=verdict.record.circuit, next_allowed_in_s=0.0)
        grace = int(spec.stop_grace)
        audit.note_stops(self.store.stops_log, [name])  # our restart stops it: meant
        try:
            self.run(argv.restart(spec.container, timeout=grace), timeout=120)
        except CommandError as exc:
            self.bus.emit("restart_failed", name, error=str(exc).splitlines()[0])
            return "restart failed"
        self.counted.append(name)
        self.bus.emit("restart_succeeded", name, cascade=root)
        return ""

    def wait_healthy(self, name: str) -> bool:
        """Until ``name`` runs healthy (driving its checks, as podman 4.3 has no timers
        here), at most its start period + interval x retries + 30 s."""
        spec = self.stack.services[name]
        deadline = time.monotonic() + (spec.health.grace if spec.health else 0) + 30
        while not self.stop.is_set() and time.monotonic() < deadline:
            state = containers.inspect(self.run, [spec.container]).get(spec.container)
            state = self.native.apply(state) if state is not None else None
            if state is not None and state.running and state.health in ("", "healthy"):
                return True
            if state is not None and state.running:  # native or exec, as the watcher's
                self.native.check(self.run, spec.container,
                                  spec.health.timeout if spec.health else 30, state)
                continue
            self.stop.wait(0.25)
        return False
