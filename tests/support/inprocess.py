"""The ``phoenix`` console script run in this process: what a subprocess would show (exit
code, stdout, stderr) without the 0.5-1 s of a new interpreter and its imports.

For the tests of what a command does with a repository's files.  What needs a process of
its own (signals, a closed pipe, the interpreter's exit) keeps :func:`support.inv`."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
from pathlib import Path


def phoenix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``phoenix ARGS`` run from ``root``, in process; the environment and the working
    directory are restored afterwards (``main`` exports docker compose's global flags)."""
    from phoenix_compose.cli.program import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd = dict(os.environ), Path.cwd()
    code: int | str | None = 0
    try:
        os.chdir(root)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            main(["phoenix", *args])
    except SystemExit as exc:
        code = exc.code
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
    if isinstance(code, str):  # sys.exit("message"): printed, exit status 1
        err.write(code + "\n")
        code = 1
    return subprocess.CompletedProcess(["phoenix", *args], code or 0, out.getvalue(),
                                       err.getvalue())
