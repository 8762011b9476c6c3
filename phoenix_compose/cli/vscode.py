"""``inv vscode.tasks``: .vscode/tasks.json from this very task list."""

from __future__ import annotations

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
