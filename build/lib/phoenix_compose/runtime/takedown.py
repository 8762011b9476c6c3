"""``down``: take the stack away, touching only what this stack root owns (podman-compose's
``down`` when nothing else is in the project, else by owner label)."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.config.environment import load_environment
from phoenix_compose.errors import ConfigurationError, PhoenixError
from phoenix_compose.runtime import argv, containers, ownership
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.plan import profiles_of
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import Report
from phoenix_compose.statedir import StateDir


def take_down(run: containers.Runner, report: Report, stack: Stack, owner: Owner,
              volumes: bool, graceful: bool) -> None:
    """podman-compose's ``down`` when all that the project and the stack's container names
    hold is ours; else (another stack root uses the project or a name) only what carries
    our owner label goes, and the rest is named and left alone."""
    _ours, foreign = ownership.owned_containers(run, owner)
    held = containers.inspect(run, [c for s in stack.services.values() for c in s.containers])
    foreign += [ownership.Foreign("container", n, ownership.whose(s.owner, s.working_dir))
                for n, s in held.items()
                if not owner.owns_container(s) and n not in {f.name for f in foreign}]
    foreign += ownership.foreign_resources(run, owner)
    if foreign:
        report("*", "leaving alone", ownership.summary(stack.project, foreign))
        remove_owned(run, report, owner, volumes, "by owner", unknown=False)
        return
    every_profile = profiles_of(stack, list(stack.services))
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


def project_name(root: Path, env: str) -> str:
    """The env's own project; never a guess that could name another stack."""
    try:
        return load_environment(root, env).project_name
    except ConfigurationError:
        raise PhoenixError(
            f"cannot tell which project is environment '{env}': its env file is "
            f"broken and there is no {StateDir(root, env).compose_file.relative_to(root)}",
            hint="fix the env file, or name the project: `inv down --project NAME`"
        ) from None
