"""``inv vscode.tasks``: .vscode/tasks.json from this very task list."""

from __future__ import annotations

from invoke import Collection, Context, task

from .common import boundary, err, stack_root


def task_specs(ns: Collection) -> list:
    """Every task of the namespace as plain data (help text cached at build time, since
    invoke consumes it when it parses the command line)."""
    from ..vscode import ArgSpec, TaskSpec

    specs = []
    for name in sorted(ns.task_names):
        body = ns[name]
        doc = (body.__doc__ or body.body.__doc__ or "").strip().splitlines()
        helps = getattr(body, "phoenix_help", {})
        args = []
        for arg in body.get_arguments():
            flag = arg.names[0]
            kind = getattr(arg.kind, "__name__", str(arg.kind))
            args.append(ArgSpec(flag, kind, arg.default,
                                helps.get(arg.name, helps.get(flag, "")), arg.positional))
        specs.append(TaskSpec(name, doc[0] if doc else name, tuple(args)))
    return specs


def stack_services(root) -> list[str]:
    """Services of every environment whose config is valid."""
    from ..environment import list_environments
    from ..errors import ConfigurationError
    from ..pipeline import prepare
    from ..stack import load_stack

    services: set[str] = set()
    for env in list_environments(root):
        try:
            outcome = prepare(root, env)
        except ConfigurationError:
            continue
        services |= set(load_stack(outcome.compose_file, outcome.project_name).services)
    return sorted(services)


@task(help={"check": "write nothing; exit 1 with a diff when the file is stale"})
def tasks(c: Context, check: bool = False) -> None:
    """Generate .vscode/tasks.json from the invoke task list (inputs, matchers, groups)."""
    from ..environment import list_environments
    from ..vscode import build_tasks, render, sync
    from . import CURRENT

    root = stack_root(c)
    path = root / ".vscode" / "tasks.json"
    with boundary():
        document = build_tasks(task_specs(CURRENT["namespace"]), list_environments(root),
                               stack_services(root))
        diff = sync(path, render(document), check)
    if check:
        print(f"{path.relative_to(root)} is up to date")
    elif diff is None:
        print(f"{path.relative_to(root)} unchanged")
    else:
        print(f"wrote {path.relative_to(root)}")
        err(diff)
