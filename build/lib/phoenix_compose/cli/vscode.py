"""``inv vscode.tasks``: .vscode/tasks.json from this very task list."""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
from invoke import Context, task

from phoenix_compose.cli.common import boundary, say, stack_root


@task(help={"check": "write nothing; exit 1 with a diff when the file is stale"})
def tasks(c: Context, check: bool = False) -> None:
    """Generate .vscode/tasks.json from the invoke task list (inputs, matchers, groups)."""
    from phoenix_compose.cli import CURRENT
    from phoenix_compose.integrations.vscode import render, sync, tasks_document
    from phoenix_compose.integrations.vscodecmd import committed_command

    root = stack_root(c)
    path = root / ".vscode" / "tasks.json"
    with boundary():
        keep = committed_command(path) if check else None
        diff = sync(path, render(tasks_document(CURRENT["namespace"], root, keep)), check)
    if check:
        say(f"{path.relative_to(root)} is up to date")
    elif diff is None:
        say(f"{path.relative_to(root)} unchanged")
    else:
        changed = sum(1 for line in diff.splitlines()
                      if line[:1] in "+-" and line[:3] not in ("+++", "---"))
        say(f"wrote {path.relative_to(root)} ({changed} lines changed)")
