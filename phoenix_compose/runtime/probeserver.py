"""One long-lived native probe helper for a watcher: :mod:`.nsprobe` ``--serve``.

A native check by a process of its own (:func:`.checks.probe_argv`) pays the interpreter's
start-up, most of its CPU (about 20-40 ms): at 100 services every 5 s, 20 checks a second,
more than half a core.  The watcher instead keeps one helper alive, which keeps a child per
container process (forked at its first check, in the container's namespaces from then
on: a check costs a GET; the helper itself never changes namespace).  A request is one
JSON line, its answer one JSON line naming it; a reader thread hands each answer to the
check waiting for it.  A helper that dies fails the checks waiting on it and the next
check starts another.  It ends, and its children with it, when we close its stdin
(:meth:`close`) or exit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.runtime import commands

HELPER_ARGS = ("-I", "-S")  # the standard library only: see nsprobe
FAILED, TIMED_OUT = 1, 124
SPARE_S = 10.0  # how long past its own timeout a check waits for the helper's answer


@dataclass
class _Answer:
    done: threading.Event = field(default_factory=threading.Event)
    code: int = FAILED
    message: str = "the probe helper ended"


class ProbeServer:
    def __init__(self, helper: str) -> None:
        self.argv = (sys.executable, *HELPER_ARGS, helper, "--serve")
        self.lock = threading.Lock()
        self.proc: subprocess.Popen[bytes] | None = None
        self.waiting: dict[int, tuple[subprocess.Popen[bytes], _Answer]] = {}
        self.count = 0
        self.busy: set[tuple[int, str]] = set()  # targets with a check in flight here

    def check(self, target: tuple[int, str], probe: NativeProbe, timeout: float,
              alone: Callable[[], commands.Result] | None = None) -> commands.Result:
        """One probe of ``target`` (its main process and id), as the one-shot helper's
        answer: exit code and its message on stdout.  The helper's child for the target
        answers its checks one after another: one asked while another is in flight (the
        cascade's wait beside the schedule) is run by ``alone`` (the one-shot helper)
        instead of waiting behind it, past its own timeout."""
        with self.lock:
            behind = target in self.busy
            self.busy.add(target)
        if behind and alone is not None:
            return alone()
        try:
            return self._ask(target, probe, timeout)
        finally:
            if not behind:
                with self.lock:
                    self.busy.discard(target)

    def _ask(self, target: tuple[int, str], probe: NativeProbe,
             timeout: float) -> commands.Result:
        pid, container_id = target
        answer = _Answer()
        with self.lock:
            self.count += 1
            number = self.count
            line = json.dumps([number, pid, container_id, probe.kind, probe.host, probe.port,
                               probe.path or "/", f"{timeout:g}"]) + "\n"
            try:
                proc = self._started()
                self.waiting[number] = (proc, answer)  # failed with proc if it ends
                assert proc.stdin is not None
                proc.stdin.write(line.encode())
                proc.stdin.flush()
            except OSError as exc:
                self.waiting.pop(number, None)
                return commands.Result(self.argv, FAILED, f"the probe helper failed: {exc}",
                                       "")
        if not answer.done.wait(timeout + SPARE_S):
            with self.lock:
                self.waiting.pop(number, None)
            answer.code, answer.message = TIMED_OUT, f"no answer in {timeout:g} s"
        return commands.Result(self.argv, answer.code, answer.message, "")

    def _started(self) -> subprocess.Popen[bytes]:
        """The helper, started when there is none (the lock is held)."""
        if self.proc is None or self.proc.poll() is not None:
            self.proc = subprocess.Popen(self.argv, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            threading.Thread(target=self._read, args=(self.proc,), daemon=True,
                             name="phoenix-probes").start()
        return self.proc

    def _read(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            try:
                number, code, message = json.loads(line)
            except (ValueError, TypeError):
                continue
            with self.lock:
                _proc, answer = self.waiting.pop(number, (proc, None))
            if answer is not None:
                answer.code, answer.message = int(code), str(message)
                answer.done.set()
        proc.wait()
        with self.lock:  # it ended: what waits on it fails now (a new one serves the next)
            lost = [n for n, (p, _a) in self.waiting.items() if p is proc]
            answers = [self.waiting.pop(n)[1] for n in lost]
            if self.proc is proc:
                self.proc = None
        for answer in answers:
            answer.done.set()

    def close(self) -> None:
        """End the helper (it leaves when its stdin closes; children in flight finish)."""
        with self.lock:
            proc, self.proc = self.proc, None
        if proc is not None and proc.stdin is not None:
            try:
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
