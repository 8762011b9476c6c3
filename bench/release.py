"""Benchmark: the release path against its peers, as ratios measured in the same run.

1. `inv images.promote` ÷ plain `podman push --digestfile` of the same images, each to a
   fresh, empty registry (every blob uploaded), on a real docker-registry process.  The
   images are the development stack's (built with `inv images.build` when missing).
2. `inv up` on an unchanged running stack ÷ `inv status`, and ÷ `podman-compose up -d` on
   the same running stack (the generated 12-service stack of bench/up.py).
3. A failed deploy (one top-level service's new config exits at once) until the old
   release is healthy again (`inv up` exits 3) ÷ the same by hand with podman-compose in
   the same run (`up -d --no-deps --force-recreate` of the broken file, wait for the exit,
   the same of the good file, `podman healthcheck run` every 0.2 s until it passes), and
   ÷ that release's critical path (computed from the stack: a constant, so under load the
   by-hand peer is the fair one).
  python bench/release.py [--rounds N] [--skip-promote]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml
from up import IMAGE, remove, write_stack

from _common import REPO, table, time_once, tool

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import argv, busybox, commands  # noqa: E402
from phoenix_compose.runtime.registry import Registry  # noqa: E402

PROJECT = "phoenixrelbench"
DEV_IMAGES = {"revenue-db": "localhost/phoenix/revenue-db:dev",
              "phoenix-core": "localhost/phoenix/phoenix-core:dev",
              "nca-toolkit": "localhost/phoenix/nca-toolkit:dev"}


def run(argv_: list[str], cwd: Path) -> None:
    subprocess.run(argv_, cwd=cwd, check=True, capture_output=True)


def fresh_registry(work: Path, round_: int) -> Registry:
    registry = Registry(work / f"registry-{round_}", "127.0.0.1:5099")
    registry.down()
    shutil.rmtree(registry.root / ".phoenix", ignore_errors=True)
    registry.up()
    return registry


def bench_promote(rounds: int) -> tuple[float, float]:
    """Median seconds of promote and of plain pushes, each into an empty registry."""
    stack = Path(tempfile.mkdtemp(prefix="phoenix-bench-"))
    for name in ("compose", "templates", "envs", "images", "tasks.py"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, stack / name)
    (stack / "envs" / "common.env").write_text(
        (REPO / "envs" / "common.env").read_text() + "PHOENIX_REGISTRY=127.0.0.1:5099\n")
    if any(commands.run(argv.image_exists(i), ok_codes=(0, 1)).code for i in DEV_IMAGES.values()):
        run([tool("inv"), "images.build", "--env", "development"], stack)
    samples: dict[str, list[float]] = {"promote": [], "push": []}
    try:
        for n in range(rounds):
            registry = fresh_registry(stack, 2 * n)
            samples["promote"].append(time_once(
                [tool("inv"), "images.promote", "--from", "development", "--to", "staging",
                 "--tag", f"b{n}"], stack, env=registry.env()))
            registry.down()
            registry = fresh_registry(stack, 2 * n + 1)
            pushes = [line for s, image in DEV_IMAGES.items() for line in (
                argv.tag(image, f"{registry.address}/phoenix/{s}:p{n}"),
                argv.push(f"{registry.address}/phoenix/{s}:p{n}", str(stack / f"d-{s}")))]
            samples["push"].append(time_once(pushes, stack, env=registry.env()))
            registry.down()
    finally:
        for image in [f"127.0.0.1:5099/phoenix/{s}:{t}{n}" for s in DEV_IMAGES
                      for t in ("b", "p") for n in range(rounds)]:
            commands.run(argv.untag(image), ok_codes=(0, 1, 2, 125))
        shutil.rmtree(stack, ignore_errors=True)
    return statistics.median(samples["promote"]), statistics.median(samples["push"])


def bench_unchanged(root: Path, rounds: int) -> dict[str, float]:
    compose = root / ".phoenix" / "bench" / "compose.yaml"
    commands = {
        "up": [tool("inv"), "up", "--env", "bench"],
        "status": [tool("inv"), "status", "--env", "bench"],
        "podman-compose": [tool("podman-compose"), "--in-pod", "false", "-f", str(compose),
                           "-p", PROJECT, "up", "-d", "--no-recreate"],
    }
    samples: dict[str, list[float]] = {k: [] for k in commands}
    for _ in range(rounds):
        for name, command in commands.items():
            samples[name].append(time_once(command, root))
    return {k: statistics.median(v) for k, v in samples.items()}


BROKEN = "l2s0:\n    environment: {BROKEN: '1'}\n    entrypoint: [sh, -c, 'exit 1']\n"


def _broken_final(final: Path, out: Path) -> None:
    """Our final compose file with l2s0's config broken as BROKEN breaks it."""
    model = yaml.safe_load(final.read_text())
    model["services"]["l2s0"].update(environment={"BROKEN": "1"},
                                     entrypoint=["sh", "-c", "exit 1"])
    out.write_text(yaml.safe_dump(model))


def _until(argv_: list[str], done: Callable[[subprocess.CompletedProcess], bool]) -> None:
    for _ in range(600):  # a hang guard: 2 minutes of 0.2 s polls
        if done(subprocess.run(argv_, capture_output=True, text=True)):
            return
        time.sleep(0.2)
    raise SystemExit(f"bench: {' '.join(argv_)} never got there")


def by_hand(root: Path, final: Path) -> float:
    """The failed deploy and its repair as a podman-compose user scripts them (``final``:
    the good release's compose file)."""
    broken = root / "broken.yaml"
    _broken_final(final, broken)
    container = f"{PROJECT}_l2s0_1"
    compose = [tool("podman-compose"), "--in-pod", "false", "-p", PROJECT]
    start = time.perf_counter()
    run([*compose, "-f", str(broken), "up", "-d", "--no-deps", "--force-recreate", "l2s0"], root)
    _until(["podman", "inspect", "--format", "{{.State.Status}}", "--", container],
           lambda r: r.stdout.strip() in ("exited", "stopped"))
    run([*compose, "-f", str(final), "up", "-d", "--no-deps", "--force-recreate", "l2s0"], root)
    _until(["podman", "healthcheck", "run", "--", container], lambda r: r.returncode == 0)
    return time.perf_counter() - start


def bench_rollback(root: Path, rounds: int) -> tuple[float, float]:
    """Median seconds of an `inv up` whose new config of l2s0 exits at once, to exit 3, and
    of the same by hand (interleaved)."""
    stack = root / "compose" / "stack.yaml"
    good = stack.read_text()
    broken = good.replace("l2s0:\n", BROKEN, 1)
    samples: dict[str, list[float]] = {"inv": [], "hand": []}
    for _ in range(rounds):
        run([tool("inv"), "up", "--env", "bench", "--timeout", "120"], root)  # ours again
        final = root / "good.yaml"  # the failed up below writes its own final file
        shutil.copy(root / ".phoenix" / "bench" / "compose.yaml", final)
        stack.write_text(broken)
        start = time.perf_counter()
        done = subprocess.run([tool("inv"), "up", "--env", "bench", "--timeout", "120"],
                              cwd=root, capture_output=True, text=True)
        samples["inv"].append(time.perf_counter() - start)
        stack.write_text(good)
        if done.returncode != 3:
            raise SystemExit(f"bench: expected exit 3, got {done.returncode}: {done.stderr}")
        samples["hand"].append(by_hand(root, final))
    return statistics.median(samples["inv"]), statistics.median(samples["hand"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--skip-promote", action="store_true")
    args = parser.parse_args()
    rows = [("measure", "phoenix (median)", "peer (median)", "ratio", "target")]
    if not args.skip_promote:
        promote, push = bench_promote(max(1, args.rounds // 2))
        rows.append(("promote / podman tag + push (3 dev images)", f"{promote:.2f} s",
                     f"{push:.2f} s", f"{promote / push:.2f}x", "<= 1.2"))
    busybox.ensure_image(commands.run, IMAGE)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        critical = write_stack(root, PROJECT)
        stack = root / "compose" / "stack.yaml"  # services that stop within 1 s, as real ones
        stack.write_text(stack.read_text().replace(  # do (bench/up.py's `sleep` ignores TERM)
            "    command:", "    stop_grace_period: 1s\n    command:"))
        (root / "envs" / "bench.env").write_text(f"COMPOSE_PROJECT_NAME={PROJECT}\n")
        try:
            remove(PROJECT)
            run([tool("inv"), "up", "--env", "bench", "--timeout", "120"], root)
            times = bench_unchanged(root, args.rounds)
            failed, hand = bench_rollback(root, max(1, args.rounds // 2))
        finally:
            remove(PROJECT)
    rows += [
        ("unchanged up / inv status", f"{times['up']:.2f} s", f"{times['status']:.2f} s",
         f"{times['up'] / times['status']:.2f}x", "<= 1.5"),
        ("unchanged up / podman-compose up -d", f"{times['up']:.2f} s",
         f"{times['podman-compose']:.2f} s", f"{times['up'] / times['podman-compose']:.2f}x",
         "<= 0.5"),
        ("failed deploy to healthy again / the same by hand", f"{failed:.2f} s",
         f"{hand:.2f} s", f"{failed / hand:.2f}x", "<= 1.2"),
        ("failed deploy to healthy again / critical path", f"{failed:.2f} s",
         f"{critical:.2f} s", f"{failed / critical:.2f}x", "<= 1.2"),
    ]
    print(table(rows))
    print(f"\n{args.rounds} rounds; 12 services in 3 levels of 4 (bench/up.py's stack)")


if __name__ == "__main__":
    main()
