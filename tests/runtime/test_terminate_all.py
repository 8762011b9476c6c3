"""``commands.terminate_all``: every running command is killed, but the watcher's sweep
after a stop (``spare_cleanup``) leaves a job's cleanup alone (``stopping.cleaning``: a
throwaway's removal), which a further signal still kills."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from phoenix_compose.errors import CommandError
from phoenix_compose.runtime import commands, stopping


def in_thread(cleanup: bool) -> tuple[threading.Thread, list[object]]:
    """``sleep 30`` through the seam in a thread (within ``cleaning`` or not); its outcome."""
    outcome: list[object] = []

    def work() -> None:
        try:
            if cleanup:
                with stopping.cleaning():
                    outcome.append(commands.run(("sleep", "30"), timeout=60).code)
            else:
                outcome.append(commands.run(("sleep", "30"), timeout=60).code)
        except CommandError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, outcome


def until(condition: Callable[[], bool]) -> None:
    while not condition():
        threading.Event().wait(0.01)


@pytest.mark.parametrize("cleanup", [False, True])
def test_the_sweep_spares_a_cleanup_and_a_signal_kills_everything(cleanup: bool) -> None:
    thread, outcome = in_thread(cleanup)
    until(lambda: sleeping() == 1)
    assert commands.terminate_all(spare_cleanup=True) == (0 if cleanup else 1)
    if cleanup:
        assert sleeping() == 1  # spared: still running
        assert commands.terminate_all() == 1  # a further signal: the operator insists
    thread.join(30)
    assert not thread.is_alive() and sleeping() == 0
    assert isinstance(outcome[0], CommandError)  # killed either way, in the end


def sleeping() -> int:
    return sum(argv[-1] == "30" and argv[0].endswith("sleep")
               for _pid, argv in commands.running())
