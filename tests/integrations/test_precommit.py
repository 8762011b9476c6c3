"""The pre-commit hooks this repository offers, run by pre-commit itself."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

GIT_ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})


def try_repo(repo: Path, hook: str) -> subprocess.CompletedProcess[str]:
    pre_commit = Path(sys.executable).parent / "pre-commit"
    return subprocess.run([str(pre_commit), "try-repo", str(REPO), hook, "--all-files"],
                          cwd=repo, capture_output=True, text=True, timeout=900,
                          env={**os.environ, **GIT_ENV})


@pytest.fixture
def stack_repo(tmp_path: Path) -> Path:
    """A repository holding only a stack: no tasks.py, no phoenix checkout."""
    repo = tmp_path / "stack-repo"
    for name in ("compose", "templates", "envs", "images"):
        shutil.copytree(REPO / name, repo / name)
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "stack")
    return repo


@pytest.mark.slow
def test_the_hooks_pass_a_valid_stack_and_locate_errors_in_a_broken_one(
        stack_repo: Path) -> None:
    ok = try_repo(stack_repo, "phoenix-config-validate")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "phoenix config validate (all environments)" in ok.stdout
    assert "Passed" in ok.stdout

    lock = stack_repo / "envs" / "prod.lock"
    lock.write_text("\n".join(
        "PHOENIX_CORE_IMAGE=ghcr.io/phoenix-hydra/phoenix-core:latest"
        if line.startswith("PHOENIX_CORE_IMAGE=") else line
        for line in lock.read_text().splitlines()) + "\n")
    git(stack_repo, "commit", "-qam", "unpin")
    broken = try_repo(stack_repo, "phoenix-config-validate")
    assert broken.returncode == 1
    assert "Failed" in broken.stdout
    assert "envs/prod.lock:4:1: error: 'PHOENIX_CORE_IMAGE=ghcr.io/phoenix-hydra/phoenix-core:" \
           "latest' is not an image pin" in broken.stdout  # a lock file holds digest pins

    stale = try_repo(stack_repo, "phoenix-vscode-tasks")
    assert stale.returncode == 1
    assert ".vscode/tasks.json is stale" in stale.stdout
    phoenix = Path(sys.executable).parent / "phoenix"
    subprocess.run([str(phoenix), "vscode.tasks"], cwd=stack_repo, check=True,
                   capture_output=True)
    git(stack_repo, "add", ".vscode")
    git(stack_repo, "commit", "-qm", "tasks")
    current = try_repo(stack_repo, "phoenix-vscode-tasks")
    assert current.returncode == 0, current.stdout + current.stderr


def test_the_console_script_uses_the_current_directory_as_stack_root(stack_repo: Path) -> None:
    phoenix = Path(sys.executable).parent / "phoenix"
    result = subprocess.run([str(phoenix), "envs"], cwd=stack_repo, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["development", "prod", "(production)", "staging"]
    assert not (stack_repo / "tasks.py").exists()


def test_the_hook_manifest_names_every_hook() -> None:
    import yaml

    hooks = {h["id"]: h for h in yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())}
    assert set(hooks) == {"phoenix-config-validate", "phoenix-vscode-tasks",
                          "phoenix-deploy-check"}
    assert hooks["phoenix-deploy-check"]["entry"] == "phoenix deploy.check"
    for hook in hooks.values():
        assert {"id", "name", "entry", "language"} <= set(hook)
        assert hook["pass_filenames"] is False
