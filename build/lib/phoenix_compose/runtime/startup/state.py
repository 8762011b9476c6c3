"""Where one service stands in a start."""

from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field

from phoenix_compose._compat import StrEnum
from phoenix_compose.runtime.stack import ServiceSpec


class StartState(StrEnum):
    PENDING = "pending"  # not started yet
    STARTED = "started"  # started, its readiness not yet known
    HEALTHY = "healthy"
    RUNNING = "running"  # started, nothing more to wait for
    COMPLETED = "completed"  # exited 0, as service_completed_successfully wants
    FAILED = "failed"

    @property
    def ready(self) -> bool:
        return self in (StartState.HEALTHY, StartState.RUNNING, StartState.COMPLETED)


@dataclass
class Progress:
    spec: ServiceSpec
    state: StartState = StartState.PENDING
    started_at: float | None = None
    ready_at: float | None = None
    last_output: str = ""
    next_check: float = 0.0
    in_flight: Future | None = field(default=None, repr=False)
    passed: set[str] = field(default_factory=set)  # replicas whose check passed once
    failing: str = ""  # the replica that failed last (its check, or its state)

    @property
    def ready(self) -> bool:
        return self.state.ready

    @property
    def failing_container(self) -> str:
        """The container that failed: the replica last seen failing, else the first one."""
        return self.failing or self.spec.container

    def begin(self, now: float, watched: bool) -> str:
        """It started (or was running already) at ``now``; ``watched``: its readiness is
        still to be checked.  The word to report."""
        self.started_at = self.next_check = now
        self.state = StartState.STARTED if watched else StartState.RUNNING
        self.ready_at = None if watched else now
        return "starting" if watched else "running"

    @property
    def seconds_to_ready(self) -> float | None:
        if self.started_at is None or self.ready_at is None:
            return None
        return self.ready_at - self.started_at
