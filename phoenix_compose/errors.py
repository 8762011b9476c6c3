"""The small error family of the suite; one boundary (the invoke tasks) turns them into exits.

Every error says what went wrong and what to do next (``hint``).  Nothing below the task
layer calls ``sys.exit``.
"""

from __future__ import annotations

from collections.abc import Iterable
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


class IntegrationError(PhoenixError):
    """VS Code, pre-commit or event-hook integration failed."""
