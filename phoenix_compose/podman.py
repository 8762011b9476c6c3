"""The one subprocess seam: every podman and podman-compose call goes through ``run``
(or ``stream`` for output that keeps coming).

Command lines are data: the builders below are pure and return argv tuples; ``run``
executes one (never through a shell), and any failure, including a missing
executable or a timeout, becomes one :class:`CommandError` carrying the command, exit code
and the tail of its output.  Callers that accept failure say so with ``ok_codes``.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ComposeRuntimeError

Argv = tuple[str, ...]
TAIL_LINES = 15


@dataclass(frozen=True)
class Result:
    argv: Argv
    code: int
    stdout: str
    stderr: str


class CommandError(ComposeRuntimeError):
    """A command failed: not found, timed out, or exited with a code nobody accepted."""

    def __init__(self, argv: Sequence[str], code: int | None, stdout: str = "",
                 stderr: str = "", reason: str = "") -> None:
        self.argv = tuple(argv)
        self.code = code
        self.stdout = stdout
        self.stderr = stderr
        detail = reason or f"exit code {code}"
        tail = tail_lines(stderr or stdout)
        message = f"`{printable(argv)}` failed: {detail}" + (f"\n{tail}" if tail else "")
        super().__init__(message)


def tail_lines(text: str, count: int = TAIL_LINES) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("  " + line for line in lines[-count:])


def printable(argv: Sequence[str]) -> str:
    """For messages only; commands are never run from this string."""
    import shlex

    return " ".join(shlex.quote(a) for a in argv)


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


def run(argv: Sequence[str], *, timeout: float | None = 120, ok_codes: Iterable[int] = (0,),
        input: str | None = None) -> Result:
    """Run ``argv``; raise CommandError unless its exit code is in ``ok_codes``.

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
    if result.code not in ok:
        raise CommandError(argv, result.code, result.stdout, result.stderr)
    return result


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


def events(project: str) -> Argv:
    return ("podman", "events", "--format", "json", "--filter",
            f"label=io.podman.compose.project={project}")


def _decode(data: bytes | str | None) -> str:
    if data is None:
        return ""
    return data if isinstance(data, str) else data.decode("utf-8", errors="replace")


# -- command lines -------------------------------------------------------------------------

def compose(compose_file: Path, project: str, *args: str, profiles: Sequence[str] = ()) -> Argv:
    """podman-compose always gets our one file, an explicit project and no pod."""
    profile_args = tuple(a for p in profiles for a in ("--profile", p))
    return ("podman-compose", "--in-pod", "false", "-f", str(compose_file), "-p", project,
            *profile_args, *args)


def create(compose_file: Path, project: str, services: Sequence[str],
           profiles: Sequence[str] = ()) -> Argv:
    return compose(compose_file, project, "up", "--no-start", "--no-deps", *services,
                   profiles=profiles)


def down(compose_file: Path, project: str, volumes: bool = False,
         profiles: Sequence[str] = (), timeout: int | None = None) -> Argv:
    return compose(compose_file, project, "down", "--remove-orphans",
                   *(("--volumes",) if volumes else ()),
                   *(("--timeout", str(timeout)) if timeout is not None else ()),
                   profiles=profiles)


def start(*containers: str) -> Argv:
    return ("podman", "start", *containers)


def stop(*containers: str, timeout: int = 10) -> Argv:
    return ("podman", "stop", "--time", str(timeout), *containers)


def restart(*containers: str, timeout: int = 10) -> Argv:
    return ("podman", "restart", "--time", str(timeout), *containers)


def healthcheck_run(container: str) -> Argv:
    return ("podman", "healthcheck", "run", container)


def inspect(*containers: str) -> Argv:
    return ("podman", "container", "inspect", *containers)


def ps(project: str) -> Argv:
    return ("podman", "ps", "--all", "--format", "json", "--filter",
            f"label=io.podman.compose.project={project}")


def logs(container: str, lines: int | None = None, follow: bool = False) -> Argv:
    return ("podman", "logs", *(("--tail", str(lines)) if lines is not None else ()),
            *(("--follow",) if follow else ()), container)


def build(tag: str, context: str, containerfile: str | None = None,
          args: Sequence[tuple[str, str]] = ()) -> Argv:
    extra = tuple(a for k, v in args for a in ("--build-arg", f"{k}={v}"))
    file_args = ("-f", containerfile) if containerfile else ()
    return ("podman", "build", "-t", tag, *file_args, *extra, context)


def image_id(image: str) -> Argv:
    return ("podman", "image", "inspect", "--format", "{{.Id}}", image)


def remove(*containers: str, timeout: int = 10) -> Argv:
    """podman-compose links depends_on as podman container dependencies: remove those too."""
    return ("podman", "rm", "--force", "--depend", "--time", str(timeout), *containers)


def image_exists(image: str) -> Argv:
    return ("podman", "image", "exists", image)


def labelled(kind: str, project: str) -> Argv:
    """IDs of the project's containers, networks or volumes (``kind``: container, network,
    volume), by podman-compose's project label."""
    listing = ("ps", "--all") if kind == "container" else (kind, "ls")
    return ("podman", *listing, "--quiet", "--filter",
            f"label=io.podman.compose.project={project}")


def volume_ls(project: str) -> Argv:
    return ("podman", "volume", "ls", "--format", "json", "--filter",
            f"label=io.podman.compose.project={project}")


def container_name(project: str, service: str, index: int = 1) -> str:
    """podman-compose's naming: ``<project>_<service>_<n>``."""
    return f"{project}_{service}_{index}"
