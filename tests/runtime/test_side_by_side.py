"""``observe.side_by_side``: podman calls at once; the first failure (a Ctrl-C in a call, a
podman error) ends the others and starts no queued one."""

from __future__ import annotations

import threading

import pytest

from phoenix_compose.runtime import commands
from phoenix_compose.runtime.observe import side_by_side


def test_results_come_in_the_order_of_the_calls() -> None:
    assert side_by_side(lambda: 1, lambda: 2, lambda: 3, workers=2) == [1, 2, 3]


def test_after_a_failure_no_queued_call_starts(monkeypatch) -> None:
    """The main thread ends the podman children, then cancels the queue: a worker that
    takes the next call meanwhile must not start it (the children's end is held open by
    an event the second call would set, so the window is always there)."""
    ran: list[str] = []
    taken = threading.Event()
    monkeypatch.setattr(commands, "terminate_all", lambda: taken.wait(0.5))

    def interrupted() -> None:
        ran.append("first")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):  # one worker: the second call waits in the queue
        side_by_side(interrupted, lambda: (ran.append("second"), taken.set()), workers=1)
    assert ran == ["first"]
