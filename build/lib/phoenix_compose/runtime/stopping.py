"""A stop signal (SIGINT, SIGTERM) during an administrative action, noted safely.

A signal handler runs between any two bytecodes of the main thread.  One that raised there
(the old SIGTERM handler, like Python's own for SIGINT) could land between a lock's acquire
and its ``try``, inside a cleanup, or twice in a row: a burst of signals left ``inv up``
hanging, or ending in a traceback ("release unlocked lock").  So the handler does nothing;
the interpreter writes the signal number to a wakeup pipe (``signal.set_wakeup_fd``), and a
thread reading it notes the stop here and kills the running podman calls.  The action then
raises :class:`Interrupted` at its next safe point: a podman call (``commands.run`` checks
before and after) or a pause (``pause``, the start loop's and the lock wait's sleep).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from phoenix_compose.errors import Interrupted

STOP = threading.Event()
_CLEANING = threading.local()  # this thread is cleaning up after a stop: podman may run
_SIGNAL = [0]  # the first stop signal noted
STOPS = (signal.SIGINT, signal.SIGTERM)


def note(signum: int) -> None:
    if not _SIGNAL[0]:
        _SIGNAL[0] = signum
    STOP.set()


@contextmanager
def cleaning() -> Iterator[None]:
    """Cleanup after a stop (dropping a half-made copy, say) still runs podman: within
    this block a noted stop raises nothing.  A further signal still kills the running
    podman call (the operator insists)."""
    before = getattr(_CLEANING, "on", False)
    _CLEANING.on = True
    try:
        yield
    finally:
        _CLEANING.on = before


def is_cleaning() -> bool:
    return bool(getattr(_CLEANING, "on", False))


def check() -> None:
    """Raise Interrupted (exit 128 + the signal) once a stop was noted (not while the
    thread is ``cleaning``)."""
    if STOP.is_set() and not getattr(_CLEANING, "on", False):
        raise Interrupted(_SIGNAL[0] or signal.SIGINT)


def pause(seconds: float) -> None:
    """Sleep, but wake at once for a stop (then raise it)."""
    STOP.wait(seconds)
    check()


def clear() -> None:
    _SIGNAL[0] = 0
    STOP.clear()


def _nothing(_signum: int, _frame: object) -> None:
    """The Python-level handler: nothing (the wakeup pipe carries the signal)."""


def noted(on_stop: Callable[[], object]) -> Callable[[], None]:
    """Until the returned ``restore``: SIGINT and SIGTERM are noted (``on_stop`` runs in
    the reading thread, e.g. to kill the running podman calls).  Main thread only."""
    def read(read_fd: int) -> None:
        while data := os.read(read_fd, 64):
            for signum in (n for n in data if n in STOPS):  # in the order they came
                note(signum)
                on_stop()

    restore = on_signals(read)
    if restore is None:
        return lambda: None

    def restored() -> None:
        restore()
        clear()

    return restored


def on_signals(read: Callable[[int], None]) -> Callable[[], None] | None:
    """Until the returned ``restore``: SIGINT and SIGTERM do nothing at the Python level;
    the interpreter writes their numbers to a wakeup pipe (async-signal-safe), and
    ``read(fd)`` reads that pipe in a thread until it ends.  ``None`` outside the main
    thread (only it may set signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)  # set_wakeup_fd needs it: a full pipe never blocks
    previous = {sig: signal.getsignal(sig) for sig in STOPS}
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    reader = threading.Thread(target=read, args=(read_fd,), name="phoenix-signals",
                              daemon=True)
    reader.start()
    for sig in STOPS:
        signal.signal(sig, _nothing)

    def restore() -> None:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(write_fd)  # the reader sees the end of the pipe and returns
        reader.join(5)
        os.close(read_fd)

    return restore
