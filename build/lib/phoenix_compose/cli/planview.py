"""How a plan is printed: ``inv plan`` and ``inv up --dry-run`` share :func:`plan_text` (they
print the same plan, from the same observation code), and the dry runs of the other
actions print the podman command lines they would run."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
from collections.abc import Sequence
from typing import TYPE_CHECKING

from phoenix_compose.cli.common import say

if TYPE_CHECKING:
    from phoenix_compose.runtime.argv import Argv
    from phoenix_compose.runtime.deploy import Deployer
    from phoenix_compose.runtime.plan import Plan
    from phoenix_compose.runtime.stack import Stack

GATED = ("(each start waits for its dependencies' depends_on conditions; a health check is "
         "repeated until the service is healthy)")


def plan_text(env: str, plan: Plan) -> str:
    counts: dict[str, int] = {}
    for step in plan.steps:
        counts[str(step.change)] = counts.get(str(step.change), 0) + 1
    head = ", ".join(f"{n} to {c}" if c != "unchanged" else f"{n} unchanged"
                     for c, n in counts.items()) or "no services"
    lines = [f"{env}: {head} (project {plan.project})"]
    width = max((len(s.service) for s in plan.steps), default=0)
    wide = max((len(s.change.value) for s in plan.steps), default=9)
    for step in plan.steps:
        notes = list(step.reasons)
        if step.change.value == "recreate" and step.volumes:
            notes.append(f"keeps named volume(s) {', '.join(step.volumes)}")
        lines.append(f"  {step.change.value:<{max(wide, 9)}}  {step.service:<{width}}  "
                     + ("; ".join(notes) or "-"))
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


def dry_run_text(env: str, stack: Stack, plan: Plan, edge_runs: bool = False) -> str:
    """``up --dry-run``: the plan as ``inv plan`` prints it, then the command lines the
    execute step runs for it (:func:`runtime.plan.commands`); ``edge_runs``: the services
    updated start-first behind the edge show the lines of their roll instead."""
    from phoenix_compose.runtime.plan import commands
    from phoenix_compose.runtime.startfirst import roll_lines, rolling

    rolled = rolling(stack, plan.steps, edge_runs)
    lines = [*commands(stack, plan, rolled),
             *[line for s in rolled for line in roll_lines(stack, s, plan.existing)]]
    return "\n".join([plan_text(env, plan), *command_lines(lines),
                      *([f"  {GATED}"] if lines else [])])


def command_lines(lines: Sequence[Argv]) -> list[str]:
    from phoenix_compose.errors import printable

    if not lines:
        return ["dry run: nothing was changed; no command would run"]
    return ["dry run: nothing was changed; these commands would run:",
            *[f"  {printable(line)}" for line in lines]]


def print_plan(lines: Sequence[Argv]) -> None:
    say("\n".join(command_lines(lines)))


def down_commands(stack: Stack, volumes: bool, rmi: str = "") -> list[Argv]:
    from phoenix_compose.runtime import argv, argv_compose
    from phoenix_compose.runtime.images import removable_images
    from phoenix_compose.runtime.plan import profiles_of

    return [argv.down(stack.compose_file, stack.project, volumes,
                      profiles_of(stack, list(stack.services))),
            *(argv_compose.remove_image(i) for i in (removable_images(stack, rmi)
                                                       if rmi else ()))]


def signal_commands(stack: Stack, names: Sequence[str], action: str, sig: str = "KILL"
                    ) -> list[Argv]:
    """``kill``, ``pause`` or ``unpause`` (of the containers in the right state, in a run)."""
    from phoenix_compose.runtime import argv_compose

    containers = [c for n in names for c in stack.services[n].containers]
    if action == "kill":
        return [argv_compose.kill(*containers, signal=sig)]
    return [getattr(argv_compose, action)(*containers)]


def restart_commands(stack: Stack, names: Sequence[str], deployer: Deployer | None = None
                     ) -> list[Argv]:
    """Stop, then create (the first level, then the rest) and start per level (``restart``
    recreates what the plan says must be recreated: removed first, not shown here);
    ``deployer``: a start-first service behind its running edge shows its roll instead."""
    from phoenix_compose.runtime import argv
    from phoenix_compose.runtime.edgeproc import Edge
    from phoenix_compose.runtime.plan import profiles_of
    from phoenix_compose.runtime.restartfirst import recreating
    from phoenix_compose.runtime.startfirst import roll_lines, rolling
    from phoenix_compose.runtime.startup.creation import start_lines

    plan = recreating(deployer, stack, names, "restarted") if deployer else None
    rolled = rolling(stack, plan.steps, Edge(deployer.state).pid() is not None) \
        if plan and deployer else []
    rest = [n for n in names if n not in {s.service for s in rolled}]
    lines = [line for s in rolled for line in roll_lines(stack, s, plan.existing)] \
        if plan else []
    return lines + ([argv.stop(*[c for n in rest for c in stack.services[n].containers]),
                     *start_lines(stack, rest, profiles_of(stack, rest))] if rest else [])


def stop_commands(stack: Stack, names: Sequence[str]) -> list[Argv]:
    from phoenix_compose.runtime import argv

    return [argv.stop(*[c for n in names for c in stack.services[n].containers])]


def rm_commands(stack: Stack, names: Sequence[str]) -> list[Argv]:
    from phoenix_compose.runtime import argv

    return [argv.remove_stopped(*[c for n in names for c in stack.services[n].containers])]
