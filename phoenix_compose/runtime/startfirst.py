"""Start-first updates behind the edge (issue 26, item 3): a recreated service with
``deploy.update_config.order: start-first``, while the edge runs, is not removed first.

For each batch of ``parallelism`` replicas: the new ones are created beside the old
(free ``<project>_<service>_<i>`` names, ``podman-compose up --no-recreate --scale``),
started, and added to the edge once their health check passes; then as many old ones are
drained (their ``stop_grace_period``) and removed; ``delay`` between batches.  At the end
the new replicas take the service's own names (``podman rename``: id, address and port
stay), so the planner and podman-compose see the service as they know it; the edge's
``sync`` then moves each server to its new name (same address: no request is lost).

A new replica that never becomes healthy never got traffic: the new ones are removed, the
old ones keep serving, and the error goes up to ``up`` (which rolls back: exit 3)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from phoenix_compose.config.services import container_name
from phoenix_compose.edge.api import RuntimeAPI
from phoenix_compose.errors import PhoenixError
from phoenix_compose.runtime import argv, argv_compose, containers
from phoenix_compose.runtime.edgeplan import routes
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.plan_types import Change, Step
from phoenix_compose.runtime.stack import ServiceSpec, Stack


def rolling(stack: Stack, steps: Sequence[Step], edge_runs: bool) -> list[Step]:
    """The recreated steps that update start-first (only while the edge runs: the first
    ``up`` has nothing to keep serving); not a service with a ``container_name`` of its
    own (no second container can be made beside it: it is recreated as before)."""
    routed = {r.service for r in routes(stack)}
    return [s for s in steps if edge_runs and s.change is Change.RECREATE
            and s.service in routed and stack.services[s.service].update_config.start_first
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
    edge's runtime API calls aside), in its order: for ``up --dry-run``."""
    spec = stack.services[step.service]
    old = replicas_now(spec, existing)
    new = free_names(spec, old)
    config = spec.update_config
    olds, news = config.batches(tuple(old)) + [()] * len(new), config.batches(tuple(new))
    out = [argv_compose.create_scaled(stack.compose_file, stack.project, spec.name,
                                      int(new[-1].rsplit("_", 1)[1]))] if new else []
    for number, batch in enumerate(news):
        out += [argv.start(*batch), *[argv.healthcheck_run(c) for c in batch if spec.health]]
        out += _retire_lines(spec, olds[number])
    out += _retire_lines(spec, [c for batch in olds[len(news):] for c in batch])
    return out + [argv_compose.rename(n, f) for n, f in zip(new, spec.containers) if n != f]


def _retire_lines(spec: ServiceSpec, old: Sequence[str]) -> list[argv.Argv]:
    return [argv.stop(*old, timeout=int(spec.stop_grace)), argv.remove_stopped(*old)] \
        if old else []


@dataclass
class StartFirst:
    keeper: EdgeKeeper
    timeout: float

    def roll(self, stack: Stack, step: Step,
             existing: Mapping[str, containers.ContainerState]) -> None:
        """Replace ``step``'s service start-first (see the module's text)."""
        spec, run = stack.services[step.service], self.keeper.run
        old = replicas_now(spec, existing)
        new = free_names(spec, old)
        if new:  # 0 replicas: nothing made, every old one retired
            run(argv_compose.create_scaled(stack.compose_file, stack.project, spec.name,
                                           int(new[-1].rsplit("_", 1)[1])), timeout=600)
        config = spec.update_config
        olds = config.batches(tuple(old)) + [()] * len(new)
        try:
            for number, batch in enumerate(config.batches(tuple(new))):
                if number and config.delay:
                    self.keeper.clock.sleep(config.delay)
                self.swap(stack, spec, batch, olds[number])
        except BaseException:  # ^C too: the new ones out of the edge and gone; the old serve
            self.retire(stack, spec, [n for n in new if n not in old])
            raise
        rest = [c for batch in olds[len(config.batches(tuple(new))):] for c in batch]
        if rest:
            self.retire(stack, spec, rest)
        for name, final in zip(new, spec.containers):
            if name != final:
                run(argv_compose.rename(name, final), timeout=60)

    def swap(self, stack: Stack, spec: ServiceSpec, new: Sequence[str],
             old: Sequence[str]) -> None:
        """Start ``new``, add them once healthy, then retire ``old``."""
        self.keeper.run(argv.start(*new), timeout=120)
        api = self.keeper.edge.api()
        for route in [r for r in routes(stack) if r.service == spec.name]:
            joined = self.keeper.join(api, route, spec, new, self.timeout)
            if len(joined) != len(new):
                raise PhoenixError(f"replica(s) {', '.join(set(new) - set(joined))} of "
                                   f"service '{spec.name}' publish no port {route.target}")
        if old:
            self.retire(stack, spec, old)

    def retire(self, stack: Stack, spec: ServiceSpec, old: Sequence[str]) -> None:
        """Drain ``old`` at the edge, then stop and remove their containers."""
        api: RuntimeAPI = self.keeper.edge.api()
        for route in [r for r in routes(stack) if r.service == spec.name]:
            self.keeper.leave(api, route, spec, old)
        self.keeper.report(spec.name, "retired", ", ".join(old))
        self.keeper.run(argv.stop(*old, timeout=int(spec.stop_grace)), timeout=600)
        self.keeper.run(argv.remove_stopped(*old), timeout=120)  # never a dependent with it
