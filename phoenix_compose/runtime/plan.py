"""The plan: what ``up`` will do to each service, and why.  ``inv plan`` prints it and
``up`` executes exactly it (the same function decides both).

- **create**: the container is missing;
- **recreate**: the image changed, the config changed (naming the keys), a secret or config
  file changed, or the config the container was made from is unknown;
- **restart**: the container is stopped or exited, or a dependency is recreated or
  restarted and its ``depends_on`` entry says ``restart: true`` (compose-spec);
- **unchanged**: nothing to do;
- **remove**: a container of the project whose service is no longer in the config.

Only our own containers are planned (:mod:`.ownership`): what another stack root made in
the same project is listed in ``foreign`` and left alone.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phoenix_compose._compat import StrEnum
from phoenix_compose.runtime import containers, ownership
from phoenix_compose.runtime.fingerprint import Applied, fingerprint
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict


class Change(StrEnum):
    """What happens to one service."""

    CREATE = "create"
    RECREATE = "recreate"
    RESTART = "restart"
    UNCHANGED = "unchanged"
    REMOVE = "remove"

    @property
    def starts(self) -> bool:
        return self in (Change.CREATE, Change.RECREATE, Change.RESTART)


PAST = {Change.CREATE: "created", Change.RECREATE: "recreated", Change.RESTART: "restarted"}


@dataclass(frozen=True)
class Step:
    service: str
    change: Change
    container: str
    reasons: tuple[str, ...] = ()
    volumes: tuple[str, ...] = ()  # named volumes it mounts: kept when it is recreated

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.service, "change": str(self.change),
                "container": self.container, "reasons": list(self.reasons),
                "volumes": list(self.volumes)}


@dataclass(frozen=True)
class Plan:
    project: str
    steps: tuple[Step, ...] = ()
    existing: Mapping[str, containers.ContainerState] = field(default_factory=dict,
                                                               repr=False)
    foreign: tuple[ownership.Foreign, ...] = ()  # the project's, another owner's: untouched

    @property
    def changes(self) -> bool:
        return any(s.change is not Change.UNCHANGED for s in self.steps)

    def named(self, *changes: Change) -> list[Step]:
        return [s for s in self.steps if s.change in changes]

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


def make_plan(stack: Stack, names: Sequence[str], run: containers.Runner, applied: Applied,
              image_ids: Mapping[str, str], owner: ownership.Owner | None = None,
              force: Collection[str] = ()) -> Plan:
    """The plan for ``names`` (in dependency order); ``image_ids``: image -> its id here
    (an image absent from it is not here yet: pulled or built by ``up``); ``owner``: only
    its containers are planned; ``force``: recreated even when unchanged."""
    existing = containers.project_containers(run, stack.project)
    foreign: list[ownership.Foreign] = []
    if owner is not None:
        existing, foreign = ownership.split(existing, owner)
        foreign += ownership.foreign_resources(run, owner)
    steps: dict[str, Step] = {}
    for name in names:
        spec = stack.services[name]
        state = existing.get(spec.container)
        volumes = named_volumes(stack, name)
        if state is None:
            steps[name] = Step(name, Change.CREATE, spec.container, ("the container is missing",))
            continue
        reasons = _image_reasons(spec.image, state, image_ids) + \
            (["asked for (--force-recreate)"] if name in force else [])
        known = applied.get(state.config_hash)
        if known is None:
            reasons.append("the config it was made from is unknown (not created by phoenix)")
        else:
            reasons += known.changes(fingerprint(stack, name))
        if reasons:
            steps[name] = Step(name, Change.RECREATE, spec.container, tuple(reasons), volumes)
        elif not state.running:
            steps[name] = Step(name, Change.RESTART, spec.container,
                               (f"the container is {_stopped(state)}",))
        else:
            steps[name] = Step(name, Change.UNCHANGED, spec.container)
    _cascade(stack, names, steps)
    orphans = [Step(state.service or state.name, Change.REMOVE, state.name,
                    ("the service is no longer in the config",))
               for state in existing.values() if state.service not in stack.services]
    return Plan(stack.project, tuple(steps[n] for n in names) + tuple(orphans), existing,
                tuple(foreign))


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


def _cascade(stack: Stack, names: Sequence[str], steps: dict[str, Step]) -> None:
    """``depends_on: {dep: {restart: true}}``: restart the dependent after its dependency
    is recreated or restarted (names are in dependency order, so it propagates)."""
    for name in names:
        step = steps[name]
        if step.change is not Change.UNCHANGED:
            continue
        entries = stack.services[name].raw.get("depends_on") or {}
        moved = [dep for dep, entry in entries.items()
                 if isinstance(entry, dict) and entry.get("restart") is True
                 and dep in steps and steps[dep].change.starts]
        if moved:
            steps[name] = Step(name, Change.RESTART, step.container, tuple(
                f"its dependency {dep} is {PAST[steps[dep].change]} (depends_on restart: true)"
                for dep in moved))


def named_volumes(stack: Stack, name: str) -> tuple[str, ...]:
    """The stack's named volumes a service mounts (short or long form), as declared."""
    declared = as_dict(stack.top.get("volumes"))
    out = []
    for volume in stack.services[name].raw.get("volumes") or ():
        source = volume.get("source") if isinstance(volume, dict) else \
            str(volume).split(":", 1)[0]
        if source in declared:
            out.append(str(source))
    return tuple(out)


def _stopped(state: containers.ContainerState) -> str:
    return f"exited (code {state.exit_code})" if state.status == "exited" else state.status


def _short(image_id: str) -> str:
    return image_id.removeprefix("sha256:")[:12]
