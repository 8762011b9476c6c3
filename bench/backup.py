"""Benchmark: the db plugin against plain PostgreSQL tools, as ratios in the same run.

The development env's revenue-db (its own project), with a table of about 300 MB (3 million rows):
1. `inv db.backup` ÷ plain `pg_dump --format=custom` through `podman exec` into a file
   (what a hand-written backup script does): the manifest, the row counts, the fsyncs and
   the rename are the difference;
2. `inv db.restore` ÷ plain `createdb` + `pg_restore` into a new database (no checksum, no
   row counts, no swap, no restart).
  python bench/backup.py [--rounds 3] [--rows 3000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import REPO, table, tool

sys.path.insert(0, str(REPO))
from phoenix_compose.runtime import argv, commands  # noqa: E402

PROJECT = "phoenixbackupbench"
ENV = {"COMPOSE_PROJECT_NAME": PROJECT, "PHOENIX_CORE_PORT": "38080",
       "NCA_TOOLKIT_PORT": "38081",  # the phoenix_compose of this bench's tree, not the venv's
       "PYTHONPATH": os.pathsep.join(filter(None, (str(REPO), os.environ.get("PYTHONPATH"))))}
CONTAINER = f"{PROJECT}_revenue-db_1"


def inv(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([tool("inv"), *args], cwd=root, check=True, capture_output=True,
                   env={**os.environ, **ENV})
    return time.perf_counter() - start


def sql(statement: str, db: str = "revenue") -> str:
    return commands.run(argv.exec_(CONTAINER, ["psql", "-X", "-U", "phoenix", "-d", db, "-Atc",
                                             statement]), timeout=900).stdout.strip()


def plain_dump(path: Path) -> float:
    start = time.perf_counter()
    with open(path, "wb") as out:
        commands.transfer(argv.exec_(CONTAINER, ["pg_dump", "-U", "phoenix", "-d", "revenue",
                                               "--format=custom"]), stdout=out)
    return time.perf_counter() - start


def plain_restore(path: Path, n: int) -> float:
    start = time.perf_counter()
    sql(f"CREATE DATABASE plain_{n}", db="postgres")
    with open(path, "rb") as stream:
        commands.transfer(argv.exec_(CONTAINER, ["pg_restore", "-U", "phoenix", "-d",
                                               f"plain_{n}", "--no-owner"], interactive=True),
                        stdin=stream)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=3_000_000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="phoenix-backup-bench-"))
    for name in ("compose", "templates", "envs", "images", "tasks", "tasks.py"):
        src = REPO / name
        (shutil.copytree if src.is_dir() else shutil.copy)(src, root / name)
    times: dict[str, list[float]] = {"backup": [], "dump": [], "restore": [], "pg_restore": []}
    try:
        inv(root, "up", "--env", "development", "--services", "revenue-db")
        sql(f"CREATE TABLE big AS SELECT g, md5(g::text) || md5((g + 1)::text) AS t, now() AS "
            f"at FROM generate_series(1, {args.rows}) g")
        size = int(sql("SELECT pg_total_relation_size('big')"))
        for n in range(args.rounds):
            times["backup"].append(inv(root, "db.backup", "--env", "development"))
            times["dump"].append(plain_dump(root / f"plain-{n}.dump"))
            dump = sorted((root / "backups" / "development").glob("*.dump"))[-1]
            times["restore"].append(inv(root, "db.restore", str(dump), "--env",
                                        "development"))
            times["pg_restore"].append(plain_restore(root / f"plain-{n}.dump", n))
    finally:
        subprocess.run([tool("inv"), "down", "--env", "development", "--volumes"], cwd=root,
                       capture_output=True, env={**os.environ, **ENV})
        shutil.rmtree(root, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(table([
        ("measure", "phoenix", "plain", "ratio", "target"),
        ("backup / pg_dump -Fc", f"{med['backup']:.2f} s", f"{med['dump']:.2f} s",
         f"{med['backup'] / med['dump']:.2f}x", "<= 1.1"),
        ("restore / createdb + pg_restore", f"{med['restore']:.2f} s",
         f"{med['pg_restore']:.2f} s", f"{med['restore'] / med['pg_restore']:.2f}x",
         "<= 1.3"),
    ]))
    print(f"\nrevenue-db with a {size / 2**20:.0f} MB table ({args.rows} rows), median of "
          f"{args.rounds} interleaved rounds")


if __name__ == "__main__":
    main()
