"""Root-level tasks of the stack (``inv envs``; the lifecycle tasks join them)."""

from __future__ import annotations

from invoke import Context, task

from phoenix_compose.cli.common import say, stack_root, warn_bad_env_files


@task
def envs(c: Context) -> None:
    """List the environments (one per envs/<name>.env)."""
    from phoenix_compose.config.environment import describe_environments

    root = stack_root(c)
    warn_bad_env_files(root)
    for name, production in describe_environments(root):
        say(f"{name}{'  (production)' if production else ''}")


ROOT_TASKS = [envs]
