"""Benchmark: the cost of one health check, native probe against ``podman healthcheck run``.

One busybox container serving HTTP (httpd) with a ``wget -q -O- http://127.0.0.1:8080/``
healthcheck, which phoenix recognises.  The same check is run ``--checks`` times each way,
interleaved in rounds of 10, one at a time:
- **native** (ours): ``runtime.checks.run_check`` with the probe, the container's process
  known (as the watcher knows it from its last inspect): the small setns helper process;
- **served**: the same probe asked of the watcher's long-lived helper
  (``runtime/probeserver.py``: one process, a fork per check);
- **exec** (the peer, and phoenix before): ``podman healthcheck run`` (podman, conmon and
  an exec in the container).

Reports the median wall time of one check, and the CPU of one check: of our children
(getrusage: the helper, or podman itself) and of the whole machine (/proc/stat: podman's
conmon and runtime too; the machine should be quiet).

  python bench/probes.py [--checks 200]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time

from _common import REPO, helper_cpu, machine_busy, table

sys.path.insert(0, str(REPO))
from phoenix_compose.config.probes import recognise  # noqa: E402
from phoenix_compose.runtime import argv, busybox, checks, commands, containers  # noqa: E402
from phoenix_compose.runtime.probeserver import ProbeServer  # noqa: E402

IMAGE = "localhost/phoenix-bench/busybox:1"
NAME = "phoenix-bench-probes"
TEST = ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/"]
SERVER = ProbeServer(str(checks.HELPER))


def children_cpu() -> float:
    """Our children's CPU seconds: those waited for, and the live probe helper's."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + helper_cpu(SERVER)


def measure(check, count: int, samples: dict[str, list[float]]) -> None:
    cpu, busy = children_cpu(), machine_busy()
    for _ in range(count):
        start = time.perf_counter()
        code = check()
        samples["wall"].append(time.perf_counter() - start)
        if code != 0:
            raise SystemExit(f"bench: a check failed (exit {code})")
    samples["cpu"].append((children_cpu() - cpu) / count)
    samples["machine"].append((machine_busy() - busy) / count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--checks", type=int, default=200)
    args = parser.parse_args()
    busybox.ensure_image(commands.run, IMAGE)
    commands.run(argv.remove(NAME, timeout=0), tolerate=argv.NO_SUCH_CONTAINER)
    commands.run(("podman", "run", "-d", "--name", NAME, "--health-cmd", TEST[1],
                "--health-interval", "disable", "--", IMAGE,
                "sh", "-c", "echo ok > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"))
    probe = recognise(TEST)
    samples = {way: {"wall": [], "cpu": [], "machine": []} for way in ("native", "served", "exec")}
    try:
        time.sleep(0.5)  # httpd listening
        state = containers.inspect(commands.run, [NAME])[NAME]
        target = (state.pid, state.id)
        ways = {"native": lambda: checks.run_check(commands.run, NAME, 5, probe, target)[0].code,
                "served": lambda: checks.run_check(commands.run, NAME, 5, probe, target,
                                                   SERVER)[0].code,
                "exec": lambda: containers.run_check(commands.run, NAME, 5).code}
        for _ in range(max(1, args.checks // 10)):
            for way, check in ways.items():
                measure(check, 10, samples[way])
    finally:
        SERVER.close()
        commands.run(argv.remove(NAME, timeout=0), tolerate=argv.NO_SUCH_CONTAINER)
    rows = [("way", "wall per check (median)", "our children's CPU per check (mean)",
             "machine CPU per check (mean)")]
    # CPU is counted in clock ticks (10 ms): a mean over every round, not a median of
    # rounds (a served round of 10 checks is under one tick)
    medians = {way: {"wall": statistics.median(s["wall"]), "cpu": statistics.mean(s["cpu"]),
                     "machine": statistics.mean(s["machine"])} for way, s in samples.items()}
    for way, m in medians.items():
        rows.append((way, f"{m['wall'] * 1000:.1f} ms", f"{m['cpu'] * 1000:.1f} ms",
                     f"{m['machine'] * 1000:.1f} ms"))
    exec_ = medians["exec"]
    for way in ("native", "served"):
        m = medians[way]
        rows.append((f"{way} / exec", f"{m['wall'] / exec_['wall']:.2f}x",
                     f"{m['cpu'] / exec_['cpu']:.2f}x", f"{m['machine'] / exec_['machine']:.2f}x"))
    print(table(rows))
    print(f"\n{len(samples['native']['wall'])} checks each way, interleaved in rounds of 10")


if __name__ == "__main__":
    main()
