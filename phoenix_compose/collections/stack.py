"""Root-level tasks of the stack (``inv envs``; the lifecycle tasks join them)."""

from __future__ import annotations

from invoke import Context, task

from .common import stack_root


@task
def envs(c: Context) -> None:
    """List the environments (one per envs/<name>.env)."""
    from ..environment import list_environments, load_environment

    root = stack_root(c)
    for name in list_environments(root):
        try:
            production = load_environment(root, name).production
        except Exception:  # a broken env file is reported by config.validate, not here
            production = name == "prod"
        print(f"{name}{'  (production)' if production else ''}")


ROOT_TASKS = [envs]
