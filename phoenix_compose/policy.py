"""Restart policy per service: exponential backoff with jitter, and a circuit breaker.

Pure logic over a small per-service record that is persisted between watcher runs; the
clock and the random source are passed in, so every rule has fast unit tests.

- A service that needs healing is restarted at once the first time, then only after a
  backoff that doubles with each consecutive restart (equal jitter: half fixed, half
  random, so intervals always grow) up to ``backoff_max_s``.
- Once ``max_restarts`` restarts happened inside ``window_s``, the next need opens the
  circuit: no more restarts.  After ``window_s`` it goes half-open and allows one; a
  healthy service then closes it, another failure opens it again.
- A service that stays healthy for ``window_s`` forgets its backoff.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


@dataclass(frozen=True)
class RestartPolicy:
    enabled: bool = True
    max_restarts: int = 5
    window_s: float = 600.0
    backoff_initial_s: float = 2.0
    backoff_max_s: float = 60.0

    @classmethod
    def from_config(cls, extension: dict[str, Any] | None,
                    overrides: dict[str, Any] | None = None) -> RestartPolicy:
        """``x-phoenix-restart`` of a service, then CLI overrides (None = not given)."""
        values = {k: v for k, v in (extension or {}).items() if k in cls.__dataclass_fields__}
        values.update({k: v for k, v in (overrides or {}).items() if v is not None})
        policy = cls(**values)
        return replace(policy, enabled=_bool(policy.enabled),
                       max_restarts=int(policy.max_restarts),
                       window_s=float(policy.window_s),
                       backoff_initial_s=float(policy.backoff_initial_s),
                       backoff_max_s=float(policy.backoff_max_s))

    def backoff(self, attempt: int, rand: Callable[[], float]) -> float:
        """Delay before restart number ``attempt + 1`` (attempt >= 1): equal jitter."""
        delay = min(self.backoff_max_s, self.backoff_initial_s * 2 ** (attempt - 1))
        return delay / 2 + rand() * delay / 2


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() in ("1", "true", "yes", "on")


@dataclass
class ServiceRecord:
    """What the watcher remembers of one service (persisted as JSON)."""

    restart_times: list[float] = field(default_factory=list)
    restart_count: int = 0
    attempt: int = 0
    next_restart_at: float = 0.0
    circuit: str = CLOSED
    opened_at: float | None = None
    healthy_since: float | None = None
    paused: bool = False
    seen: bool = False

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceRecord:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class Decision:
    action: str  # "none", "restart", "wait", "blocked"
    events: tuple[dict[str, Any], ...] = ()
    reason: str = ""


def on_healthy(record: ServiceRecord, policy: RestartPolicy, now: float) -> list[dict]:
    events: list[dict] = []
    if record.healthy_since is None:
        record.healthy_since = now
    trial_due = record.circuit == OPEN and record.opened_at is not None and \
        now - record.opened_at >= policy.window_s
    if record.circuit == HALF_OPEN or trial_due:  # half-open, and this is the success
        record.circuit, record.opened_at = CLOSED, None
        record.restart_times, record.attempt = [], 0
        events.append({"type": "circuit_closed"})
    elif record.attempt and now - record.healthy_since >= policy.window_s:
        record.attempt = 0
    return events


def on_failing(record: ServiceRecord, policy: RestartPolicy, now: float,
               rand: Callable[[], float] = random.random) -> Decision:
    """The service needs healing: decide, and update the record for a restart."""
    record.healthy_since = None
    if record.paused:
        return Decision("blocked", reason="paused")
    if not policy.enabled:
        return Decision("blocked", reason="restarts disabled")
    if record.circuit == OPEN:
        if record.opened_at is not None and now - record.opened_at < policy.window_s:
            return Decision("blocked", reason="circuit open")
        record.circuit = HALF_OPEN
    elif record.circuit == HALF_OPEN and record.attempt and record.restart_times and \
            record.restart_times[-1] >= (record.opened_at or 0):
        return _open(record, now)  # the one trial restart did not help
    recent = [t for t in record.restart_times if now - t < policy.window_s]
    if record.circuit == CLOSED and len(recent) >= policy.max_restarts:
        return _open(record, now)
    if now < record.next_restart_at:
        return Decision("wait", reason=f"backoff until {record.next_restart_at:.1f}")
    record.restart_times = recent + [now]
    record.restart_count += 1
    record.attempt += 1
    record.next_restart_at = now + policy.backoff(record.attempt, rand)
    return Decision("restart")


def _open(record: ServiceRecord, now: float) -> Decision:
    record.circuit, record.opened_at = OPEN, now
    return Decision("blocked", ({"type": "circuit_open"},), reason="circuit open")
