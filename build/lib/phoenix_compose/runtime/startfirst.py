"""Start-first updates behind the edge (issue 26, item 3): a recreated service with
``deploy.update_config.order: start-first``, while the edge runs, is not removed first.

For each batch of ``parallelism`` replicas: the new ones are created beside the old
(free ``<project>_<service>_<i>`` names, ``podman-compose up --no-recreate --scale``),
started, and added to the edge once their health check passes; then as many old ones are
drained (their ``stop_grace_period``) and removed; ``delay`` between batches.  At the end
the new replicas take the service's own names (``podman rename``: id, address and port
stay), so the planner and podman-compose see the service as they know it; the edge's
``sync`` then moves each server to its new name (same address: no request is lost).

A batch fails when a new replica never becomes healthy (it never got traffic), or fails
within ``monitor`` seconds of joining (:mod:`.monitor`: before its old ones are retired).
Then ``failure_action`` (:meth:`.UpdateConfig.on_failure`): ``rollback`` removes every new
replica and the error goes up (``up`` rolls back: exit 3); ``pause`` and ``continue`` keep
what serves and :class:`Outcome` names the failures (``up`` exits 3, no rollback).

``rollback`` and the automatic rollback roll with ``rollback_config`` when the service
writes one, else with its ``update_config`` (:func:`rollout_of`)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from phoenix_compose.config.rollout import UpdateConfig
from phoenix_compose.config.services import container_name
from phoenix_compose.edge.api import RuntimeAPI
from phoenix_compose.errors import PhoenixError
from phoenix_compose.runtime import argv, argv_compose, containers, enginesubset
from phoenix_compose.runtime.edgeplan import routes
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.monitor import watch
from phoenix_compose.runtime.plan_types import Change, Step
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict


def rollout_of(spec: ServiceSpec, rollback: bool = False) -> UpdateConfig:
    """What a roll follows: ``rollback_config`` in a rollback when the service writes one,
    else ``update_config`` (docker's rollback defaults to stop-first: see the guide)."""
    written = as_dict(spec.raw.get("deploy")).get("rollback_config") is not None
    return spec.rollback_config if rollback and written else spec.update_config


def rolling(stack: Stack, steps: Sequence[Step], edge_runs: bool, rollback: bool = False
            ) -> list[Step]:
    """The recreated steps that update start-first (only while the edge runs: the first
    ``up`` has nothing to keep serving); not a service with a ``container_name`` of its
    own (no second container can be made beside it: it is recreated as before)."""
    routed = {r.service for r in routes(stack)}
    return [s for s in steps if edge_runs and s.change is Change.RECREATE
            and s.service in routed and rollout_of(stack.services[s.service], rollback)
            .start_first
            and stack.services[s.service].container == container_name(stack.project, s.service)]


def replicas_now(spec: ServiceSpec, existing: Mapping[str, containers.ContainerState]
                 ) -> list[str]:
    """The service's numbered containers that exist, by number."""
    stem = re.escape(spec.container.rsplit("_", 1)[0])
    found = [(int(m[1]), name) for name, state in existing.items()
             if state.service == spec.name and (m := re.fullmatch(f"{stem}_([0-9]+)", name))]
    return [name for _, name in sorted(found)]


def free_names(spec: ServiceSpec, taken: Sequence[str]) -> list[str]:
    """The service's ``replicas`` lowest free ``<stem>_<i>`` names (0 replicas: none)."""
    stem, i = spec.container.rsplit("_", 1)[0], 1
    out: list[str] = []
    while len(out) < spec.replicas:
        if f"{stem}_{i}" not in taken:
            out.append(f"{stem}_{i}")
        i += 1
    return out


def roll_lines(stack: Stack, step: Step, existing: Mapping[str, containers.ContainerState]
               ) -> list[argv.Argv]:
    """The podman lines :meth:`StartFirst.roll` runs when every new replica passes (the
    edge's runtime API calls and the ``monitor`` checks aside), in its order: for ``up
    --dry-run``."""
    spec = stack.services[step.service]
    old = replicas_now(spec, existing)
    new = free_names(spec, old)
    config = rollout_of(spec)
    olds, news = config.batches(tuple(old)) + [()] * len(new), config.batches(tuple(new))
    out = [argv_compose.create_scaled(stack.compose_file, stack.project, spec.name,
                                      int(new[-1].rsplit("_", 1)[1]))] if new else []
    for number, batch in enumerate(news):
        out += [argv.start(*batch), *[argv.healthcheck_run(c) for c in batch if spec.health]]
        out += _retire_lines(spec, olds[number])
    out += _retire_lines(spec, [c for batch in olds[len(news):] for c in batch])
    return out + [argv_compose.rename(n, f) for n, f in renames(new, spec.containers, ())]


def _retire_lines(spec: ServiceSpec, old: Sequence[str]) -> list[argv.Argv]:
    return [argv.stop(*old, timeout=int(spec.stop_grace)), argv.remove_stopped(*old)] \
        if old else []


def renames(new: Sequence[str], finals: Sequence[str], kept: Sequence[str]
            ) -> list[tuple[str, str]]:
    """The new replicas that serve take the service's own names the kept old ones do not
    hold (those they hold already stay), lowest first."""
    free = [f for f in finals if f not in kept and f not in new]
    return list(zip([n for n in new if n not in finals], free))


@dataclass(frozen=True)
class Outcome:
    """What a roll left: the new replicas serving (by their final names), the old ones
    kept, and each failed batch's error (empty: every batch passed)."""

    service: str
    new: tuple[str, ...] = ()
    kept: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    paused: bool = False


@dataclass
class StartFirst:
    keeper: EdgeKeeper
    timeout: float

    def roll(self, stack: Stack, step: Step, existing: Mapping[str, containers.ContainerState],
             config: UpdateConfig | None = None) -> Outcome:
        """Replace ``step``'s service start-first (see the module's text); ``config``: the
        rollout (default: the service's ``update_config``)."""
        spec, config = stack.services[step.service], config or rollout_of(
            stack.services[step.service])
        old = replicas_now(spec, existing)
        new = free_names(spec, old)
        if new:  # 0 replicas: nothing made, every old one retired
            with enginesubset.subset_file(stack.compose_file, [spec.name]) as engine:
                self.keeper.run(argv_compose.create_scaled(
                    stack.compose_file, stack.project, spec.name,
                    int(new[-1].rsplit("_", 1)[1]), engine=engine), timeout=600)
        news, olds = config.batches(tuple(new)), config.batches(tuple(old)) + [()] * len(new)
        served, kept, failures = self.batches(stack, spec, config, news, olds)
        rest = [c for batch in olds[len(news):] for c in batch if c not in kept]
        self.retire(stack, spec, rest)  # fewer replicas wanted (paused: kept already)
        moved = renames(served, spec.containers, kept)
        for name, final in moved:
            self.keeper.run(argv_compose.rename(name, final), timeout=60)
        named = [dict(moved).get(n, n) for n in served]
        return Outcome(spec.name, tuple(named), tuple(kept), tuple(failures),
                       paused=bool(failures) and config.failure_action == "pause")

    def batches(self, stack: Stack, spec: ServiceSpec, config: UpdateConfig,
                news: list[tuple[str, ...]], olds: list[tuple[str, ...]]
                ) -> tuple[list[str], list[str], list[str]]:
        """Each batch in turn: the new replicas serving, the old ones kept, the failures."""
        served: list[str] = []
        kept: list[str] = []
        failures: list[str] = []
        gone: set[str] = set()
        try:
            for number, batch in enumerate(news):
                if number and config.delay:
                    self.keeper.clock.sleep(config.delay)
                try:
                    self.add(stack, spec, batch, config.monitor)
                except PhoenixError as exc:
                    decided = config.on_failure(number, news, olds)
                    self.retire(stack, spec, decided.drop)
                    gone.update(decided.drop)
                    if config.failure_action not in ("pause", "continue"):
                        raise
                    failures.append(str(exc).splitlines()[0])
                    kept += decided.keep
                    if decided.stop:
                        break
                    continue
                served += batch
                if olds[number]:
                    self.retire(stack, spec, olds[number])
        except BaseException:  # ^C too: the new ones out of the edge and gone; the old serve
            self.retire(stack, spec, [n for b in news for n in b if n not in gone])
            raise
        return served, kept, failures

    def add(self, stack: Stack, spec: ServiceSpec, new: Sequence[str], monitor: float
            ) -> None:
        """Start ``new``, add them once healthy, then watch them ``monitor`` seconds."""
        self.keeper.run(argv.start(*new), timeout=120)
        api = self.keeper.edge.api()
        for route in [r for r in routes(stack) if r.service == spec.name]:
            joined = self.keeper.join(api, route, spec, new, self.timeout)
            if len(joined) != len(new):
                raise PhoenixError(f"replica(s) {', '.join(set(new) - set(joined))} of "
                                   f"service '{spec.name}' publish no port {route.target}")
        if monitor > 0:
            watch(self.keeper.run, self.keeper.clock, spec, new, monitor)

    def retire(self, stack: Stack, spec: ServiceSpec, old: Sequence[str]) -> None:
        """Drain ``old`` at the edge, then stop and remove their containers."""
        if not old:
            return
        api: RuntimeAPI = self.keeper.edge.api()
        for route in [r for r in routes(stack) if r.service == spec.name]:
            self.keeper.leave(api, route, spec, old)
        self.keeper.report(spec.name, "retired", ", ".join(old))
        self.keeper.run(argv.stop(*old, timeout=int(spec.stop_grace)), timeout=600)
        self.keeper.run(argv.remove_stopped(*old), timeout=120)  # never a dependent with it
