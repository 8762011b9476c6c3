"""``--dry-run``: the podman command lines an action would run, computed from the validated
stack alone (no podman call, no lock, no audit line: nothing changes)."""

from __future__ import annotations

from collections.abc import Sequence

from phoenix_compose.runtime import argv, argv_compose
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.runtime.startup import levels


def _profiles(stack: Stack, names: Sequence[str]) -> list[str]:
    return sorted({p for n in names for p in stack.services[n].profiles})


def up(stack: Stack, names: Sequence[str]) -> list[argv.Argv]:
    """Create level by level, then start each level (health-gated in a real run)."""
    lines: list[argv.Argv] = []
    for level in levels(stack, list(names)):
        lines.append(argv.create(stack.compose_file, stack.project, level,
                                 _profiles(stack, names)))
        lines.append(argv.start(*[stack.services[n].container for n in level]))
    return lines


def down(stack: Stack, volumes: bool, rmi: str = "") -> list[argv.Argv]:
    from phoenix_compose.runtime.images import removable_images

    return [argv.down(stack.compose_file, stack.project, volumes,
                      _profiles(stack, list(stack.services))),
            *(argv_compose.remove_image(i) for i in (removable_images(stack, rmi)
                                                       if rmi else ()))]


def restart(stack: Stack, names: Sequence[str]) -> list[argv.Argv]:
    containers = [stack.services[n].container for n in names]
    return [argv.stop(*containers), *up(stack, names)[1::2]]


def stop(stack: Stack, names: Sequence[str]) -> list[argv.Argv]:
    return [argv.stop(*[stack.services[n].container for n in names])]


def rm(stack: Stack, names: Sequence[str]) -> list[argv.Argv]:
    return [argv.remove_stopped(*[stack.services[n].container for n in names])]


def signal(stack: Stack, names: Sequence[str], action: str, sig: str = "KILL"
           ) -> list[argv.Argv]:
    """``kill``, ``pause`` or ``unpause`` (of the containers in the right state, in a run)."""
    containers = [stack.services[n].container for n in names]
    if action == "kill":
        return [argv_compose.kill(*containers, signal=sig)]
    return [getattr(argv_compose, action)(*containers)]
