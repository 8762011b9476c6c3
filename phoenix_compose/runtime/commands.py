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

import contextlib
import functools
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import stopping
from phoenix_compose.runtime.procs import kill_tree, raced, workdir

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
        tolerate: Tolerated = (), input: str | None = None,
        env: Mapping[str, str] | None = None, cwd: Path | None = None) -> Result:
    """Run ``argv``; raise CommandError unless its exit code is in ``ok_codes``, or is a
    tolerated code whose output matches the tolerated message.

    Captured calls use ``subprocess`` (vfork: 0.25 ms of our CPU, not ``sh``'s 3-4 ms fork,
    which the watch cannot afford).  A lost podman stop race is run once more (procs.raced).
    """
    argv = tuple(argv)
    stopping.check()  # a stop signal was noted: no podman call starts, none goes on
    result = Result(argv, *_communicate(argv, input, timeout, env, cwd))
    if raced(argv, result.code, result.stderr):  # podman's stop race: once more
        stopping.check()  # unless a stop was noted meanwhile: no podman call starts then
        result = Result(argv, *_communicate(argv, input, timeout, env, cwd))
    stopping.check()
    if result.code < 0:
        raise CommandError(argv, None, result.stdout, result.stderr,
                           reason=f"killed by signal {-result.code}")
    if result.code not in tuple(ok_codes) and not tolerated(result, tolerate):
        raise CommandError(argv, result.code, result.stdout, result.stderr)
    return result


def _communicate(argv: Argv, input: str | None, timeout: float | None,
                 env: Mapping[str, str] | None = None,
                 cwd: Path | None = None) -> tuple[int, str, str]:
    """Run in our own process group (see ``_kill``), tracked for ``terminate_all``; the
    child never outlives the call, even on an interrupt."""
    try:
        proc = subprocess.Popen([executable(argv[0]), *argv[1:]], text=True,
                                encoding="utf-8", errors="replace", stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                stdin=subprocess.PIPE if input is not None
                                else subprocess.DEVNULL,
                                env={**os.environ, **env} if env else None,
                                cwd=cwd or workdir())
    except FileNotFoundError:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed or not on PATH "
                                             "(run ./dev setup)") from None
    except OSError as exc:  # not executable by this user, a bad interpreter line, ...
        raise CommandError(argv, None, reason=f"{executable(argv[0])} cannot be run: "
                                             f"{exc.strerror or exc}") from None
    with _tracked(proc):
        try:
            stdout, stderr = proc.communicate(input, timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            stdout, stderr = proc.communicate()
            raise CommandError(argv, None, stdout, stderr,
                               reason=f"timed out after {timeout:g} s") from None
        except BaseException:
            _kill(proc)
            proc.wait()
            raise
    return proc.returncode, stdout, stderr


def transfer(argv: Sequence[str], *, stdout: Any = None, stdin: Any = None,
             sink: Callable[[bytes], None] | None = None,
             timeout: float | None = None) -> Result:
    """Run ``argv``, its output straight to the binary file ``stdout`` (or, in 1 MiB chunks,
    to ``sink``) or its input from the binary file ``stdin``: nothing is buffered whole, so
    a dump of any size costs no memory.  stderr is captured; failures are as ``run``'s."""
    argv = tuple(argv)
    stopping.check()  # as in ``run``: no call starts after a stop, none fails "by itself"
    try:
        proc = subprocess.Popen([executable(argv[0]), *argv[1:]], stdout=subprocess.PIPE
                                if sink else (stdout or subprocess.DEVNULL),
                                stdin=stdin or subprocess.DEVNULL, stderr=subprocess.PIPE,
                                cwd=workdir())
    except FileNotFoundError:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed") from None
    with _tracked(proc):
        err: list[bytes] = []
        drain = threading.Thread(target=lambda: err.append(proc.stderr.read()),  # type: ignore[union-attr]
                                 daemon=True)  # stderr is a PIPE
        drain.start()
        try:
            while sink and (block := proc.stdout.read(1 << 20)):  # type: ignore[union-attr]
                sink(block)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            proc.wait()
            raise CommandError(argv, None, reason=f"timed out after {timeout:g} s") from None
        except BaseException:
            _kill(proc)
            proc.wait()
            raise
        drain.join(10)
    stopping.check()  # killed because a stop was noted: that stop is the answer
    stderr = b"".join(err).decode("utf-8", "replace")
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, "", stderr,
                           reason=f"killed by signal {-proc.returncode}"
                           if proc.returncode < 0 else "")
    return Result(argv, 0, "", stderr)


_RUNNING: dict[subprocess.Popen, bool] = {}  # each child: started by a ``cleaning`` block
_RUNNING_LOCK = threading.Lock()
WATCHERS: list[Callable[[], None]] = []  # told when a child starts or ends (children.json)


@contextlib.contextmanager
def _tracked(proc: subprocess.Popen) -> Iterator[None]:
    with _RUNNING_LOCK:
        _RUNNING[proc] = stopping.is_cleaning()
    if stopping.STOP.is_set() and not stopping.is_cleaning():  # noted after the check
        _kill(proc)
    _notify()
    try:
        yield
    finally:
        with _RUNNING_LOCK:
            _RUNNING.pop(proc, None)
        _notify()


def _notify() -> None:
    for watcher in list(WATCHERS):
        with contextlib.suppress(Exception):  # a record of children never fails a command
            watcher()


def running() -> list[tuple[int, Argv]]:
    """The children running now: pid and command line."""
    with _RUNNING_LOCK:
        return sorted((proc.pid, tuple(str(a) for a in proc.args))  # type: ignore[union-attr]
                      for proc in _RUNNING)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child and the tree below it, found in /proc (runtime.procs says why)."""
    kill_tree(proc.pid)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


def terminate_all(spare_cleanup: bool = False) -> int:
    """Kill every command running (any thread; ``spare_cleanup``: not those of a ``stopping.
    cleaning`` block): a stop never waits for a hanging podman.  Returns how many."""
    with _RUNNING_LOCK:
        running = [p for p, cleaning in _RUNNING.items() if not (spare_cleanup and cleaning)]
    for proc in running:
        if proc.poll() is None:
            _kill(proc)
    return len(running)


def tolerated(result: Result, tolerate: Tolerated) -> bool:
    text = result.stderr + result.stdout
    return any(result.code == code and re.search(pattern, text, re.IGNORECASE)
               for code, pattern in tolerate)


def spawn(argv: Sequence[str], log: Path) -> int:
    """Start a server in the background, detached (its own session), output to ``log``;
    returns its pid.  It outlives this process by design: stop it by pid."""
    argv = tuple(argv)
    log.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC  # no link
    with os.fdopen(os.open(log, flags, 0o640), "ab") as out:
        try:
            proc = subprocess.Popen([executable(argv[0]), *argv[1:]], stdout=out,
                                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        except FileNotFoundError:
            raise CommandError(argv, None, reason=f"{argv[0]} is not installed (run "
                                                 "./dev setup)") from None
    return proc.pid


def interactive(argv: Sequence[str]) -> int:
    """Run ``argv`` on this terminal (stdin, stdout and stderr inherited): ``exec``.  Its
    exit code is the answer, whatever it is."""
    argv = tuple(argv)
    try:
        proc = subprocess.Popen([executable(argv[0]), *argv[1:]])
    except FileNotFoundError:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed") from None
    with _tracked(proc):
        try:
            return proc.wait()
        except BaseException:
            _kill(proc)
            proc.wait()
            raise


def stream(argv: Sequence[str], on_line: Callable[[str], None]) -> int:
    """Run ``argv``, handing each output line to ``on_line``; returns the exit code."""
    import sh

    argv = tuple(argv)
    try:
        command = _command(executable(argv[0]))
    except sh.CommandNotFound:
        raise CommandError(argv, None, reason=f"{argv[0]} is not installed") from None
    proc = command(*argv[1:], _tty_out=False, _ok_code=list(range(256)), _out=on_line,
                   _err=on_line, _bg=True, _bg_exc=False, _cwd=workdir())
    try:
        proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        raise
    return proc.exit_code


class Follower:
    """A long-running command whose output lines, stdout and stderr alike and in order
    (``podman logs -f`` passes a container's stderr as its own), go to a callback."""

    def __init__(self, argv: Sequence[str], on_line: Callable[[str], None]) -> None:
        import sh

        self.argv = tuple(argv)
        try:
            command = _command(executable(self.argv[0]))
        except sh.CommandNotFound:
            raise CommandError(self.argv, None, reason=f"{argv[0]} is not installed") from None
        self.proc = command(*self.argv[1:], _tty_out=False, _ok_code=list(range(256)),
                            _out=on_line, _err=on_line, _bg=True, _bg_exc=False)

    def alive(self) -> bool:  # still running (e.g. ``podman events`` has not ended)
        try:
            return bool(self.proc.is_alive())
        except Exception:  # sh raises for a process it already reaped with an error
            return False

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` s: a podman slow to leave never holds a stop."""
        for end in (self.proc.terminate, self.proc.kill):
            with contextlib.suppress(Exception):  # gone; its exit code is of no interest now
                end()
                self.proc.wait(timeout=grace)
                return


def follow(argv: Sequence[str], on_line: Callable[[str], None]) -> Follower:
    return Follower(argv, on_line)
