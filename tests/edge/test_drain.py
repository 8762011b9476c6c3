"""Drain and remove on a fake runtime API and a fake clock: the order of the state
changes, the wait for in-flight sessions bounded by the grace, and the deletion retried
while HAProxy still holds an idle connection.  (tests/runtime/test_edge.py does the same
on a real HAProxy under load.)"""

from __future__ import annotations

import pytest

from phoenix_compose.edge import drain
from phoenix_compose.edge.api import StatRow
from phoenix_compose.edge.model import State
from phoenix_compose.errors import EdgeError

from support import FakeClock


class FakeAPI:
    def __init__(self, sessions: list[int], refusals: int = 0) -> None:
        self.sessions, self.refusals = sessions, refusals
        self.calls: list[str] = []

    def set_state(self, backend: str, server: str, state: State) -> None:
        self.calls.append(f"{state.value} {backend}/{server}")

    def stats(self) -> list[StatRow]:
        now = self.sessions.pop(0) if len(self.sessions) > 1 else self.sessions[0]
        return [StatRow("web", "web_1", now, 10, "DRAIN", 100, 0, 0, 0, 0, 0),
                StatRow("web", "web_2", 7, 10, "UP", 100, 0, 0, 0, 0, 0)]

    def del_server(self, backend: str, server: str) -> None:
        if self.refusals:
            self.refusals -= 1
            raise EdgeError("edge: 'del server' was refused: Server still has connections")
        self.calls.append(f"del {backend}/{server}")


def test_drain_waits_for_the_in_flight_sessions_then_puts_it_in_maintenance() -> None:
    api, clock = FakeAPI([3, 2, 0]), FakeClock()
    result = drain.drain(api, "web", "web_1", grace=10, clock=clock,  # type: ignore[arg-type]
                         sleep=clock.sleep)
    assert result == drain.Drained(clean=True, left=0)
    assert api.calls == ["drain web/web_1", "maint web/web_1"]
    assert clock.now == pytest.approx(2 * drain.POLL)  # two looks found sessions


def test_drain_gives_up_waiting_when_the_grace_is_over() -> None:
    api, clock = FakeAPI([4]), FakeClock()
    result = drain.drain(api, "web", "web_1", grace=1, clock=clock,  # type: ignore[arg-type]
                         sleep=clock.sleep)
    assert result == drain.Drained(clean=False, left=4)
    assert api.calls[-1] == "maint web/web_1"
    assert clock.now == pytest.approx(1, abs=drain.POLL)


def test_remove_deletes_once_haproxy_lets_go_of_the_server() -> None:
    api, clock = FakeAPI([0], refusals=2), FakeClock()
    drain.remove(api, "web", "web_1", grace=5, clock=clock,  # type: ignore[arg-type]
                 sleep=clock.sleep)
    assert api.calls == ["drain web/web_1", "maint web/web_1", "del web/web_1"]
    assert clock.now == pytest.approx(2 * drain.POLL)


def test_remove_reports_a_server_haproxy_never_lets_go_of() -> None:
    api, clock = FakeAPI([0], refusals=1000), FakeClock()
    with pytest.raises(EdgeError, match="still has connections"):
        drain.remove(api, "web", "web_1", grace=2, clock=clock,  # type: ignore[arg-type]
                     sleep=clock.sleep)
    assert "del web/web_1" not in api.calls


def test_draining_a_server_the_edge_does_not_have_is_an_error() -> None:
    api, clock = FakeAPI([1]), FakeClock()
    with pytest.raises(EdgeError, match="no server web/web_9"):
        drain.drain(api, "web", "web_9", grace=1, clock=clock,  # type: ignore[arg-type]
                    sleep=clock.sleep)
