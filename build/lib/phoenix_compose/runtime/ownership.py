"""Ownership: an action touches only what this stack root made for this env.

podman-compose labels what it creates with the project; phoenix adds its owner label
(:data:`config.identity.OWNER_LABEL`, a digest of the stack root and the env) to every
service, network and volume.  Another checkout that uses the same project name is another
owner: its containers are never planned for removal, stopped or replaced, and ``up``
refuses to create containers in a project another root is using (same names, shared
networks and volumes).

A container made before owner labels is ours when podman-compose's ``working_dir`` label
points into our ``.phoenix/<env>`` (podman-compose always ran our generated file there);
any other unlabelled container is not.  A network or volume made before owner labels tells
nothing: it neither blocks an ``up`` nor is removed when ``down`` has to act by owner.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from phoenix_compose.config.identity import OWNER_LABEL, owner_id
from phoenix_compose.errors import OwnershipError
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict
from phoenix_compose.statedir import FOLDER, StateDir

KINDS = ("network", "volume")


@dataclass(frozen=True)
class Owner:
    project: str
    owner: str  # our owner label's value
    home: str  # the real path of .phoenix/<env>: where our compose files are run from

    @classmethod
    def of(cls, state: StateDir, project: str) -> Owner:
        return cls(project, owner_id(state.root, state.env), os.path.realpath(state.path))

    def owns(self, owner: str, working_dir: str = "") -> bool | None:
        """True: ours; False: someone else's; None: made before owner labels, and nothing
        tells whose it is."""
        if owner:
            return owner == self.owner
        if working_dir:
            where = os.path.realpath(working_dir)
            return where == self.home or where.startswith(self.home + os.sep)
        return None

    def owns_container(self, state: containers.ContainerState) -> bool:
        return self.owns(state.owner, state.working_dir) is True


@dataclass(frozen=True)
class Foreign:
    """Something of our project that another owner made."""

    kind: str  # container, network or volume
    name: str
    where: str  # whose it is, as far as its labels tell

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "owner": self.where}


def whose(owner: str, working_dir: str) -> str:
    """The other owner for messages: its stack root when podman-compose's label tells."""
    root = working_dir.partition(f"{os.sep}{FOLDER}{os.sep}")[0] if working_dir else ""
    if root:
        return f"stack root {root}"
    return f"owner {owner[:12]}" if owner else "no phoenix owner (made by hand?)"


def split(states: Mapping[str, containers.ContainerState], owner: Owner
          ) -> tuple[dict[str, containers.ContainerState], list[Foreign]]:
    """The project's containers: ours by name, and the others."""
    ours = {n: s for n, s in states.items() if owner.owns_container(s)}
    others = [Foreign("container", n, whose(s.owner, s.working_dir))
              for n, s in sorted(states.items()) if n not in ours]
    return ours, others


def owned_containers(run: containers.Runner, owner: Owner
                     ) -> tuple[dict[str, containers.ContainerState], list[Foreign]]:
    return split(containers.project_containers(run, owner.project), owner)


def resources(run: containers.Runner, owner: Owner, kinds: Iterable[str] = KINDS
              ) -> dict[str, dict[str, bool | None]]:
    """kind -> name -> ours (True), another owner's (False), or unknown (None)."""
    out: dict[str, dict[str, bool | None]] = {}
    for kind in kinds:
        listing = json.loads(run(argv.resources(kind, owner.project), timeout=60).stdout
                             or "[]")
        out[kind] = {}
        for item in listing:
            labels = as_dict(item.get("Labels") or item.get("labels"))
            name = str(item.get("Name") or item.get("name") or "")
            out[kind][name] = owner.owns(labels.get(OWNER_LABEL, ""))
    return out


def foreign_resources(run: containers.Runner, owner: Owner) -> list[Foreign]:
    return foreign_of(resources(run, owner))


def foreign_of(listed: dict[str, dict[str, bool | None]]) -> list[Foreign]:
    """The resources of :func:`resources` that another owner holds."""
    return [Foreign(kind, name, "another stack root")
            for kind, found in listed.items()
            for name, ours in sorted(found.items()) if ours is False]


def summary(project: str, foreign: Iterable[Foreign]) -> str:
    """``project p has 3 containers, 1 volume owned by another stack root (...)``"""
    items = list(foreign)
    counts = [f"{n} {kind}{'s' if n > 1 else ''}" for kind in ("container", *KINDS)
              if (n := sum(f.kind == kind for f in items))]
    owners = sorted({f.where for f in items if f.where != "another stack root"})
    return (f"project {project} has {', '.join(counts)} owned by another stack root"
            + (f" ({'; '.join(owners)})" if owners else ""))


def refuse_foreign(project: str, foreign: Iterable[Foreign], action: str) -> None:
    items = list(foreign)
    if items:
        raise OwnershipError(
            f"{summary(project, items)}: refusing to {action} over it; nothing was changed",
            hint="give this stack a project of its own: COMPOSE_PROJECT_NAME in "
                 "envs/<env>.env, or a top-level name: in a compose file")


def refuse_held(run: containers.Runner, names: Iterable[str], owner: Owner) -> None:
    """Containers to be created under names that another container already has (another
    project's ``container_name``, or an unlabelled one): refused, never replaced."""
    held = containers.inspect(run, list(names))
    taken = [f"{n} ({whose(s.owner, s.working_dir)})" for n, s in sorted(held.items())
             if not owner.owns_container(s)]
    if taken:
        raise OwnershipError(
            f"container name(s) already taken by containers this stack did not make: "
            f"{', '.join(taken)}; refusing to replace them, nothing was changed",
            hint="rename the service's container_name, or the project")


def guard(run: containers.Runner, state: StateDir, stack: Stack, action: str) -> None:
    """Refuse ``action`` (it may create or replace containers) when another owner is in
    the project or holds one of the stack's container names."""
    owner = Owner.of(state, stack.project)
    refuse_foreign(stack.project, owned_containers(run, owner)[1], action)
    refuse_held(run, [s.container for s in stack.services.values()], owner)


def mine(run: containers.Runner, state: StateDir, stack: Stack, names: Iterable[str]
         ) -> dict[str, containers.ContainerState]:
    """Of the services ``names``, those whose container exists and is ours, by service."""
    owner = Owner.of(state, stack.project)
    wanted = {stack.services[n].container: n for n in names}
    found = containers.inspect(run, list(wanted))
    return {wanted[c]: s for c, s in found.items() if owner.owns_container(s)}
