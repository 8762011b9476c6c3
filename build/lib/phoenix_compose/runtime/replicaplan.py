"""The planner's replica rules (issue 26), applied to the step :func:`.plan._decide` made
from a service's first container: pure, as the planner is.

- a replica that is missing makes the service **create** (podman-compose's ``up
  --no-start`` makes only the missing ones: the others keep running);
- a replica made from another config than the first makes it **recreate** (all of them);
- a replica that is not running, while the rest are, makes it **start**;
- a replica beyond the count (``scale``/``deploy.replicas`` lowered) is **removed**: its
  step is named after the container (``<project>_<service>_<i>``);
- a service of 0 replicas is **unchanged**: nothing is created (the planner's first
  container is not made), and its replicas that exist are beyond the count, so removed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from phoenix_compose.runtime.observe import Snapshot
from phoenix_compose.runtime.plan_types import Change, Step
from phoenix_compose.runtime.stack import Stack

_SETTLED = (Change.UNCHANGED, Change.CONVERGE_HEALTH)


def replicated(stack: Stack, step: Step, snapshot: Snapshot) -> Step:
    """``step`` with the service's other replicas, changed by the rules above."""
    spec = stack.services[step.service]
    if spec.replicas == 0:
        return Step(step.service, Change.UNCHANGED, step.container, ("0 replicas wanted",))
    others = spec.containers[1:]
    if not others:
        return step
    step = replace(step, replicas=others)
    if step.change in (Change.CREATE, Change.RECREATE):
        return step
    states = {c: snapshot.containers.get(c) for c in others}
    missing = [c for c, s in states.items() if s is None]
    if missing:
        return replace(step, change=Change.CREATE, reasons=(
            *step.reasons, f"replica(s) {', '.join(missing)} missing "
                           f"({spec.replicas} wanted)"))
    first = snapshot.containers.get(step.container)
    hashes = {c for c, s in states.items() if s and first and s.config_hash != first.config_hash}
    if hashes:
        return replace(step, change=Change.RECREATE, reasons=(
            *step.reasons, f"replica(s) {', '.join(sorted(hashes))} made from another config"))
    stopped = [c for c, s in states.items() if s and not s.running]
    if stopped and step.change in _SETTLED:
        return replace(step, change=Change.START, reasons=(
            f"replica(s) {', '.join(stopped)} not running",))
    return step


def surplus(stack: Stack, names: Sequence[str], snapshot: Snapshot) -> list[Step]:
    """Replicas beyond the count of each of ``names`` (their podman-compose names)."""
    out = []
    for name in names:
        spec = stack.services[name]
        stem = re.escape(spec.container.rsplit("_", 1)[0])
        if not re.fullmatch(f"{stem}_[0-9]+", spec.container):
            continue  # a container_name of its own: one container, no replica
        for container, state in sorted(snapshot.containers.items()):
            number = re.fullmatch(f"{stem}_([0-9]+)", container)
            if state.service == name and number and int(number[1]) > spec.replicas:
                out.append(Step(container, Change.REMOVE, container, (
                    f"replica beyond the {spec.replicas} wanted",)))
    return out
