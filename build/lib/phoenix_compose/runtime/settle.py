"""``status`` never reports a health that no one settled (issue 24).

After ``up -d`` (or a Ctrl-C'd ``up``) nothing may check the services: podman runs no
healthchecks by itself without systemd, and the watcher may not run.  A service whose last
check ended longer ago than its ``interval`` (plus its ``timeout``) is not being checked by
anyone, a watcher included (it checks every interval): ``status`` runs one check of it
now (:meth:`.nativehealth.NativeHealth.check`: native, else ``podman healthcheck run``),
records it as the watcher would, and says so.  The checks run side by side, one per core.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone

from phoenix_compose.runtime import containers, ownership
from phoenix_compose.runtime.containers import ContainerState
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.observe import side_by_side
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.runtime.status import ServiceStatus, service_status
from phoenix_compose.statedir import StateDir


def settled_status(run: containers.Runner, stack: Stack, state: StateDir
                   ) -> tuple[list[ServiceStatus], list[str]]:
    """The status rows, every health settled, and a line per service checked just now."""
    found = ownership.owned_containers(run, ownership.Owner.of(state, stack.project))[0]
    native = NativeHealth.for_stack(stack, state.probe_health)
    states, notes = settle(run, stack, {n: native.apply(s) for n, s in found.items()}, native)
    return service_status(run, stack, states), notes


def settle(run: containers.Runner, stack: Stack, states: Mapping[str, ContainerState],
           native: NativeHealth, now: datetime | None = None
           ) -> tuple[dict[str, ContainerState], list[str]]:
    """``states`` with a fresh check of each running service whose last one is older than
    its interval; the lines that say which were checked, and why."""
    now = now or datetime.now(timezone.utc)
    due = [spec for spec in stack.services.values() if stale(spec, states.get(spec.container),
                                                             now)]
    if not due:
        return dict(states), []

    def check(spec: ServiceSpec) -> str:
        assert spec.health is not None  # stale() says so
        last = states[spec.container].checked_at
        result = native.check(run, spec.container, spec.health.timeout, states[spec.container])
        when = "never checked" if last is None else \
            f"last checked {(now - last).total_seconds():.0f} s ago"
        return (f"{spec.name}: checked now ({when}, and no watcher checks it every "
                f"{spec.health.interval:g} s): {'passed' if result.code == 0 else 'failed'}")

    # at once, one per core (as the watcher's check limit): a check mostly waits; on ^C
    # the checks in flight are ended and no other starts (a pool's exit waited for all)
    notes = side_by_side(*[lambda spec=spec: check(spec) for spec in due],
                         workers=os.cpu_count() or 2)
    native.save()
    fresh = containers.inspect(run, [spec.container for spec in due])  # podman's own record
    return {**states, **{n: native.apply(s) for n, s in fresh.items()}}, notes


def stale(spec: ServiceSpec, state: ContainerState | None, now: datetime) -> bool:
    """It runs with a healthcheck whose last check ended longer ago than one interval (and
    its timeout), or never."""
    if spec.health is None or state is None or not state.running:
        return False
    if state.checked_at is None:
        return True
    return (now - state.checked_at).total_seconds() > spec.health.interval + spec.health.timeout
