"""The small error family of the suite; one boundary (the invoke tasks) turns them into exits.

Every error says what went wrong and what to do next (``hint``).  Nothing below the task
layer calls ``sys.exit``.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Loc:
    """A place in a file the user wrote; ``file`` is relative to the stack root."""

    file: str
    line: int = 0
    col: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Problem:
    """One located finding, printed as ``FILE:LINE:COL: error: MESSAGE``."""

    loc: Loc
    message: str
    severity: str = "error"
    hint: str = ""

    @property
    def file(self) -> str:
        return self.loc.file

    @property
    def line(self) -> int:
        return self.loc.line

    @property
    def column(self) -> int:
        return self.loc.col

    def __str__(self) -> str:
        text = f"{self.loc}: {self.severity}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text


class PhoenixError(Exception):
    """Base of every error a user can cause or fix; never shown as a traceback."""

    exit_code = 1
    hint = ""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        if hint:
            self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\nhint: {self.hint}" if self.hint else text


class ConfigurationError(PhoenixError):
    """The stack files, templates or env files are invalid; ``problems`` lists all of them."""

    hint = "fix the files named above, then run `inv config.validate` again"

    def __init__(self, problems: Iterable[Problem] | str, hint: str = "") -> None:
        if isinstance(problems, str):
            self.problems: tuple[Problem, ...] = ()
            super().__init__(problems, hint)
        else:
            self.problems = tuple(problems)
            super().__init__("\n".join(str(p) for p in self.problems), hint)

    def __str__(self) -> str:
        return Exception.__str__(self)


class UnknownEnvironmentError(ConfigurationError):
    """``--env`` names no ``envs/<name>.env``."""


class ComposeRuntimeError(PhoenixError):
    """podman or podman-compose failed, or a service did not come up."""

    hint = "run `inv doctor` to check the podman installation"


class HealthCheckError(PhoenixError):
    """A service stayed unhealthy or never became healthy in time."""


class StateError(PhoenixError):
    """``.phoenix/<env>/`` cannot be written (read-only, full, or not ours)."""

    hint = "check the permissions and free space of .phoenix/, or remove it (it is generated)"


class BackupError(PhoenixError):
    """A backup, restore or verification refused or failed; the live data is untouched."""


class IntegrationError(PhoenixError):
    """VS Code, pre-commit or event-hook integration failed."""


class InterpolationFailed(Exception):
    """Internal to interpolation: aborts one string at its first error (``finding``); it
    never leaves the config package, which reports the finding as a located Problem."""

    def __init__(self, finding: object) -> None:
        super().__init__(str(finding))
        self.finding = finding


class TemplateTimeout(Exception):
    """Internal to template rendering: the wall-clock limit ran out; reported as a located
    Problem at the template line being rendered."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or another stop signal) during an administrative action: handled like
    Ctrl-C (audited as interrupted, locks released), exit code 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class LockedError(ComposeRuntimeError):
    """Another ``up``/``down``/``restart`` holds the environment's lock."""


class OwnershipError(ComposeRuntimeError):
    """What an action would touch belongs to another stack root: nothing was changed."""


class CommandError(ComposeRuntimeError):
    """A command failed: not found, timed out, or exited with a code nobody accepted.

    Carries the command line, the exit code (None when it never ran or was killed) and the
    tail of its output, so every caller reports a podman failure the same way.
    """

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


class StartupError(HealthCheckError):
    """A service did not come up; says which, why, and what is left running."""

    def __init__(self, message: str, left_running: Sequence[str] = ()) -> None:
        self.left_running = tuple(left_running)
        if left_running:
            message += (f"\nleft running: {', '.join(left_running)} "
                        "(fix the problem and run `inv up` again, or `inv down`)")
        else:
            message += "\nnothing was started"
        super().__init__(message)


class RolledBack(PhoenixError):
    """``up`` failed and the stack is back on its last healthy release: exit code 3, so
    that CI can tell a failed deploy that was undone from a plain failure (1)."""

    exit_code = 3

    def __init__(self, cause: BaseException, release: int, changed: Sequence[str]) -> None:
        self.release = release
        lines = [line for line in str(cause).splitlines()
                 if not line.startswith(("left running:", "nothing was started", "hint:"))]
        undone = f" (recreated: {', '.join(changed)})" if changed else " (nothing had changed)"
        super().__init__("\n".join(lines) + f"\nrolled back to release {release}{undone}",
                         hint="fix the problem and run `inv up` again; `--no-rollback` "
                              "leaves a failed deploy in place for inspection")


class StepFailed(PhoenixError):
    """One step of `inv ci` failed."""


TAIL_LINES = 15


def tail_lines(text: str, count: int = TAIL_LINES) -> str:
    """The last ``count`` non-blank lines of ``text``, indented for a message."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("  " + line for line in lines[-count:])


def printable(argv: Sequence[str]) -> str:
    """A command line for messages only; commands are never run from this string."""
    return " ".join(shlex.quote(a) for a in argv)
