"""``down``'s removal: podman-compose's ``down`` when all the project holds is ours, else
only what carries our owner label (see :mod:`.ownership`)."""

from __future__ import annotations

from phoenix_compose.runtime import argv, containers, ownership
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import Report


def take_down(run: containers.Runner, report: Report, stack: Stack, owner: Owner,
              volumes: bool, graceful: bool) -> None:
    """podman-compose's ``down`` when all that the project and the stack's container names
    hold is ours; else (another stack root uses the project or a name) only what carries
    our owner label goes, and the rest is named and left alone."""
    _ours, foreign = ownership.owned_containers(run, owner)
    held = containers.inspect(run, [s.container for s in stack.services.values()])
    foreign += [ownership.Foreign("container", n, ownership.whose(s.owner, s.working_dir))
                for n, s in held.items()
                if not owner.owns_container(s) and n not in {f.name for f in foreign}]
    foreign += ownership.foreign_resources(run, owner)
    if foreign:
        report("*", "leaving alone", ownership.summary(stack.project, foreign))
        remove_owned(run, report, owner, volumes, "by owner", unknown=False)
        return
    every_profile = sorted({p for s in stack.services.values() for p in s.profiles})
    run(argv.down(stack.compose_file, stack.project, volumes, every_profile,
                  None if graceful else 0), timeout=600)


def remove_owned(run: containers.Runner, report: Report, owner: Owner, volumes: bool,
                 why: str, unknown: bool | None = None) -> None:
    """`down` without podman-compose (no usable compose file, or another owner in the
    project): remove our containers, then our networks (and volumes); ``unknown``: also
    those made before owner labels (by default, when no other owner is in the project)."""
    report("*", why, f"removing project {owner.project} by its labels")
    ours, foreign = ownership.owned_containers(run, owner)
    if unknown is None:
        unknown = not (foreign or ownership.foreign_resources(run, owner))
    if ours:
        run(argv.remove(*list(ours)), timeout=600)
    kinds = ("network",) + (("volume",) if volumes else ())
    for kind, found in ownership.resources(run, owner, kinds).items():
        names = sorted(n for n, mine in found.items() if mine or (unknown and mine is None))
        if names:
            run(argv.remove_kind(kind, *names), timeout=120)
