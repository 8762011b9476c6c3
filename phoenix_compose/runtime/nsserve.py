"""The watcher's probe helper serving many probes: ``python -I -S nsprobe.py --serve``
(:mod:`.nsprobe` loads this file by its path and hands itself in as ``probes``; the
standard library only, as there).

One request a line on stdin (JSON: ``[NUMBER, PID, ID, KIND, HOST, PORT, PATH, TIMEOUT]``),
whose answer is one line on stdout (``[NUMBER, CODE, MESSAGE]``, written by the child that
ran it); until stdin ends.  Each container process's probes are run by a child of its
own, forked at its first probe, which enters the namespaces once and then answers that
container's probes one after another: a probe costs a GET, not a fork and a ``setns``.
Before each probe the child checks that the process is still the container's and still in
the network namespace it holds (which outlives the process), and enters it anew if not.
Every ``SWEEP_S``, asked or not, children not asked for ``IDLE_S`` or whose process is gone
are let go (their pipe closed, they end) and waited for.
"""

from __future__ import annotations

import json
import os
import select
import time
from collections.abc import Callable, Iterator
from types import ModuleType

FAILED = 1


class Workers:
    """The children, one per container process: ``(PID, ID)`` -> the write end of its
    request pipe and when it was last asked; past ``MOST`` (each holds about a megabyte
    of its own) the least recently asked is let go."""

    IDLE_S, SWEEP_S, MOST = 60.0, 5.0, 256

    def __init__(self, probes: ModuleType,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.probes, self.clock = probes, clock
        self.pipes: dict[tuple[str, str], int] = {}
        self.used: dict[tuple[str, str], float] = {}
        self.swept = clock()

    def send(self, number: int, args: list[str]) -> None:
        key, line = (args[0], args[1]), (json.dumps([number, *args[2:]]) + "\n").encode()
        for _attempt in range(2):
            if key not in self.pipes:
                if len(self.pipes) >= self.MOST:
                    self.drop(min(self.used, key=self.used.__getitem__))
                self.pipes[key] = self.fork(*key)
            self.used[key] = self.clock()
            try:
                os.write(self.pipes[key], line)
                return
            except OSError:  # it ended (killed?): the next attempt forks another
                self.drop(key)
        self.probes.answer(number, FAILED, "probe helper: its child for this container ended")

    def fork(self, pid: str, container: str) -> int:
        read, write = os.pipe()
        try:
            child = os.fork()
        except OSError:
            os.close(read)
            os.close(write)
            raise
        if child:
            os.close(read)
            return write
        try:  # the child: only its own pipe open, so each sibling sees its pipe end
            os.close(write)
            for fd in self.pipes.values():
                os.close(fd)
            serve_one(self.probes, read, pid, container)
        finally:
            os._exit(0)

    def drop(self, key: tuple[str, str]) -> None:
        os.close(self.pipes.pop(key))
        self.used.pop(key, None)

    def sweep(self) -> None:
        now = self.clock()
        if now - self.swept >= self.SWEEP_S:
            self.swept = now
            for key in [k for k, t in self.used.items()
                        if now - t > self.IDLE_S or not os.path.exists(f"/proc/{k[0]}")]:
                self.drop(key)
        reap()


def serve_one(probes: ModuleType, read: int, pid: str, container: str) -> None:
    """A child's life: enter the container's namespaces once, then answer each request
    (``[NUMBER, KIND, HOST, PORT, PATH, TIMEOUT]``) until the pipe closes.  A child that
    could not enter gives every request that answer."""
    refused = probes.joined(pid, container)
    with os.fdopen(read, "rb") as requests:
        for line in requests:
            try:
                number, kind, host, port, path, timeout = json.loads(line)
            except (ValueError, TypeError):
                continue
            try:
                refused = (refused or probes.moved(pid, container)
                           or probes.rejoined(pid, container))
                probes.answer(number, *(refused or probes.probe(kind, host, int(port), path,
                                                                float(timeout))))
            except Exception as exc:  # noqa: BLE001 - a child never dies of one request
                probes.answer(number, FAILED, f"probe helper: {exc}")


def reap(block: bool = False) -> None:
    """Wait for the children that ended (all with ``block``): their CPU then counts in ours."""
    try:
        while os.waitpid(-1, 0 if block else os.WNOHANG)[0]:
            pass
    except ChildProcessError:
        pass


def lines(fd: int, every: float, idle: Callable[[], None]) -> Iterator[bytes]:
    """The lines read from ``fd`` until it ends, calling ``idle`` whenever none came for
    ``every`` seconds."""
    pending = b""
    while True:
        if not select.select([fd], [], [], every)[0]:
            idle()
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        *complete, pending = (pending + chunk).split(b"\n")
        yield from complete


def serve(probes: ModuleType, requests: int = 0) -> int:
    """Each request line (from stdin) to its container's child, until stdin ends; then the
    children end too (their pipes closed), and are waited for."""
    workers = Workers(probes)
    for line in lines(requests, Workers.SWEEP_S, workers.sweep):
        try:
            number, *args = json.loads(line)
            if len(args) == 7:
                workers.send(int(number), [str(arg) for arg in args])
        except (ValueError, TypeError):
            continue
        except OSError as exc:  # no pipe or process left for a child: this check fails
            probes.answer(int(number), FAILED, f"probe helper: {exc}")
        workers.sweep()
    for key in list(workers.pipes):
        workers.drop(key)
    reap(block=True)
    return 0
