"""What the watcher remembers between ticks and runs: one record per service, persisted in
``StateDir.health_state`` under a file lock, so the watcher and ``inv health.pause`` never
lose each other's changes."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from phoenix_compose.errors import StateError
from phoenix_compose.fileio import open_nofollow, read_json, write_files
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.restart_policy import Circuit


@dataclass
class ServiceRecord:
    """One service's restart history, circuit and manual override."""

    restart_times: list[float] = field(default_factory=list)
    restart_count: int = 0
    attempt: int = 0  # consecutive restarts, for the backoff
    next_restart_at: float = 0.0
    circuit: Circuit = Circuit.CLOSED
    opened_at: float | None = None
    healthy_since: float | None = None
    paused: bool = False
    seen: bool = False  # its container existed at some tick
    failing_since: float | None = None  # first failed check of the current streak
    last_exit: str | None = None  # why it last stopped: "oom-killed", "exit code 3", ...

    def copy(self) -> ServiceRecord:
        return replace(self, restart_times=list(self.restart_times))

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> ServiceRecord:
        """A record from its JSON; a damaged one (wrong shape or types) starts afresh."""
        try:
            record = cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})
            record.circuit = Circuit(record.circuit)
            record.restart_times = [float(t) for t in record.restart_times]
            record.restart_count, record.attempt = int(record.restart_count), int(record.attempt)
            record.next_restart_at = float(record.next_restart_at)
            for name in ("opened_at", "healthy_since", "failing_since"):
                value = getattr(record, name)
                setattr(record, name, None if value is None else float(value))
            record.paused, record.seen = bool(record.paused), bool(record.seen)
            record.last_exit = None if record.last_exit is None else str(record.last_exit)
        except (AttributeError, TypeError, ValueError):
            return cls()
        return record


class StateStore:
    def __init__(self, state: StateDir) -> None:
        self.path = state.health_state
        self.lock_path = state.health_lock
        self.stops_log = state.stops_log  # where the watcher notes the restarts it makes

    def read(self) -> dict[str, ServiceRecord]:
        """The records; a missing, truncated or wrong-shaped file reads as no records."""
        data = read_json(self.path)
        services = data.get("services") if isinstance(data, dict) else None
        if not isinstance(services, dict):
            return {}
        return {str(name): ServiceRecord.from_dict(rec) for name, rec in services.items()}

    @contextmanager
    def update(self) -> Iterator[dict[str, ServiceRecord]]:
        try:  # never "w": that truncated whatever a planted symlink named
            lock = os.fdopen(open_nofollow(self.lock_path, os.O_RDWR | os.O_CREAT), "rb")
        except OSError as exc:
            raise StateError(f"cannot write {self.lock_path}: {exc.strerror or exc}") from None
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self.read()
            yield records
            text = json.dumps({"services": {n: r.as_dict() for n, r in sorted(records.items())}},
                              indent=1, sort_keys=True) + "\n"
            try:
                write_files({self.path: text})
            except OSError as exc:
                raise StateError(f"cannot write {self.path}: {exc.strerror or exc}") from None
