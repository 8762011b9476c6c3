"""The ``phoenix`` console script: invoke's Program over the same collections, with the
stack root = the current directory, or the nearest folder above it that holds a stack (for
repositories that hold only a stack, e.g. in a pre-commit hook); ``PHOENIX_STACK_ROOT``
names it instead (the systemd watcher unit, which runs from no stack folder).

A repository may not be trusted (a pre-commit hook runs on whatever is checked out), so
its ``tasks/*.py`` plugins are imported only with ``--plugins`` (before the task name).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PLUGINS_FLAG = "--plugins"
ROOT_VARIABLE = "PHOENIX_STACK_ROOT"


def main(argv: list[str] | None = None) -> None:
    from invoke import Program

    from phoenix_compose import __version__
    from phoenix_compose.cli import build_namespace
    from phoenix_compose.cli.nearest import global_flag

    argv = list(sys.argv if argv is None else argv)
    plugins = PLUGINS_FLAG in argv[1:]
    argv = [a for i, a in enumerate(argv) if i == 0 or a != PLUGINS_FLAG]
    root = find_root(Path(os.environ.get(ROOT_VARIABLE) or Path.cwd()))
    if root is None and not {"--version", "-V", "--help", "-h"} & set(argv[1:]):
        print(f"error: no stack found (looked for envs/, compose/ and compose.yaml from "
              f"{os.environ.get(ROOT_VARIABLE) or Path.cwd()} upward)", file=sys.stderr)
        raise SystemExit(2)
    namespace = build_namespace(root or Path.cwd(), plugins=plugins)
    refused = global_flag(argv[1:], set(namespace.task_names) |
                          {a for t in namespace.task_names for a in namespace[t].aliases})
    if refused:
        print(refused, file=sys.stderr)
        raise SystemExit(2)
    Program(namespace=namespace, version=__version__, name="phoenix-compose",
            binary="phoenix").run(argv)


def find_root(start: Path) -> Path | None:
    """The nearest folder, from ``start`` upward, that holds a stack (envs/ or compose/) or
    a compose project (a compose file docker compose would find there)."""
    from phoenix_compose.config.stackfiles import is_compose_project

    for folder in (start, *start.parents):
        if (folder / "envs").is_dir() or (folder / "compose").is_dir() or \
                is_compose_project(folder):
            return folder
    return None


if __name__ == "__main__":  # pragma: no cover
    main()
