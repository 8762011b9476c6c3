"""``inv ci`` and ``inv test``: what a pipeline (or a developer) runs."""

from __future__ import annotations

import shlex

from invoke import Context, Exit, task

from phoenix_compose.cli.common import boundary, say, stack_root


@task(help={"pytest_args": "extra arguments for pytest, e.g. \"-m 'not slow'\""})
def test(c: Context, pytest_args: str = "") -> None:
    """Run the test suite (pytest) of the stack root."""
    from phoenix_compose.integrations.ci import run_pytest

    with boundary():
        run_pytest(stack_root(c), shlex.split(pytest_args))


@task(help={"pytest_args": "extra arguments for the tests step"})
def ci(c: Context, pytest_args: str = "") -> None:
    """CI steps in order: validate all envs, VS Code tasks staleness, the Kubernetes and
    Quadlet exports of every env, tests."""
    import sys
    from pathlib import Path

    from phoenix_compose.cli import CURRENT
    from phoenix_compose.integrations.ci import (
        check_exports,
        run_pytest,
        run_steps,
        summary,
        validate_all,
    )
    from phoenix_compose.integrations.vscode import render, sync, tasks_document

    root = stack_root(c)

    def vscode_check() -> None:
        document = tasks_document(CURRENT["namespace"], root)
        sync(root / ".vscode" / "tasks.json", render(document), check=True)

    program = str(Path(sys.executable).with_name("phoenix"))
    steps = [("validate", lambda: validate_all(root)), ("vscode-tasks", vscode_check),
             ("exports", lambda: check_exports(root, program)),
             ("tests", lambda: run_pytest(root, shlex.split(pytest_args)))]
    with boundary():
        results = run_steps(steps)
    say(summary(results, [name for name, _ in steps]))
    if not all(r.ok for r in results) or len(results) < len(steps):
        raise Exit(code=1)


ROOT_TASKS = [test, ci]
