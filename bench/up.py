"""Benchmark: time-to-all-healthy of `inv up` against the critical path and the naive way.

A generated 12-service, 3-level stack (4 services per level; ``--services 50``: 5 levels
of 10; each depends on every
service of the level below with condition service_healthy) whose services take 1-2 s to
become healthy.  Critical path: the sum over levels of the slowest readiness.  The naive
way: `podman-compose up -d`, then polling `podman healthcheck run` until all pass (it
ignores service_healthy on podman < 4.6, so it does not even respect the order).
  python bench/up.py [--rounds N] [--services 12|50]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, tool

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import argv, busybox, commands  # noqa: E402

IMAGE = "localhost/phoenix-bench/busybox:1"
LEVELS, WIDTH = 3, 4  # --services 50 makes it 5 levels of 10


def readiness(level: int, index: int) -> float:
    return 1.0 + ((level * WIDTH + index) * 0.37) % 1.0  # 1-2 s, fixed per service


def write_stack(root: Path, project: str) -> float:
    (root / "compose").mkdir(parents=True)
    (root / "envs").mkdir()
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (root / "envs" / "bench.env").write_text(f"COMPOSE_PROJECT_NAME={project}\n")
    lines = ["services:\n"]
    for level in range(LEVELS):
        for i in range(WIDTH):
            delay = readiness(level, i)
            lines.append(
                f"  l{level}s{i}:\n    image: {IMAGE}\n"
                f"    command: [sh, -c, 'sleep {delay:.2f}; touch /tmp/ready; exec sleep 1d']\n"
                "    healthcheck: {test: [CMD, test, -f, /tmp/ready], interval: 30s}\n")
            if level:
                deps = ", ".join(f"l{level - 1}s{j}: {{condition: service_healthy}}"
                                 for j in range(WIDTH))
                lines.append(f"    depends_on: {{{deps}}}\n")
    (root / "compose" / "stack.yaml").write_text("".join(lines))
    return sum(max(readiness(level, i) for i in range(WIDTH)) for level in range(LEVELS))


def remove(project: str) -> None:
    """Remove the bench project through the engine's seam, and check nothing is left.
    podman-compose links depends_on as podman dependencies (``--requires``), and one
    ``podman rm --force --depend`` of all of them can leave some behind on podman 4.3
    ("has dependent containers"): so in passes, until none is left (at most one per level)."""
    for _ in range(LEVELS + 2):
        ids = commands.run(argv.labelled("container", project), timeout=60).stdout.split()
        if not ids:
            break
        commands.run(argv.remove(*ids, timeout=0), timeout=300, ok_codes=(0, 1, 2, 125))
    nets = commands.run(argv.labelled("network", project), timeout=60).stdout.split()
    if nets:
        commands.run(argv.remove_kind("network", *nets), timeout=60)
    left = commands.run(argv.labelled("container", project), timeout=60).stdout.split()
    if left:
        raise SystemExit(f"bench: cleanup left containers of {project}: {left}")


def time_inv(root: Path, project: str) -> float:
    remove(project)
    start = time.perf_counter()
    subprocess.run([tool("inv"), "up", "--env", "bench", "--timeout", "120"], cwd=root,
                   check=True, capture_output=True)
    return time.perf_counter() - start


def time_naive(root: Path, project: str) -> float:
    remove(project)
    compose = root / ".phoenix" / "bench" / "compose.yaml"
    names = [f"{project}_l{level}s{i}_1" for level in range(LEVELS) for i in range(WIDTH)]
    start = time.perf_counter()
    subprocess.run([tool("podman-compose"), "--in-pod", "false", "-f", str(compose), "-p",
                    project, "up", "-d"], check=True, capture_output=True)
    pending = set(names)
    while pending:
        for name in sorted(pending):
            if subprocess.run(["podman", "healthcheck", "run", name],
                              capture_output=True).returncode == 0:
                pending.discard(name)
        if pending:
            time.sleep(0.25)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--services", type=int, choices=(12, 50), default=12)
    args = parser.parse_args()
    global LEVELS, WIDTH
    LEVELS, WIDTH = (3, 4) if args.services == 12 else (5, 10)
    busybox.ensure_image(commands.run, IMAGE)
    samples: dict[str, list[float]] = {"inv": [], "naive": []}
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        critical = write_stack(root, "phoenixbench")
        subprocess.run([tool("inv"), "config.validate", "--env", "bench"], cwd=root, check=True,
                       capture_output=True)
        try:
            for _ in range(args.rounds):
                samples["inv"].append(time_inv(root, "phoenixbench"))
                samples["naive"].append(time_naive(root, "phoenixbench"))
        finally:
            remove("phoenixbench")
    inv, naive = (statistics.median(samples[k]) for k in ("inv", "naive"))
    print(table([
        ("way", "time to all healthy (median)", "/ critical path", "/ naive"),
        ("inv up (health-gated, ordered)", f"{inv:.2f} s", f"{inv / critical:.2f}x",
         f"{inv / naive:.2f}x"),
        ("podman-compose up -d + polling (unordered)", f"{naive:.2f} s",
         f"{naive / critical:.2f}x", "1.00x"),
        ("critical path (sum of slowest per level)", f"{critical:.2f} s", "1.00x", ""),
    ]))
    print(f"\n{args.rounds} rounds, interleaved; {LEVELS * WIDTH} services in {LEVELS} "
          f"levels of {WIDTH}")


if __name__ == "__main__":
    main()
