"""The one subprocess seam: every podman and podman-compose call goes through ``run``
(or ``stream``/``follow`` for output that keeps coming).

Command lines are data, built by the pure functions of :mod:`.argv`; ``run`` executes one
(never through a shell), and any failure, including a missing executable or a timeout,
becomes one :class:`CommandError` carrying the command, exit code and the tail of its
output.  Exit codes that are answers (``healthcheck run``'s 1) are listed in ``ok_codes``;
a failure a caller can live with is named in ``tolerate`` by its exit code *and* a pattern
of its message, so podman's catch-all 125 is never accepted wholesale.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix_compose.errors import CommandError

Argv = tuple[str, ...]


@dataclass(frozen=True)
class Result:
    argv: Argv
    code: int
    stdout: str
    stderr: str


@functools.lru_cache(maxsize=64)
def _command(path: str) -> Any:
    import sh

    return sh.Command(path)


def executable(name: str) -> str:
    """``name`` from this interpreter's environment (the venv) first, then from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    return shutil.which(name) or name


Tolerated = tuple[tuple[int, str], ...]  # (exit code, regex its stderr must match)


def run(argv: Sequence[str], *, timeout: float | None = 120, ok_codes: Iterable[int] = (0,),
        tolerate: Tolerated = (), input: str | None = None) -> Result:
    """Run ``argv``; raise CommandError unless its exit code is in ``ok_codes``, or is a
    tolerated code whose output matches the tolerated message.

    Captured calls use the standard library's ``subprocess`` (vfork/posix_spawn): measured
    here at about 0.25 ms of our CPU a call against 3-4 ms for ``sh`` (a fork of the whole
    interpreter plus three threads), which the health watch's CPU budget cannot afford.
    ``sh`` serves the streaming calls (``stream``).
    """
    argv = tuple(argv)
    ok = tuple(ok_codes)
    try:
        proc = subprocess.run([executable(argv[0]), *argv[1:]], input=input,
                              capture_output=True, timeout=timeout, text=True,
                              encoding="utf-8", errors="replace", stdin=None if input is not None
                              else subprocess.DEVNULL)
    except FileNotFoundError:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed or not on PATH "
                                             "(run ./dev setup, or `inv doctor`)") from None
    except subprocess.TimeoutExpired as exc:
        raise CommandError(argv, None, _decode(exc.stdout), _decode(exc.stderr),
                           reason=f"timed out after {timeout:g} s") from None
    result = Result(argv, proc.returncode, proc.stdout, proc.stderr)
    if result.code < 0:
        raise CommandError(argv, None, result.stdout, result.stderr,
                           reason=f"killed by signal {-result.code}")
    if result.code not in ok and not tolerated(result, tolerate):
        raise CommandError(argv, result.code, result.stdout, result.stderr)
    return result


def tolerated(result: Result, tolerate: Tolerated) -> bool:
    text = result.stderr + result.stdout
    return any(result.code == code and re.search(pattern, text, re.IGNORECASE)
               for code, pattern in tolerate)


def stream(argv: Sequence[str], on_line: Callable[[str], None]) -> int:
    """Run ``argv``, handing each output line to ``on_line``; returns the exit code."""
    import sh

    argv = tuple(argv)
    try:
        command = _command(executable(argv[0]))
    except sh.CommandNotFound:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed") from None
    proc = command(*argv[1:], _tty_out=False, _ok_code=list(range(256)), _out=on_line,
                   _err=on_line, _bg=True, _bg_exc=False)
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        raise
    return proc.exit_code


class Follower:
    """A long-running command whose output lines go to a callback until ``stop``."""

    def __init__(self, argv: Sequence[str], on_line: Callable[[str], None]) -> None:
        import sh

        self.argv = tuple(argv)
        try:
            command = _command(executable(self.argv[0]))
        except sh.CommandNotFound:
            raise CommandError(self.argv, None, reason=f"{argv[0]} is not installed") from None
        self.proc = command(*self.argv[1:], _tty_out=False, _ok_code=list(range(256)),
                            _out=on_line, _bg=True, _bg_exc=False)

    def stop(self) -> None:
        try:
            self.proc.terminate()
            self.proc.wait()
        except Exception:  # already gone; its exit code is of no interest after a stop
            pass


def follow(argv: Sequence[str], on_line: Callable[[str], None]) -> Follower:
    return Follower(argv, on_line)


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")
