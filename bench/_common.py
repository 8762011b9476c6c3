"""Shared helpers for the benchmarks: interleaved timing of whole commands, medians, ratios."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def tool(name: str) -> str:
    """A console script of this interpreter's environment (the venv), else from PATH."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else name


def time_once(argv: Sequence[str] | Sequence[Sequence[str]], cwd: Path,
              env: dict[str, str] | None = None) -> float:
    """Wall time of one command, or of several run one after the other (a list of argvs)."""
    commands = [argv] if isinstance(argv[0], str) else argv
    start = time.perf_counter()
    for command in commands:
        subprocess.run(list(command), cwd=cwd, check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, env={**os.environ, **(env or {})})
    return time.perf_counter() - start


def interleaved(commands: dict[str, tuple[Sequence[Any], Path]], rounds: int,
                setup: dict[str, object] | None = None) -> dict[str, float]:
    """Run each command once per round, in turn, and return the median seconds of each."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, (argv, cwd) in commands.items():
            hook = (setup or {}).get(name)
            if callable(hook):
                hook()
            samples[name].append(time_once(argv, cwd))
    return {name: statistics.median(values) for name, values in samples.items()}


def interleaved_cpu(commands: dict[str, tuple[Sequence[Any], Path]], rounds: int,
                    setup: dict[str, object] | None = None
                    ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Like ``interleaved``, but every sample: the wall seconds and the CPU seconds (user +
    system) of each command's processes, a figure a busy machine disturbs less."""
    import resource

    walls: dict[str, list[float]] = {name: [] for name in commands}
    cpus: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(rounds):
        for name, (argv, cwd) in commands.items():
            hook = (setup or {}).get(name)
            if callable(hook):
                hook()
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            walls[name].append(time_once(argv, cwd))
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[name].append(after.ru_utime - before.ru_utime
                              + after.ru_stime - before.ru_stime)
    return walls, cpus


def machine_busy() -> float:
    """Seconds of CPU the whole machine has spent (all cores, idle and iowait excluded)."""
    with open("/proc/stat", encoding="ascii") as stat:
        fields = [int(v) for v in stat.readline().split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def helper_cpu(server) -> float:
    """CPU seconds of the watcher's long-lived probe helper and its children while it
    runs: /proc/PID/stat's utime, stime, cutime, cstime (those it waited for), and its
    live children's (the per-container probers it keeps)."""
    proc = server.proc if server is not None else None
    if proc is None:
        return 0.0
    try:
        with open(f"/proc/{proc.pid}/task/{proc.pid}/children", encoding="ascii") as text:
            live = [int(pid) for pid in text.read().split()]
    except OSError:
        live = []
    return _stat_cpu(proc.pid) + sum(_stat_cpu(pid) for pid in live)


def _stat_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)
