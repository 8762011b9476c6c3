"""The plan: what ``up`` will do to each service, and why.  A pure function of the stack and
a :class:`.observe.Snapshot` (no podman call in here): ``inv plan`` and ``up --dry-run``
print it, and ``up`` executes exactly it.

- **create**: the container is missing;
- **recreate**: the image changed (its tag moved, or it is not here yet), the config changed
  (naming the keys), a secret or config file changed, or the config the container was made
  from is unknown;
- **restart**: it runs, but a dependency is recreated, restarted or started and its
  ``depends_on`` entry says ``restart: true`` (compose-spec); or it is unhealthy under
  ``restart: always|unless-stopped|on-failure`` (podman never acts on "unhealthy" itself);
- **start**: the container exists but is not running (created, exited, stopped, or paused:
  then it is unpaused);
- **converge-health**: it runs, but is unhealthy, or its health is not known (never checked,
  or not for two intervals: no watcher).  ``up`` checks it until it is healthy (or fails,
  naming it: exit non-zero), never "unchanged";
- **unchanged**: nothing to do; **remove**: a container of ours whose service is gone.

Only our own containers are planned (:mod:`.ownership`; another root's are ``foreign``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from phoenix_compose.runtime import argv, containers, ownership
from phoenix_compose.runtime.fingerprint import fingerprint
from phoenix_compose.runtime.observe import Snapshot
from phoenix_compose.runtime.plan_types import PAST, Change, Step
from phoenix_compose.runtime.replicaplan import replicated, surplus
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.runtime.startup.creation import levels, start_lines
from phoenix_compose.shapes import as_dict


@dataclass(frozen=True)
class PlanOptions:
    """How ``up`` was asked to converge: a flag that changes what is planned is a field,
    applied in :func:`_decide` (per service) or :func:`plan` (the selection)."""

    health_intervals: float = 2.0  # a health check older than this many intervals: unknown
    force: frozenset[str] = frozenset()  # recreated even when unchanged (--force-recreate)


@dataclass(frozen=True)
class Plan:
    project: str
    steps: tuple[Step, ...] = ()
    existing: Mapping[str, containers.ContainerState] = field(default_factory=dict,
                                                               repr=False)
    foreign: tuple[ownership.Foreign, ...] = ()  # the project's, another owner's: untouched
    images: Mapping[str, str] = field(default_factory=dict, repr=False)  # observed ids

    @property
    def changes(self) -> bool:
        """Anything to do (a health check to settle counts)."""
        return any(s.change is not Change.UNCHANGED for s in self.steps)

    @property
    def moves(self) -> bool:
        """A container is made, removed, started or stopped."""
        return any(s.change not in (Change.UNCHANGED, Change.CONVERGE_HEALTH)
                   for s in self.steps)

    @property
    def remakes(self) -> bool:  # a container is created, recreated or removed
        return bool(self.named(Change.CREATE, Change.RECREATE, Change.REMOVE))

    def named(self, *changes: Change) -> list[Step]:
        return [s for s in self.steps if s.change in changes]

    def changed(self) -> list[str]:
        """The services whose containers it (re)made, (re)started or removed: not those
        it only checked (converge-health) or left alone."""
        return [s.service for s in self.steps if s.change.starts or s.change is Change.REMOVE]

    def summary(self) -> dict[str, str]:
        return {s.service: str(s.change) for s in self.steps}

    @property
    def warnings(self) -> list[str]:
        if not self.foreign:
            return []
        return [f"{ownership.summary(self.project, self.foreign)}: leaving them alone"]

    def as_dict(self) -> dict[str, Any]:
        return {"project": self.project, "changes": self.changes,
                "services": [s.as_dict() for s in self.steps],
                "foreign": [f.as_dict() for f in self.foreign], "warnings": self.warnings}


def plan(stack: Stack, names: Sequence[str], snapshot: Snapshot,
         options: PlanOptions | None = None) -> Plan:
    """The plan for ``names`` (in dependency order) against ``snapshot``."""
    options = options or PlanOptions()
    steps = {name: replicated(stack, _decide(stack, name, snapshot, options), snapshot)
             for name in names}
    _cascade(stack, names, steps)
    orphans = [Step(state.service or state.name, Change.REMOVE, state.name,
                    ("the service is no longer in the config",))
               for state in snapshot.containers.values() if state.service not in stack.services]
    orphans += surplus(stack, names, snapshot)
    acting = [n for n in names if steps[n].change is not Change.UNCHANGED]
    waves = {n: i + 1 for i, level in enumerate(levels(stack, acting)) for n in level}
    ordered = tuple(replace(steps[n], order=waves.get(n, 0)) for n in names)
    return Plan(stack.project, ordered + tuple(orphans), snapshot.containers, snapshot.foreign,
                snapshot.images)


def _decide(stack: Stack, name: str, snapshot: Snapshot, options: PlanOptions) -> Step:
    spec = stack.services[name]
    state = snapshot.containers.get(spec.container)
    if state is None:
        return Step(name, Change.CREATE, spec.container, ("the container is missing",))
    reasons = _image_reasons(spec.image, state, snapshot.images) + \
        (["asked for (--force-recreate)"] if name in options.force else [])
    known = snapshot.applied.get(state.config_hash) if state.config_hash else None
    if known is None:
        reasons.append("the config it was made from is unknown (not created by phoenix)")
    else:
        reasons += known.changes(fingerprint(stack, name, snapshot.files))
    if reasons:
        return Step(name, Change.RECREATE, spec.container, tuple(reasons),
                    named_volumes(stack, name))
    if not state.running:
        return Step(name, Change.START, spec.container, (f"the container is {_stopped(state)}",))
    unsettled = _health_reasons(spec, state, snapshot.taken_at, options)
    if unsettled and state.health == "unhealthy" and spec.restarts_on_failure:
        return Step(name, Change.RESTART, spec.container, (
            *unsettled, f"its restart policy ({spec.restart}) restarts it"))
    if unsettled:
        return Step(name, Change.CONVERGE_HEALTH, spec.container, tuple(unsettled))
    return Step(name, Change.UNCHANGED, spec.container)


def _image_reasons(image: str | None, state: containers.ContainerState,
                   image_ids: Mapping[str, str]) -> list[str]:
    if not image:
        return []
    now = image_ids.get(image)
    if now is None:
        return [f"the image {image} is not here yet (pulled or built first)"]
    if state.image_id and now != state.image_id:
        return [f"the image changed ({_short(state.image_id)} -> {_short(now)})"]
    return []


def _health_reasons(spec: ServiceSpec, state: containers.ContainerState, now: datetime,
                    options: PlanOptions) -> list[str]:
    """Why a running service's health is not settled (nothing: healthy, and checked lately,
    or it has no healthcheck)."""
    health = spec.health
    if health is None:
        return []
    if state.health == "unhealthy":
        return ["it is unhealthy (its last health check failed)"]
    if state.checked_at is None:
        return ["its health is unknown: it was never checked"]
    age = (now - state.checked_at).total_seconds()
    if age > health.interval * options.health_intervals + health.timeout:
        return [f"its health is unknown: last checked {age:.0f} s ago, and no one checks it "
                f"every {health.interval:g} s (no watcher)"]
    if state.health != "healthy":
        return [f"its health is {state.health or 'not reported'}"]
    return []


def _cascade(stack: Stack, names: Sequence[str], steps: dict[str, Step]) -> None:
    """``depends_on: {dep: {restart: true}}``: restart the dependent after its dependency
    is created, recreated, restarted or started (names are in dependency order, so it
    propagates).  A restart settles a health check too."""
    for name in names:
        step = steps[name]
        if step.change not in (Change.UNCHANGED, Change.CONVERGE_HEALTH):
            continue
        moved = [dep for dep in stack.services[name].depends_on
                 if dep in stack.services[name].restarts_with
                 and dep in steps and steps[dep].change.starts]
        if moved:
            steps[name] = Step(name, Change.RESTART, step.container, tuple(
                f"its dependency {dep} is {PAST[steps[dep].change]} (depends_on restart: true)"
                for dep in moved))


def named_volumes(stack: Stack, name: str) -> tuple[str, ...]:
    """The stack's named volumes a service mounts (short or long form), as declared."""
    declared = as_dict(stack.top.get("volumes"))
    out = []
    for volume in stack.services[name].volumes:
        source = volume.get("source") if isinstance(volume, dict) else \
            str(volume).split(":", 1)[0]
        if source in declared:
            out.append(str(source))
    return tuple(out)


def grace(stack: Stack, steps: Sequence[Step]) -> int:
    """The longest ``stop_grace_period`` of the services (compose's default: 10 s)."""
    return max((math.ceil(stack.services[s.service].stop_grace)
                if s.service in stack.services else 10 for s in steps), default=10)


def paused(plan: Plan) -> list[Step]:
    """The steps that start a paused container: ``podman unpause``, then checked."""
    return [s for s in plan.named(Change.START)
            if getattr(plan.existing.get(s.container), "status", "") == "paused"]


def prelude(stack: Stack, plan: Plan) -> list[argv.Argv]:
    """What the execute step runs before the start loop: remove what goes (orphans and
    what is recreated), stop what restarts, unpause what was paused."""
    out = []
    if gone := plan.named(Change.REMOVE, Change.RECREATE):
        out.append(argv.replace(*[c for s in gone for c in s.containers],
                                timeout=grace(stack, gone)))
    stopping = [s for s in plan.named(Change.RESTART)
                if getattr(plan.existing.get(s.container), "running", False)]
    if stopping:
        out.append(argv.stop(*[c for s in stopping for c in s.containers],
                             timeout=grace(stack, stopping)))
    if waking := paused(plan):
        out.append(argv.unpause(*[s.container for s in waking]))
    return out


def starting(plan: Plan) -> list[str]:
    """The services the start loop creates and starts, in dependency order."""
    waking = {s.service for s in paused(plan)}
    return [s.service for s in plan.steps if s.change.starts and s.service not in waking]


def checking(plan: Plan) -> list[str]:
    """The running services the start loop only checks (health settled, or unpaused)."""
    return [s.service for s in [*plan.named(Change.CONVERGE_HEALTH), *paused(plan)]]


def profiles_of(stack: Stack, names: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted({p for n in names for p in stack.services[n].profiles}))


def commands(stack: Stack, plan: Plan, rolled: Sequence[Step] = ()) -> list[argv.Argv]:
    """Every podman command line ``up`` runs for ``plan``: the prelude, the creation calls
    (one a level, :mod:`.startup.creation`), per level the (health-gated)
    start, then a ``healthcheck run`` of each service waited for; ``rolled``: the steps
    updated start-first instead (:func:`.startfirst.roll_lines`, after these)."""
    names = [s.service for s in plan.steps if s.change is not Change.REMOVE]
    profiles = profiles_of(stack, names)  # of every step, as ``up``'s start options
    plan = replace(plan, steps=tuple(s for s in plan.steps if s not in rolled))
    out = prelude(stack, plan)
    out += start_lines(stack, starting(plan), profiles)
    for name in [*starting(plan), *checking(plan)]:
        if stack.services[name].health is not None:
            out.append(argv.healthcheck_run(stack.services[name].container))
    return out


def _stopped(state: containers.ContainerState) -> str:
    return f"exited (code {state.exit_code})" if state.status == "exited" else state.status


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
