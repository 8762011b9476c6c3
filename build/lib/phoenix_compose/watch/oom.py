"""Which containers the kernel's OOM killer hit.  Podman 4.3 does not say: ``OOMKilled``
stays false and no ``oom`` event comes (measured on cgroups v1).  Two signals that do:

- the container cgroup's own counter, ``oom_kill`` in ``memory.oom_control`` (v1) or
  ``memory.events`` (v2), read while the container runs: it sees a process killed inside a
  container that survives, and gives the peak usage;
- the kernel log (``/dev/kmsg``, where readable): ``oom-kill:... oom_memcg=...libpod-<id>``
  then ``Killed process PID (comm) ... anon-rss:NkB``.  When the main process is the one
  killed, the container's cgroup is gone before anyone can read it, so only the log tells.
"""

from __future__ import annotations

import os
import re
import select
import threading
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
KMSG = Path("/dev/kmsg")
_MEMCG = re.compile(r"oom-kill:.*oom_memcg=[^,]*libpod-(?:conmon-)?([0-9a-f]{64}).*"
                    r",pid=(\d+)")
_KILLED = re.compile(r"Killed process (\d+) \(([^)]*)\).*?anon-rss:(\d+)kB, file-rss:(\d+)kB"
                     r"(?:, shmem-rss:(\d+)kB)?")


@dataclass(frozen=True)
class OomKill:
    process: str = ""  # the killed process's name, when the kernel log says
    peak_bytes: int | None = None  # the cgroup's peak usage, or the killed process's RSS
    source: str = "podman"  # podman, cgroup or kernel log


class OomDetector:
    def __init__(self, cgroup_root: Path = CGROUP_ROOT, kmsg: Path = KMSG) -> None:
        self.cgroup_root, self.kmsg = cgroup_root, kmsg
        self.v2 = (cgroup_root / "cgroup.controllers").exists()
        self._counts: dict[str, int] = {}  # container id -> last oom_kill counter read
        self._peaks: dict[str, int] = {}
        self._logged: dict[str, OomKill] = {}  # container id -> kill read from the kernel log
        self._pending: dict[str, str] = {}  # pid -> container id, between the two log lines
        self._stop = threading.Event()
        self.following = False

    # -- the kernel log ----------------------------------------------------------------------
    def start(self) -> bool:
        """Follow the kernel log in a thread (from its oldest record); False when unreadable
        (rootless, or ``kernel.dmesg_restrict``): the cgroup counters still work."""
        try:
            fd = os.open(self.kmsg, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            return False
        self.following = True
        threading.Thread(target=self._follow, args=(fd,), name="phoenix-kmsg",
                         daemon=True).start()
        return True

    def stop(self) -> None:
        self._stop.set()

    def _follow(self, fd: int) -> None:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        try:
            while not self._stop.is_set():
                try:
                    record = os.read(fd, 8192)
                except BlockingIOError:
                    poller.poll(250)
                    continue
                except BrokenPipeError:  # records overwritten before we read them
                    continue
                self.on_record(record.decode("utf-8", "replace"))
        finally:
            os.close(fd)

    def on_record(self, record: str) -> None:
        """One kernel log record ("prefix;message")."""
        message = record.partition(";")[2]
        if match := _MEMCG.search(message):
            self._pending[match.group(2)] = match.group(1)
        elif (match := _KILLED.search(message)) and match.group(1) in self._pending:
            container = self._pending.pop(match.group(1))
            rss = sum(int(g or 0) for g in match.groups()[2:]) * 1024
            self._logged[container] = OomKill(match.group(2), rss, "kernel log")

    # -- the cgroup counters -----------------------------------------------------------------
    def _files(self, cgroup_path: str) -> tuple[Path, Path]:
        if self.v2:
            base = self.cgroup_root / cgroup_path.lstrip("/")
            return base / "memory.events", base / "memory.peak"
        base = self.cgroup_root / "memory" / cgroup_path.lstrip("/")
        return base / "memory.oom_control", base / "memory.max_usage_in_bytes"

    def sample(self, container_id: str, cgroup_path: str) -> OomKill | None:
        """Read a running container's counter; an OomKill when it grew since the last read
        (a process inside was killed, the container lives on)."""
        if not container_id or not cgroup_path:
            return None
        counter_file, peak_file = self._files(cgroup_path)
        try:
            fields = dict(line.split()[:2] for line in counter_file.read_text().splitlines()
                          if len(line.split()) >= 2)
            count = int(fields.get("oom_kill", 0))
            self._peaks[container_id] = int(peak_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None
        before = self._counts.get(container_id)
        self._counts[container_id] = count
        if before is not None and count > before:
            return OomKill(peak_bytes=self._peaks.get(container_id), source="cgroup")
        return None

    def killed(self, container_id: str, exit_code: int, podman_says: bool = False,
               wait: float = 0.3) -> OomKill | None:
        """Was this stopped container's main process OOM-killed?  Only an exit by SIGKILL
        (137) can be; the kernel log may be a moment behind podman's ``died``."""
        peak = self._peaks.get(container_id)
        if podman_says:
            return OomKill(peak_bytes=peak, source="podman")
        if exit_code != 128 + 9 or not container_id:
            return None
        deadline = time.monotonic() + (wait if self.following else 0)
        while container_id not in self._logged and time.monotonic() < deadline:
            time.sleep(0.02)
        kill = self._logged.get(container_id)
        if kill is not None and peak is not None:
            return OomKill(kill.process, max(peak, kill.peak_bytes or 0), kill.source)
        return kill

    def forget(self, live_ids: set[str]) -> None:
        """Drop what is known of containers that no longer exist."""
        for known in (self._counts, self._peaks):
            for gone in set(known) - live_ids:
                known.pop(gone, None)
