"""Untrusted work (compiling and rendering templates) runs in a forked child, under a memory
cap (``RLIMIT_AS``) and a hard deadline after which the child is killed.

Why a process: Jinja folds constant expressions while it compiles, and a big-number power
or a huge string is one C call that no Python signal handler can interrupt; only a separate
process can be stopped in the middle of one, and only a limit on a separate process bounds
its memory without risking ours.

One child runs the jobs in order (forking costs a few milliseconds, once per build, not per
template) and reports each result.  A child killed at its deadline, or one that died, is
replaced by a new one for the jobs after it, so every job gets its own verdict.  Results
travel as JSON: the parent never unpickles what a child wrote."""

from __future__ import annotations

import gc
import json
import os
import select
import signal
import struct
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

GRACE = 0.5  # seconds past a job's limit before its child is killed (its own timer is first)
_HEADER = struct.Struct("!I")
_DIED = 70  # a child's exit status when it could not finish (it prints nothing)


@dataclass(frozen=True)
class Result:
    status: str  # "ok", "timeout" (killed at the deadline), "memory", "died"
    value: Any = None  # the job's JSON value, when "ok"


def run_jobs(jobs: Sequence[Callable[[], Any]], seconds: float,
             memory: int) -> list[Result]:
    """Each job's result, run in a child with ``memory`` bytes more address space than this
    process has, each job killed ``seconds`` (+ GRACE) after it started."""
    if not hasattr(os, "fork"):  # no fork (not Linux or macOS): in process, unbounded
        return [_inline(job) for job in jobs]
    results: list[Result] = []
    while len(results) < len(jobs):
        results += _child(jobs[len(results):], seconds, memory)
    return results


def _inline(job: Callable[[], Any]) -> Result:
    try:
        return Result("ok", json.loads(json.dumps(job())))
    except MemoryError:
        return Result("memory")


def _child(jobs: Sequence[Callable[[], Any]], seconds: float, memory: int) -> list[Result]:
    """The results of one child: at least one (so the caller always progresses)."""
    read_fd, write_fd = os.pipe()
    gc.freeze()  # the child's collections then skip (so do not copy) the parent's objects
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; coverage does not follow a fork)
        os.close(read_fd)
        _serve(jobs, write_fd, memory)
    gc.unfreeze()
    os.close(write_fd)
    try:
        return _collect(_Frames(read_fd), len(jobs), seconds)
    finally:
        os.close(read_fd)
        _reap(pid)


def _serve(jobs: Sequence[Callable[[], Any]], fd: int,
           memory: int) -> None:  # pragma: no cover (runs in the child)
    """Run the jobs, writing an empty frame when one starts and its result when it ends;
    never returns, never prints (a traceback here would reach the user's terminal)."""
    code = _DIED
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # the parent handles Ctrl-C
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        _limit_memory(memory)
        for job in jobs:
            _send(fd, b"")
            try:
                frame = json.dumps(["ok", job()]).encode()
            except MemoryError:
                frame = json.dumps(["memory", None]).encode()
            _send(fd, frame)
        code = 0
    finally:
        os._exit(code)


def _send(fd: int, data: bytes) -> None:  # pragma: no cover (runs in the child)
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def _limit_memory(extra: int) -> None:  # pragma: no cover (runs in the child)
    """Address space: what the process has now, plus ``extra`` (a fork shares the parent's
    size, which varies with what it has imported, so an absolute limit would be wrong)."""
    import resource

    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            used = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return  # not Linux: the deadline still holds
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = used + extra if hard == resource.RLIM_INFINITY else min(used + extra, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


class _Frames:
    """Length-prefixed frames from a pipe, each awaited until a deadline."""

    def __init__(self, fd: int) -> None:
        self.fd, self.buffer = fd, b""

    def next(self, deadline: float) -> bytes | None | bool:
        """A frame; None at the end of the stream; False past the deadline."""
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self.buffer)
                if len(self.buffer) >= _HEADER.size + size:
                    frame = self.buffer[_HEADER.size:_HEADER.size + size]
                    self.buffer = self.buffer[_HEADER.size + size:]
                    return frame
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return False
            chunk = os.read(self.fd, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk


def _collect(frames: _Frames, count: int, seconds: float) -> list[Result]:
    results: list[Result] = []
    while len(results) < count:
        frame = frames.next(time.monotonic() + seconds + GRACE)
        if frame is False or frame is None:  # killed by the caller's _reap, or it died
            results.append(Result("timeout" if frame is False else "died"))
            break
        if isinstance(frame, bytes) and frame:  # an empty frame: the next job started
            status, value = json.loads(frame)
            results.append(Result(status, value))
    return results


def _reap(pid: int) -> None:
    """Kill the child (done or not: its work is over) and collect it, so none is left."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)
