"""A repository is safe to run `phoenix` in, whatever it holds (issue 23's review): env
names that are no folder name, and generated-output folders that link out of it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phoenix_compose.config.stackfiles import list_environments
from phoenix_compose.statedir import StateDir

from support.inprocess import phoenix

COMPOSE = "services:\n  a:\n    image: docker.io/library/alpine:3\n"


def phoenix_process(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "phoenix_compose.cli.program", *args],
                          cwd=root, capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    (root / "envs").mkdir(parents=True)
    (root / "compose.yaml").write_text(COMPOSE)
    return root


def test_an_env_file_named_dot_dot_is_no_env_and_never_overwrites_the_stack(
        project: Path) -> None:
    (project / "envs" / "...env").touch()  # env `..`
    (project / "envs" / "-x.env").touch()
    (project / "envs" / "Bad.env").touch()
    assert list_environments(project) == ["default"]
    done = phoenix(project, "config.validate", "--all")
    assert done.returncode == 0, done.stderr
    assert (project / "compose.yaml").read_text() == COMPOSE
    assert "..:" not in done.stdout
    assert "envs/...env:1:1: warning: '..' is not an environment name" in done.stderr
    assert "envs/-x.env:1:1: warning:" in done.stderr
    listed = phoenix(project, "envs")
    assert listed.stdout.split() == ["default"] and "envs/Bad.env:1:1: warning:" in listed.stderr


@pytest.mark.parametrize("name", ["..", ".", "a/b", "-x", "../deploy", "Prod", "a" * 64])
def test_an_env_option_that_is_no_env_name_is_a_usage_error(project: Path, name: str) -> None:
    (project / "deploy" / "quadlet").mkdir(parents=True)
    (project / "deploy" / "quadlet" / "keep.txt").write_text("mine")
    done = phoenix(project, "deploy.quadlet", f"--env={name}")
    assert done.returncode == 2, done.stderr
    assert "is not an environment name" in done.stderr and "Traceback" not in done.stderr
    assert (project / "deploy" / "quadlet" / "keep.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="not an environment name"):
        StateDir(project, name)


def _outside(tmp_path: Path) -> Path:
    victim = tmp_path / "outside" / "victimdir"
    victim.mkdir(parents=True)
    (victim / "precious.txt").write_text("precious")
    return victim


@pytest.mark.parametrize("link", ["deploy/quadlet/default", "deploy/quadlet", "deploy"])
def test_quadlet_never_writes_or_prunes_through_a_linked_folder(
        tmp_path: Path, project: Path, link: str) -> None:
    victim = _outside(tmp_path)
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(victim, project / link)
    done = phoenix(project, "deploy.quadlet")
    assert done.returncode == 1, done.stderr
    assert f"{link}:1:1: error: " in done.stderr and "symbolic link" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_kube_never_writes_through_a_linked_folder(tmp_path: Path, project: Path) -> None:
    victim = _outside(tmp_path)
    (project / "deploy").mkdir()
    os.symlink(victim, project / "deploy" / "kube")
    done = phoenix(project, "deploy.kube")
    assert done.returncode == 1 and "deploy/kube:1:1: error: " in done.stderr, done.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_vscode_tasks_never_writes_through_a_linked_vscode_folder(
        tmp_path: Path, project: Path) -> None:
    victim = _outside(tmp_path)
    os.symlink(victim, project / ".vscode")
    done = phoenix(project, "vscode.tasks")
    assert done.returncode == 1 and ".vscode:1:1: error: " in done.stderr, done.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]


def test_an_out_folder_may_be_anywhere_but_is_not_pruned_through_a_link(
        tmp_path: Path, project: Path) -> None:
    victim = _outside(tmp_path)
    os.symlink(victim, tmp_path / "link")
    done = phoenix(project, "deploy.quadlet", "--out", str(tmp_path / "link"))
    assert done.returncode == 1 and "symbolic link" in done.stderr, done.stderr
    assert sorted(p.name for p in victim.iterdir()) == ["precious.txt"]
    done = phoenix(project, "deploy.quadlet", "--out", str(tmp_path / "elsewhere"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere" / "p-a.container").is_file()


@pytest.mark.parametrize("value", ["../../etc/passwd:compose.yaml", "/etc/passwd",
                                   "a/" * 3000 + "compose.yaml", "missing.yaml"])
@pytest.mark.parametrize("command", [("config.validate",), ("config.validate", "--all",
                                                            "--no-write"), ("config.show",)])
def test_a_compose_file_setting_out_of_bounds_is_a_located_error(
        project: Path, value: str, command: tuple[str, ...]) -> None:
    (project / ".env").write_text(f"COMPOSE_FILE={value}\n")
    done = phoenix(project, *command)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert ":1:1: error: " in done.stderr
    if value != "missing.yaml":
        assert done.stderr.startswith(".env:1:1: error: "), done.stderr[:300]


@pytest.mark.parametrize("content", ["just a string\n", "- a\n- b\n",
                                     "kind: Deployment\nmetadata: x\nspec: [1]\n", None])
def test_deploy_check_of_a_planted_manifest_is_a_located_error(
        tmp_path: Path, project: Path, content: str | None) -> None:
    pytest.importorskip("kubernetes_validate")
    folder = project / "deploy" / "kube" / "default"
    folder.mkdir(parents=True)
    if content is None:  # a link out of the repository: never read
        (tmp_path / "secret.yaml").write_text("kind: Secret\n")
        os.symlink(tmp_path / "secret.yaml", folder / "x.yaml")
    else:
        (folder / "x.yaml").write_text(content)
    for command in (("deploy.check",), ("deploy.kube", "--check")):
        done = phoenix(project, *command)
        assert done.returncode == 1, done.stderr
        assert "Traceback" not in done.stderr
        assert f"{folder / 'x.yaml'}:1:1: error: " in done.stderr, done.stderr
        assert ("symbolic link" in done.stderr) == (content is None)


def test_the_console_script_in_its_own_process_says_what_it_says_in_process(
        project: Path) -> None:
    """The tests above run ``phoenix`` in process (support.inprocess): its own process
    gives the same exit code and the same located error."""
    (project / ".env").write_text("COMPOSE_FILE=/etc/passwd\n")
    alone, here = phoenix_process(project, "config.show"), phoenix(project, "config.show")
    assert alone.returncode == here.returncode == 1 and alone.stderr == here.stderr
    assert here.stderr.startswith(".env:1:1: error: ") and "Traceback" not in alone.stderr
