"""Benchmark: what the integrations cost on the Phoenix stack.

- `inv vscode.tasks --check` (renders every env for the service list, cached);
- the pre-commit hook `phoenix-config-validate` run by pre-commit itself (from a config
  naming this repository at its HEAD commit; the hook environment already built),
  against the peer style of hook (docker-pre-commit's
  `docker-compose-check`: `<engine> compose -f FILE config` per file, here
  `podman-compose config` on each env's final file, which validates nothing).
Interleaved, medians:  python bench/integration.py [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from _common import REPO, interleaved, table, tool

GIT = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@example.invalid",
       "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@example.invalid"}


def stack_repo(root: Path) -> Path:
    for name in ("compose", "templates", "envs", "images"):
        shutil.copytree(REPO / name, root / name)
    env = {**os.environ, **GIT}
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "stack"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    os.environ.update(GIT)
    with tempfile.TemporaryDirectory() as tmp:
        repo = stack_repo(Path(tmp) / "stack")
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, check=True,
                              capture_output=True, text=True).stdout.strip()
        (repo / ".pre-commit-config.yaml").write_text(
            f"repos:\n  - repo: {REPO}\n    rev: {head}\n    hooks:\n"
            "      - id: phoenix-config-validate\n")
        hook = [tool("pre-commit"), "run", "phoenix-config-validate", "--all-files"]
        subprocess.run(hook, cwd=repo, capture_output=True)  # build the hook's environment
        subprocess.run([tool("phoenix"), "vscode.tasks"], cwd=repo, check=True,
                       capture_output=True)
        peer = [[tool("podman-compose"), "-f", f".phoenix/{env}/compose.yaml", "config"]
                for env in ("development", "staging", "prod")]
        m = interleaved({
            "vscode": ([tool("phoenix"), "vscode.tasks", "--check"], repo),
            "hook": (hook, repo),
            "validate": ([tool("phoenix"), "config.validate", "--all"], repo),
            "peer": (peer, repo),
        }, args.rounds)
    print(table([
        ("command", "median", "/ peer hook"),
        ("inv vscode.tasks --check", f"{m['vscode'] * 1000:.0f} ms", ""),
        ("pre-commit: phoenix-config-validate (3 envs)", f"{m['hook'] * 1000:.0f} ms",
         f"{m['hook'] / m['peer']:.2f}x"),
        ("  of which phoenix config.validate --all", f"{m['validate'] * 1000:.0f} ms",
         f"{m['validate'] / m['peer']:.2f}x"),
        ("peer: podman-compose config on 3 files", f"{m['peer'] * 1000:.0f} ms", "1.00x"),
    ]))


if __name__ == "__main__":
    main()
