"""The small error family of the suite; one boundary (the invoke tasks) turns them into exits.

Every error says what went wrong and what to do next (``hint``).  Nothing below the task
layer calls ``sys.exit``.
"""

from __future__ import annotations

import re
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
        """One line, whatever the message quotes: the VS Code matcher reads it line by line."""
        text = f"{self.loc}: {self.severity}: {self.message}"
        return shown(f"{text} (hint: {self.hint})" if self.hint else text)


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
        return shown(f"{text}\nhint: {self.hint}" if self.hint else text, keep="\n")


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
        return shown(Exception.__str__(self), keep="\n")


class UnknownEnvironmentError(ConfigurationError):
    """``--env`` names no ``envs/<name>.env``."""


class ComposeRuntimeError(PhoenixError):
    """An action on the stack failed: podman or podman-compose did (see
    :class:`CommandError`), or what it needs is missing or in the way."""

    hint = "`inv status` shows what runs now; fix the cause above and try again"


class HealthCheckError(PhoenixError):
    """A service stayed unhealthy or never became healthy in time."""

    hint = "`inv logs SERVICE` shows why it is not healthy; `inv status` shows what runs"


class UsageError(PhoenixError):
    """A command's arguments name what the stack does not have (``--index`` beyond a
    service's replicas): a usage error, exit 2, as invoke's own."""

    exit_code = 2
    hint = "`inv ps --all` lists each service's replicas"


class StateError(PhoenixError):
    """``.phoenix/<env>/`` cannot be written (read-only, full, or not ours)."""

    hint = "check the permissions and free space of .phoenix/, or remove it (it is generated)"


class BackupError(PhoenixError):
    """A backup, restore or verification refused or failed; the live data is untouched."""

    hint = "the live database is untouched: fix the cause above and run the db task again"


class IntegrationError(PhoenixError):
    """VS Code, pre-commit or event-hook integration failed."""

    hint = "fix the integration named above (its file, or the hook in phoenix.hooks)"


class InterpolationFailed(Exception):
    """Internal to interpolation: aborts one string at its first error (``finding``); it
    never leaves the config package, which reports the finding as a located Problem."""

    def __init__(self, finding: object) -> None:
        super().__init__(str(finding))
        self.finding = finding


class TemplateTimeout(Exception):
    """Internal to template rendering: the wall-clock limit ran out; reported as a located
    Problem at the template line being rendered."""


class UnsupportedSchema(Exception):
    """Internal to the schema compiler (config/schemacode.py): the schema uses a keyword it
    does not implement; jsonschema alone checks that schema then.  Never shown."""


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or another stop signal) during an administrative action: handled like
    Ctrl-C (audited as interrupted, locks released), exit code 128 + the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


class LockedError(ComposeRuntimeError):
    """Another ``up``/``down``/``restart`` holds the environment's lock."""

    hint = "wait for the other run to finish, then try again"


class OwnershipError(ComposeRuntimeError):
    """What an action would touch belongs to another stack root: nothing was changed."""


class EdgeError(ComposeRuntimeError):
    """The edge proxy (HAProxy) refused its config or a runtime change, or does not run."""

    hint = "see .phoenix/<env>/edge/edge.log (the edge's own messages)"


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
        super().__init__(message, hint=next_step(self.argv))


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
    hint = ("fix the problem and run `inv up` again; `--no-rollback` leaves a failed deploy "
            "in place for inspection")

    def __init__(self, cause: BaseException, release: int, changed: Sequence[str]) -> None:
        self.release = release
        lines = [line for line in str(cause).splitlines()
                 if not line.startswith(("left running:", "nothing was started", "hint:"))]
        undone = f" (recreated: {', '.join(changed)})" if changed else " (nothing had changed)"
        super().__init__("\n".join(lines) + f"\nrolled back to release {release}{undone}")


class RolloutStopped(PhoenixError):
    """A start-first roll whose ``failure_action`` is ``pause`` or ``continue`` left some
    replicas on the old config: not rolled back, exit code 3 (the deploy did not happen
    as asked), the message naming each failure and what serves."""

    exit_code = 3
    hint = ("fix the cause and run `inv up` again: it replaces the replicas still on the "
            "old config, start-first")


class StepFailed(PhoenixError):
    """One step of `inv ci` failed."""

    hint = "the step's own output above says what failed; fix it and run `inv ci` again"


TAIL_LINES = 15
DOCTOR = "run `inv doctor` to check the podman installation"
# What to do when a program fails: the doctor checks podman, and only podman
NEXT_STEPS = {
    "podman": DOCTOR, "podman-compose": DOCTOR,
    "git": "run it yourself in the stack root: is git installed and the stack a checkout?",
    "gpg": "run it yourself: the pass secrets driver keeps its GnuPG home under .phoenix/",
    "gpgconf": "run it yourself: the pass secrets driver keeps its GnuPG home under .phoenix/",
    "pass": "run it yourself: the pass secrets driver keeps its store under .phoenix/",
    "bao": "check that OpenBao answers with this BAO_ADDR and BAO_TOKEN: `bao status`",
    "kubectl": "check kubectl's context and that the cluster answers: `kubectl cluster-info`",
    "quadlet": "run `inv deploy.quadlet --check` to see the units' problems located",
    "systemd-analyze": "run `inv deploy.quadlet --check` to see the units' problems located",
}


def next_step(argv: Sequence[str]) -> str:
    """The hint of a failed command, by its program."""
    program = argv[0].rsplit("/", 1)[-1] if argv else ""
    return NEXT_STEPS.get(program, f"run the command above yourself to see why {program} "
                                   "failed" if program else "")


def tail_lines(text: str, count: int = TAIL_LINES) -> str:
    """The last ``count`` non-blank lines of ``text``, indented for a message."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return "\n".join("  " + line for line in lines[-count:])


# C0 and C1 controls, DEL, and the Unicode line separators and bidi overrides: each can
# rewrite what a terminal shows (``\r``, ANSI escapes) or split a one-line message
_HIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def shown(text: str, keep: str = "") -> str:
    """``text`` for a terminal or a log: every control character but those in ``keep``
    written as its escape (``\\r``, ``\\x1b``), so that a value quoted in a message (a
    variable's ``${VAR:?message}``, a command's output) cannot move the cursor, colour the
    screen or start a line of its own."""
    return _HIDDEN.sub(lambda m: m.group() if m.group() in keep else
                       repr(m.group())[1:-1], text)


def printable(argv: Sequence[str]) -> str:
    """A command line for messages only; commands are never run from this string."""
    return " ".join(shlex.quote(a) for a in argv)
