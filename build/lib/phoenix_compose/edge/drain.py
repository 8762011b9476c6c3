"""Draining a server before it stops: no new request or connection goes to it, and the
sessions it has finish, or ``grace`` (the service's ``stop_grace_period``) passes; then it
is put in maintenance, and, to remove it, deleted once HAProxy holds nothing of it (no
session, no idle connection kept for reuse).  The clock and the sleep are injected: the
tests count ticks, never seconds."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from phoenix_compose.edge.api import RuntimeAPI, StatRow
from phoenix_compose.edge.model import State
from phoenix_compose.errors import EdgeError

POLL = 0.05  # seconds between two looks at the server's sessions


@dataclass(frozen=True)
class Drained:
    clean: bool  # every session finished within the grace
    left: int  # sessions still open when the grace ran out (0 when clean)


def _row(api: RuntimeAPI, backend: str, server: str) -> StatRow:
    for row in api.stats():
        if row.backend == backend and row.server == server:
            return row
    raise EdgeError(f"edge: no server {backend}/{server}")


def drain(api: RuntimeAPI, backend: str, server: str, grace: float,
          clock: Callable[[], float] = time.monotonic,
          sleep: Callable[[float], None] = time.sleep) -> Drained:
    """Drain, wait for the server's sessions to end (at most ``grace`` seconds), then put
    it in maintenance: what is still open after the grace is HAProxy's to cut."""
    api.set_state(backend, server, State.DRAIN)
    deadline = clock() + grace
    while (left := _row(api, backend, server).sessions) and clock() < deadline:
        sleep(POLL)
    api.set_state(backend, server, State.MAINT)
    return Drained(clean=left == 0, left=left)


def remove(api: RuntimeAPI, backend: str, server: str, grace: float,
           clock: Callable[[], float] = time.monotonic,
           sleep: Callable[[float], None] = time.sleep) -> Drained:
    """Drain, then delete the server.  HAProxy refuses ``del server`` while it keeps an
    idle connection to the server (``http-reuse``); a server in maintenance has its idle
    connections closed soon, so the deletion is tried again until ``grace`` more."""
    drained = drain(api, backend, server, grace, clock, sleep)
    deadline = clock() + max(grace, 1.0)
    while True:
        try:
            api.del_server(backend, server)
            return drained
        except EdgeError:
            if clock() >= deadline:
                raise
        sleep(POLL)
