"""Rootless: a throwaway user, its blockers fixed by `inv doctor --fix --user`, runs the
development stack healthy with its ports answering on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sysconfig
import urllib.request
import uuid
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv

from support import REPO, free_port, inv

pytestmark = [pytest.mark.podman, pytest.mark.slow, pytest.mark.root]  # root makes the user

IMAGES = ("revenue-db", "phoenix-core", "nca-toolkit")


@pytest.fixture
def user(tmp_path: Path):
    """A throwaway user (root creates it); everything of it is removed afterwards."""
    name = f"phx{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "-m", "--", name], check=True)
    entry = pwd.getpwnam(name)
    yield entry
    as_user(entry, ("pkill", "-u", name), check=False)  # its podman pause process
    subprocess.run(["pkill", "-u", name], check=False)
    subprocess.run(["userdel", "-r", "--", name], check=False, capture_output=True)
    shutil.rmtree(f"/run/user/{entry.pw_uid}", ignore_errors=True)


def user_env(entry: pwd.struct_passwd, **extra: str) -> dict[str, str]:
    """What the user's session would have; our code from this tree, its dependencies from
    this venv (root's interpreter is not readable to others: the system python3 runs them)."""
    return {"HOME": entry.pw_dir, "USER": entry.pw_name,
            "XDG_RUNTIME_DIR": f"/run/user/{entry.pw_uid}",
            "PATH": f"{entry.pw_dir}/bin:/usr/bin:/bin",
            "PYTHONPATH": f"{REPO}:{sysconfig.get_paths()['purelib']}", **extra}


def as_user(entry: pwd.struct_passwd, command, check: bool = True, **extra: str):
    return subprocess.run(["runuser", "-u", entry.pw_name, "--", "env", "-i",
                           *[f"{k}={v}" for k, v in user_env(entry, **extra).items()],
                           *command], capture_output=True, text=True, check=check,
                          timeout=600)


def test_the_development_stack_runs_rootless(user, phoenix_stack: Path) -> None:
    fixed = inv(phoenix_stack, "doctor", "--fix", "--user", user.pw_name, timeout=300)
    assert f"nothing blocks rootless podman for {user.pw_name}" in fixed.stdout, \
        fixed.stdout + fixed.stderr
    built = inv(phoenix_stack, "images.build", "--env", "development", timeout=1800)
    assert built.returncode == 0, built.stderr
    home = Path(user.pw_dir)
    for image in IMAGES:  # into the user's own storage
        tarball = home / f"{image}.tar"
        subprocess.run(argv.save(f"localhost/phoenix/{image}:dev", str(tarball)),
                       check=True, capture_output=True)
        os.chown(tarball, user.pw_uid, user.pw_gid)
        loaded = as_user(user, argv.load(str(tarball)), check=False)
        assert loaded.returncode == 0, loaded.stderr
        tarball.unlink()
    stack = home / "stack"
    shutil.copytree(phoenix_stack, stack, ignore=shutil.ignore_patterns(".phoenix"))
    (home / "bin").mkdir()
    (home / "bin" / "podman-compose").write_text(
        "#!/bin/sh\nexec /usr/bin/python3 -m podman_compose \"$@\"\n")
    (home / "bin" / "podman-compose").chmod(0o755)
    subprocess.run(["chown", "-R", f"{user.pw_name}:", "--", str(stack), str(home / "bin")],
                   check=True)
    core, toolkit = free_port(), free_port()
    ports = {"PHOENIX_CORE_PORT": str(core), "NCA_TOOLKIT_PORT": str(toolkit)}
    inv_user = ("/usr/bin/python3", "-m", "invoke", "--search-root", str(stack))
    up = as_user(user, (*inv_user, "up", "--env", "development", "--timeout", "180"),
                 check=False, **ports)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "(podman rootless)" in up.stdout.splitlines()[0]
    rows = json.loads(as_user(user, (*inv_user, "status", "--env", "development", "--json"),
                              **ports).stdout)
    assert {r["service"]: r["status"] for r in rows} == dict.fromkeys(IMAGES, "healthy")
    with urllib.request.urlopen(f"http://127.0.0.1:{core}/health", timeout=10) as response:
        assert json.loads(response.read())["checks"] == {"postgres://revenue-db:5432": "ok"}
    with urllib.request.urlopen(f"http://127.0.0.1:{toolkit}/health", timeout=10) as response:
        assert json.loads(response.read())["status"] == "ok"
    down = as_user(user, (*inv_user, "down", "--env", "development", "--volumes"),
                   check=False, **ports)
    assert down.returncode == 0, down.stderr


BOOTSTRAP = """
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.images import bootstrap_debian
bootstrap_debian("localhost/phoenix-test/debian:bookworm", "bookworm", run=commands.run,
                 report=lambda service, state, detail: print(state, detail))
print(commands.run(("podman", "run", "--rm", "--network", "none", "--",
                  "localhost/phoenix-test/debian:bookworm", "cat", "/etc/debian_version")
                 ).stdout.strip())
"""


def test_a_debian_base_image_is_bootstrapped_rootless_without_root(user, phoenix_stack
                                                                    ) -> None:
    """Offline, a Debian base that cannot be pulled is bootstrapped by the user alone
    (mmdebstrap in a user namespace of its subordinate ids), then runs."""
    fixed = inv(phoenix_stack, "doctor", "--fix", "--user", user.pw_name, timeout=300)
    assert f"nothing blocks rootless podman for {user.pw_name}" in fixed.stdout
    done = as_user(user, ("/usr/bin/python3", "-c", BOOTSTRAP), check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("bootstrapping localhost/phoenix-test/debian:bookworm from ")
    assert lines[0].endswith("(mmdebstrap, unshare)")
    assert lines[1] == "bootstrapped localhost/phoenix-test/debian:bookworm"
    assert lines[-1].startswith("12.")  # bookworm
