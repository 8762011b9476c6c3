"""The ``phoenix`` console script: invoke's Program over the same collections, with the
stack root = the current directory, or the nearest folder above it that holds a stack (for
repositories that hold only a stack, e.g. in a pre-commit hook); ``PHOENIX_STACK_ROOT``
names it instead (the systemd watcher unit, which runs from no stack folder).

A repository may not be trusted (a pre-commit hook runs on whatever is checked out), so
its ``tasks/*.py`` plugins are imported only with ``--plugins`` (before the task name).
"""

from __future__ import annotations

# Lazy on purpose: the engine (config pipeline, runtime, integrations, watch) is imported
# inside the tasks, when one runs. Every cli module is imported at start-up (phoenix
# --help, inv --list), where runtime.lifecycle alone costs 0.2-0.4 s (python -X
# importtime); tests/cli/test_startup.py guards it, bench/cli.py measures it.
import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from phoenix_compose.cli.globalflags import Globals

PLUGINS_FLAG = "--plugins"
ROOT_VARIABLE = "PHOENIX_STACK_ROOT"


def main(argv: list[str] | None = None) -> None:
    """``argv`` None: the console script, whose process ends with the command; a quick
    answer then runs without the cyclic garbage collector (:func:`_collector`)."""
    own = _collector(argv is None)
    argv = list(sys.argv if argv is None else argv)
    plugins = PLUGINS_FLAG in argv[1:]
    argv = [a for i, a in enumerate(argv) if i == 0 or a != PLUGINS_FLAG]
    flags, argv = _globals(argv)
    start = Path(os.environ.get(ROOT_VARIABLE) or Path.cwd())
    root = flags.root(Path.cwd()) or find_root(start)
    if root is None and not {"--version", "-V", "--help", "-h"} & set(argv[1:]):
        print(f"error: no stack found (looked for envs/, compose/ and compose.yaml from "
              f"{start} upward)", file=sys.stderr)
        raise SystemExit(2)
    if flags.files and root is not None and (root / "compose").is_dir():
        print(f"error: -f names a compose project's files; {root} is a stack root, whose "
              "files are compose/*.yaml", file=sys.stderr)
        raise SystemExit(2)
    os.environ.update(flags.environment(Path.cwd()))
    if root is not None and not plugins:  # config.show, without invoke (cli/quick.py)
        from phoenix_compose.cli.quick import answer

        if (code := answer(root, argv[1:])) is not None:
            if own:
                gc.freeze()  # not even a pass at the exit
            raise SystemExit(code)
    from phoenix_compose import __version__
    from phoenix_compose.cli.namespace import Program, build_namespace  # invoke, first

    namespace = build_namespace(root or Path.cwd(), plugins=plugins)
    if own:  # what was imported stays; a task may run for hours (the watcher)
        gc.freeze()
        gc.enable()
    Program(namespace=namespace, version=__version__, name="phoenix-compose",
            binary="phoenix").run(argv)


def _collector(own: bool) -> bool:
    """The cyclic garbage collector, off in the console script's own process while it
    imports and answers: what start-up allocates lives to the end or is freed by reference
    counting, and the collector's passes over it (about 60 in a cold ``config.show`` of a
    large file, 20 in a cached one, and a full pass at the interpreter's exit) were 10-15%
    of a quick answer and of ``phoenix --help``.  ``main`` freezes what is left (exempt
    from every later pass, the one at the exit too) and, before invoke runs a task, turns
    the collector back on.  A caller's ``argv`` (the tests run ``main`` in their own
    process) leaves the collector as it is."""
    if own:
        gc.disable()
    return own


def _globals(argv: list[str]) -> tuple[Globals, list[str]]:
    """docker compose's global flags before the task (cli/globalflags), taken out."""
    from phoenix_compose.cli.globalflags import take

    try:
        flags, rest = take(argv[1:], _task_words(argv[1:]))
    except ValueError as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(2) from None
    return flags, argv[:1] + rest


def _task_words(args: list[str]) -> set[str]:
    """The words that may name a task (the first one that is not a flag or its value ends
    the global flags: a cheap guess, the namespace is not built yet)."""
    from phoenix_compose.cli.globalflags import TAKES

    out, skip = set(), False
    for arg in args:
        if skip:
            skip = False
        elif arg in TAKES:
            skip = True
        elif not arg.startswith("-"):
            out.add(arg)
            break
    return out


def find_root(start: Path) -> Path | None:
    """The nearest folder, from ``start`` upward, that holds a stack (envs/ or compose/) or
    a compose project (a compose file docker compose would find there).  A stack's own
    ``compose/`` folder (its parent has ``envs/``) is that stack, though it holds a
    ``compose.yaml``."""
    from phoenix_compose.config.stackfiles import is_compose_project

    for folder in (start, *start.parents):
        if (folder / "envs").is_dir() or (folder / "compose").is_dir():
            return folder
        if is_compose_project(folder):
            inside = folder.name == "compose" and (folder.parent / "envs").is_dir()
            return folder.parent if inside else folder
    return None


if __name__ == "__main__":  # pragma: no cover
    main()
