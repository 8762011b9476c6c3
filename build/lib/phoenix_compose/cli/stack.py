"""Root-level tasks of the stack (``inv envs``; the lifecycle tasks join them)."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
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
