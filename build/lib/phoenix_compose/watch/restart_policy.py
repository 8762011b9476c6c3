"""Restart policy per service (``x-phoenix-restart``): exponential backoff with jitter, and
a circuit breaker, with the circuit's states.  The rules are applied by :mod:`.decide`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoenix_compose._compat import StrEnum


class Circuit(StrEnum):
    CLOSED = "closed"  # restarts allowed
    OPEN = "open"  # too many restarts inside the window: none
    HALF_OPEN = "half-open"  # the window passed: one trial restart


@dataclass(frozen=True)
class RestartPolicy:
    enabled: bool = True
    max_restarts: int = 5
    window_s: float = 600.0
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 60.0
    unhealthy_for_s: float | None = None  # None: podman's retries x interval decide
    no_restart_exit_codes: tuple[int, ...] = ()  # "done, leave it", beyond the stop codes
    restart_mode: str = "restart"  # or "recreate": a new container from the config

    @classmethod
    def from_config(cls, extension: Any, overrides: dict[str, Any] | None = None,
                    warn: Callable[[str], None] | None = None) -> RestartPolicy:
        """``x-phoenix-restart`` of a service, then CLI overrides (None = not given).  A
        value that is not a number (or a mapping that is not one) falls back to the
        default, with a warning: a damaged policy never stops the watcher."""
        given = extension if isinstance(extension, dict) else {}
        if extension is not None and not isinstance(extension, dict) and warn:
            warn(f"x-phoenix-restart must be a mapping, not {extension!r}; using defaults")
        values = {k: v for k, v in given.items() if k in cls.__dataclass_fields__}
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        fields: dict[str, Any] = {}
        for name, cast in (("enabled", _bool), ("max_restarts", int), ("window_s", float),
                           ("backoff_initial_s", float), ("backoff_max_s", float),
                           ("unhealthy_for_s", float), ("no_restart_exit_codes", _codes),
                           ("restart_mode", _mode)):
            if name not in values:
                continue
            try:
                fields[name] = cast(values[name])
            except (TypeError, ValueError):
                if warn:
                    warn(f"x-phoenix-restart.{name}: {values[name]!r} is not valid; using "
                         f"the default {getattr(cls(), name)!r}")
        return cls(**fields)

    def backoff(self, attempt: int, rand: Callable[[], float]) -> float:
        """Delay before restart number ``attempt + 1`` (attempt >= 1): equal jitter."""
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1))
        return delay / 2 + rand() * delay / 2


def _codes(value: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in value)


def _mode(value: Any) -> str:
    if value not in ("restart", "recreate"):
        raise ValueError(value)
    return str(value)


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")
