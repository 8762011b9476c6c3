"""HealthMonitor: the foreground loop that heals a stack (``inv health.watch``).

Each tick is observe (:mod:`.observe`) -> decide (:mod:`.decide`, pure) -> act: restarts and
recreations run in the background, so a slow one never delays the next tick.  Nothing is
healed while ``inv up/down/restart`` holds the env lock, or after ``inv down``.  Podman
failing or hanging becomes a ``watch_error`` event and the next tick tries again.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from phoenix_compose.runtime import argv, audit, commands, containers, locks, ownership
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.cascade import Cascader
from phoenix_compose.watch.decide import Action, decide, seen
from phoenix_compose.watch.drift import DriftWatch
from phoenix_compose.watch.edgeguard import EdgeGuard
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.loop import OnTick, Watched, WatchLoop
from phoenix_compose.watch.observe import HealthStatus, Observation, Observer, statuses
from phoenix_compose.watch.oom import OomDetector
from phoenix_compose.watch.schedule import CheckScheduler
from phoenix_compose.watch.state import ServiceRecord, StateStore
from phoenix_compose.watch.units import unit_policies


class HealthMonitor:
    def __init__(self, stack: Stack, state: StateDir, *, run: containers.Runner = commands.run,
                 bus: EventBus | None = None, clock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random,
                 overrides: dict[str, Any] | None = None, heal: bool = True,
                 probe_server: bool | None = None) -> None:  # None: when run is the real one
        self.stack, self.state, self.run, self.bus = stack, state, run, bus or EventBus()
        self.clock, self.rand, self.heal = clock, rand, heal
        self.store = StateStore(state)
        self.warnings: list[tuple[str, str]] = []  # shown once the watch starts
        self.policies = unit_policies(stack, overrides, self.warnings)  # by unit
        self.last_status: dict[str, str] = {}
        self.pool = ThreadPoolExecutor(max_workers=max(4, min(len(stack.services) + 2, 32)),
                                       thread_name_prefix="phoenix-watch")
        self.oom = OomDetector()
        self.owner = Owner.of(state, stack.project)
        server = run is commands.run if probe_server is None else probe_server
        self.observer = Observer(stack, run, self.pool, oom=self.oom, owner=self.owner,
                                 native=NativeHealth.for_stack(stack, state.probe_health, server))
        self.observer.stopped_by_us = lambda service, since: audit.stopped_by_us(
            state.stops_log, service, since)
        self.restarts: dict[str, Future] = {}
        self.metrics: Any = None
        self.stopping = threading.Event()
        self.cascade = Cascader(stack, run, self.bus, self.store, self.policies, clock, rand,
                                self.stopping)
        self.cascade.native = self.observer.native
        self._oom_reported: set[tuple[str, Any]] = set()
        self.edge = EdgeGuard(stack, state, run, self.bus, active=heal)  # replicas in the edge
        self.drift = DriftWatch(stack, run, state.applied, self.bus.emit, self.owner)
        self.loop = WatchLoop(Watched(
            tick=lambda: self.tick(), bus=self.bus, project=stack.project,
            services=sorted(stack.services), healing=heal, warnings=self.warnings,
            root=state.root, env=state.env, oom=self.oom, observer=self.observer,
            lag=self._lag, stopping=self.stopping, pool=self.pool))

    @property
    def scheduler(self) -> CheckScheduler | None:  # the loop's, while it runs: checks on it
        return self.loop.scheduler

    def _lag(self, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.lag.observe(seconds)

    def observe(self) -> dict[str, Observation]:
        return self.observer.observe({n for n, r in self.store.read().items() if r.seen})

    # -- one tick ----------------------------------------------------------------------------
    def tick(self) -> dict[str, HealthStatus]:
        stack_down = locks.is_held(self.state.lock_file) or audit.taken_down(
            self.state.audit_log)
        removed = audit.removed_by_user(self.state.audit_log, list(self.stack.services))
        due: dict[Action, list[str]] = {Action.RESTART: [], Action.RECREATE: []}
        with self.store.update() as records:
            observed = self.observer.observe({n for n, r in records.items() if r.seen},
                                             run_checks=self.scheduler is None)
            now = self.clock()
            for name, obs in observed.items():
                self._report_change(name, obs)
                self._report_oom(name, obs)
                record = records.get(name, ServiceRecord())
                if name in self.restarts or not self.heal:
                    records[name] = seen(record, obs)
                    continue
                verdict = decide(obs, self.policies[name], record, now, self.rand,
                                 stack_down=stack_down or name in removed)
                records[name] = verdict.record
                for event in verdict.events:
                    self.bus.emit(event["type"], name, **{k: v for k, v in event.items()
                                                           if k != "type"})
                due.get(verdict.action, []).append(name)
            result = statuses(observed, records)
            expected = {n for n, r in records.items() if r.seen} | {
                n for n, s in self.stack.services.items() if not s.profiles}
        self._act(due, observed)
        self.edge.tick(observed, self.restarts, stack_down, self.pool)  # out, or back
        if self.scheduler is not None:
            self.scheduler.update(self.observer.checked())
        if not stack_down:
            self.drift.maybe(self.pool, now, lambda n: n in expected and n not in removed)
        if self.metrics is not None:
            self.metrics.update(result)
        return result

    def _act(self, due: dict[Action, list[str]], observed: dict[str, Observation]) -> None:
        for name in due[Action.RESTART]:
            unit = self.observer.units[name]  # a service's first container, or a replica
            audit.note_stops(self.state.stops_log, [name])  # our restart stops it: meant
            self._launch([name], argv.restart(unit.container, timeout=unit.grace), observed[name])
        recreate = due[Action.RECREATE]
        if recreate and (foreign := ownership.owned_containers(self.run, self.owner)[1]):
            # podman-compose up would tear down the other root's containers of the project
            self.bus.emit("watch_error", None, error=f"not recreating {', '.join(recreate)}: "
                          f"{ownership.summary(self.stack.project, foreign)}")
            recreate = []
        if recreate:
            services = sorted({self.observer.units[n].spec.name for n in recreate})
            profiles = sorted({p for n in services for p in self.stack.services[n].profiles})
            command = argv.recreate(self.stack.compose_file, self.stack.project, services,
                                    profiles)
            self._launch(recreate, command, observed[recreate[0]])

    def _launch(self, names: list[str], command: argv.Argv, obs: Observation) -> None:
        records = self.store.read()
        for name in names:
            rec = records.get(name, ServiceRecord())
            wait = round(max(0.0, rec.next_restart_at - self.clock()), 2)
            self.bus.emit("restart_started", name, reason=obs.status, detail=obs.error,
                          attempt=rec.attempt, restart_count=rec.restart_count,
                          circuit=rec.circuit, next_allowed_in_s=wait)
        future = self.pool.submit(self.run, command, timeout=120)
        for name in names:
            self.restarts[name] = future
        future.add_done_callback(lambda f: self._finished(names, f, obs.error or obs.status))

    def _finished(self, names: list[str], future: Future, cause: str) -> None:
        error, units = future.exception(), self.observer.units  # looked at anew next tick
        self.observer.fresh.stale([units[n].container for n in names if n in units])
        for name in names:
            if error is None:
                self.bus.emit("restart_succeeded", name)
                self.cascade.launch(name, cause, self.restarts, self.pool)
            else:
                self.bus.emit("restart_failed", name, error=str(error).splitlines()[0])
            if self.restarts.get(name) is future:
                self.restarts.pop(name, None)

    def _report_oom(self, name: str, obs: Observation) -> None:
        state = obs.state
        if obs.oom is None or state is None:
            return
        key = (state.id, state.started_at)
        if not state.running and key in self._oom_reported:
            return  # a stopped container's kill is reported once
        self._oom_reported.add(key)
        self.bus.emit("oom_killed", name, **oom_fields(self.observer.units[name].spec, obs))

    def _report_change(self, name: str, obs: Observation) -> None:
        if (previous := self.last_status.get(name)) != obs.status:
            self.last_status[name] = obs.status
            self.bus.emit("health_changed", name, **{"from": previous, "to": obs.status},
                          detail=obs.error)

    # -- the loop ----------------------------------------------------------------------------
    def run_forever(self, interval: float, stop: threading.Event, once: bool = False,
                    on_tick: OnTick | None = None, wake: threading.Event | None = None,
                    check_limit: int | None = None) -> None:
        """Tick every ``interval`` until ``stop``; ``wake`` (set by container events, a
        failed check or ``stop``) starts the next tick at once (see :mod:`.loop`)."""
        self.loop.run(interval, stop, once, on_tick, wake, check_limit)


def oom_fields(spec: ServiceSpec, obs: Observation) -> dict[str, Any]:
    state, kill = obs.state, obs.oom
    assert state is not None and kill is not None
    return {"container": state.name, "limit": spec.memory_limit,
            "limit_bytes": state.memory_limit or None, "peak_bytes": kill.peak_bytes,
            "process": kill.process or None, "source": kill.source,
            "main_process": not state.running}
