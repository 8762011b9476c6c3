"""``phoenix`` and ``inv`` run in this process: what a subprocess would show (exit code,
stdout, stderr) without the 0.5-1 s of a new interpreter and its imports.

For the tests of what a command does with a repository's files or its flags.  What needs a
process of its own (signals, a closed pipe, finding tasks.py and invoke.yaml, the
interpreter's exit) keeps :func:`support.inv`."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path


def phoenix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``phoenix ARGS`` run from ``root`` (the console script's own root finding)."""
    from phoenix_compose.cli.program import main

    return _run(root, ["phoenix", *args], main, {})


def inv(root: Path, *args: str,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``inv ARGS`` run from ``root``, on the namespace its tasks.py builds
    (``build_namespace(root)``); ``env``: variables set for the run."""
    from invoke import Program

    from phoenix_compose.cli import build_namespace

    def main(argv: list[str]) -> None:
        Program(namespace=build_namespace(root)).run(argv)

    return _run(root, ["inv", *args], main, env or {})


def _run(root: Path, argv: list[str], main: Callable[[list[str]], None],
         env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``main(argv)`` from ``root``; the environment and the working directory are
    restored afterwards (``phoenix`` exports docker compose's global flags), and so is
    ``sys.argv`` (hints name `phoenix TASK` when the program is ``phoenix``)."""
    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, saved_argv = dict(os.environ), Path.cwd(), sys.argv
    code: int | str | None = 0
    try:
        os.chdir(root)
        os.environ.update(env)
        sys.argv = list(argv)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(argv)
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    if isinstance(code, str):  # sys.exit("message"): printed, exit status 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(argv, code or 0, out.getvalue(), err.getvalue())
