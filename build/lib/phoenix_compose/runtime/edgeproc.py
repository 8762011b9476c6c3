"""The edge proxy as a process: one HAProxy per env, started the way the local registry is
(:mod:`.registry`): detached, in its own session, so that it outlives ``inv up``, with its
files in ``.phoenix/<env>/edge/`` (``StateDir.edge``).  Found again by its record
(``edge.json``: pid and start time, as :mod:`.children` does against a reused pid) and its
command line; never by name.  Its config is checked (``haproxy -c``) before it is written
where the running one reads it; servers change through the runtime API, never a restart."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.edge.api import RuntimeAPI
from phoenix_compose.edge.haproxycfg import render
from phoenix_compose.edge.model import EdgeConfig
from phoenix_compose.errors import CommandError, EdgeError
from phoenix_compose.fileio import read_bytes, write_files
from phoenix_compose.runtime import argv_edge, commands
from phoenix_compose.runtime.edgesocket import socket_path
from phoenix_compose.runtime.procs import descendants, kill_tree, proc_stat
from phoenix_compose.statedir import StateDir


@dataclass(frozen=True)
class Edge:
    state: StateDir

    @property
    def folder(self) -> Path:
        return self.state.edge.absolute()

    @property
    def config_file(self) -> Path:
        return self.folder / "haproxy.cfg"

    @property
    def socket(self) -> str:
        """In the edge's folder, or a private short one (:mod:`.edgesocket`)."""
        return socket_path(self.folder)

    @property
    def record(self) -> Path:
        return self.folder / "edge.json"

    @property
    def log(self) -> Path:
        return self.folder / "edge.log"

    def api(self) -> RuntimeAPI:
        return RuntimeAPI(self.socket)

    def check(self, config: EdgeConfig) -> str:
        """The config text, once ``haproxy -c`` accepts it (checked from a staging file:
        the running edge's file is only replaced by a valid one)."""
        text = render(config)
        staged = self.folder / "haproxy.cfg.check"
        _write({staged: text})
        try:
            commands.run(argv_edge.haproxy_check(str(staged)), timeout=30)
        except CommandError as exc:
            raise EdgeError(f"edge: haproxy refused the generated config:\n{exc}") from None
        finally:
            staged.unlink(missing_ok=True)
        return text

    def start(self, config: EdgeConfig, wait: float = 10.0) -> int:
        """Start the edge unless it runs (then its servers are the runtime API's to change);
        returns its pid once the runtime API answers."""
        if config.socket != self.socket:
            raise EdgeError(f"edge: the stats socket must be {self.socket}")
        running = self.pid()
        if running is not None:
            return running
        text = self.check(config)
        _write({self.config_file: text})
        Path(self.socket).unlink(missing_ok=True)  # a stale socket of a killed edge
        pid = commands.spawn(argv_edge.haproxy_serve(str(self.config_file)), self.log)
        stat = proc_stat(pid)
        write_files({self.record: json.dumps({"pid": pid, "start": stat and stat[2]}) + "\n"})
        deadline = time.monotonic() + wait
        while not self.api().answers():
            if time.monotonic() > deadline or not _alive(pid):
                self.stop()
                raise EdgeError("edge: haproxy did not start:\n  " + "\n  ".join(self._tail()))
            time.sleep(0.05)
        return pid

    def reload(self, config: EdgeConfig, wait: float = 10.0) -> None:
        """The running edge on ``config`` (a frontend added or removed): checked, written,
        then SIGUSR2 to the master, which starts a worker on it; the old worker stops
        listening and finishes its sessions (``-W``: HAProxy's seamless reload).  Dynamic
        servers do not survive it, so ``config`` lists them as they are now.  Returns once
        the new worker answers on the socket with every server of ``config``."""
        pid = self.pid()
        if pid is None:
            raise EdgeError("edge: nothing to reload: the edge does not run")
        text = self.check(config)
        _write({self.config_file: text})
        before, wanted = set(descendants(pid)), {
            (b.name, s.name) for b in config.backends for s in b.servers}
        _signal(pid, signal.SIGUSR2)
        deadline = time.monotonic() + wait
        while not (set(descendants(pid)) - before and self._lists(wanted)):
            if time.monotonic() > deadline or not _alive(pid):
                raise EdgeError("edge: haproxy did not reload:\n  " + "\n  ".join(self._tail()))
            time.sleep(0.05)

    def _lists(self, wanted: set[tuple[str, str]]) -> bool:
        try:
            return wanted <= {(s.backend, s.server) for s in self.api().servers_state()}
        except EdgeError:
            return False  # the new worker is still taking the socket

    def _tail(self) -> list[str]:
        try:
            return read_bytes(self.log).decode(errors="replace").strip().splitlines()[-5:]
        except OSError:
            return ["(no log)"]

    def pid(self) -> int | None:
        """The pid of this env's running edge, else None: the recorded pid, started at the
        recorded time, running haproxy on this env's config."""
        try:
            data = json.loads(read_bytes(self.record))
            pid, start = int(data["pid"]), data["start"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        stat = proc_stat(pid)
        if stat is None or stat[0] == "Z" or stat[2] != start or not _alive(pid):
            return None
        return pid if self._serves(pid) else None

    def _serves(self, pid: int) -> bool:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                args = handle.read().decode(errors="replace").split("\0")[:-1]
        except OSError:
            return False
        return args[1:] == list(argv_edge.haproxy_serve(str(self.config_file))[1:])

    def stop(self, grace: float = 10.0,
             sleep: Callable[[float], None] = time.sleep) -> bool:
        """Soft stop (SIGUSR1: stop listening, let the sessions end), then SIGTERM, then
        SIGKILL of the master and its workers; True when it was running."""
        pid = self.pid()
        if pid is not None:
            workers = descendants(pid)
            for signum, ticks in ((signal.SIGUSR1, int(grace * 20)), (signal.SIGTERM, 40)):
                _signal(pid, signum)
                for _ in range(ticks):
                    if not _alive(pid):
                        break
                    sleep(0.05)
            if _alive(pid):
                kill_tree(pid)
            for worker in workers:  # a worker never outlives the stop
                if _alive(worker):
                    kill_tree(worker)
        self.record.unlink(missing_ok=True)
        Path(self.socket).unlink(missing_ok=True)
        return pid is not None


def _write(files: dict[Path, str]) -> None:
    """``write_files`` (never through a link in ``.phoenix/``), its refusal an EdgeError."""
    try:
        write_files(files)
    except OSError as exc:
        raise EdgeError(f"edge: cannot write {exc.filename or ''}: "
                        f"{exc.strerror or exc}") from None


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _alive(pid: int) -> bool:
    stat = proc_stat(pid)
    if stat is None:
        return False
    if stat[0] == "Z":
        try:  # our own child: reap it
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        return False
    return True
