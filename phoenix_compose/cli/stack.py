"""Root-level tasks of the stack (``inv envs``; the lifecycle tasks join them)."""

from __future__ import annotations

from invoke import Context, task

from phoenix_compose.cli.common import say, stack_root


@task
def envs(c: Context) -> None:
    """List the environments (one per envs/<name>.env)."""
    from phoenix_compose.config.environment import describe_environments

    for name, production in describe_environments(stack_root(c)):
        say(f"{name}{'  (production)' if production else ''}")


ROOT_TASKS = [envs]
