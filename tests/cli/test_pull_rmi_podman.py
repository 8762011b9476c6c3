"""Item 5's last flags against real podman and a real registry (issue 25): ``up --pull
missing`` pulls a tag that is not here and only then, ``up --pull always`` pulls it again,
and ``down --rmi all`` removes every service's image (never one the stack does not use).
The tag lives in our own plain-HTTP registry on loopback, pulled through its conf."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.registry import Registry

from support import free_port, inv

pytestmark = pytest.mark.podman


def exists(image: str) -> bool:
    return commands.run(argv.image_exists(image), ok_codes=(0, 1)).code == 0


@pytest.fixture
def remote(tmp_path: Path, busybox_image: str):
    """The test's busybox pushed to a registry of its own as a tag that is not here."""
    registry = Registry(tmp_path / "registry-root", f"127.0.0.1:{free_port()}")
    registry.up()
    image = f"{registry.address}/phoenix-test/pulled:v1"
    try:
        commands.run(argv.tag(busybox_image, image), timeout=60)
        with tempfile.TemporaryDirectory() as tmp:
            commands.run(argv.push(image, f"{tmp}/digest"), env=registry.env(), timeout=300)
        commands.run(argv.untag(image), timeout=60)
        assert not exists(image)
        yield image
    finally:
        commands.run(argv.untag(image), ok_codes=(0, 1, 2, 125), timeout=60)
        assert registry.down()


def test_up_pull_missing_then_always_and_down_rmi_all(inv_stack, remote: str,
                                                      busybox_image: str) -> None:
    root = inv_stack(f"""
            services:
              web:
                image: {remote}
                command: ["sleep", "1d"]
                stop_grace_period: 1s
            """)
    never = inv(root, "up", "--env", "t", "--pull", "never", timeout=120)
    assert never.returncode != 0 and not exists(remote), never.stdout
    missing = inv(root, "up", "--env", "t", "--pull", "missing", timeout=180)
    assert missing.returncode == 0, missing.stderr
    assert "pulled" in missing.stdout and exists(remote), missing.stdout
    again = inv(root, "up", "--env", "t", "--pull", "missing", timeout=180)
    assert again.returncode == 0 and "pull" not in again.stdout, again.stdout
    always = inv(root, "up", "--env", "t", "--pull", "always", timeout=180)
    assert always.returncode == 0, always.stderr
    assert "pulled" in always.stdout, always.stdout
    down = inv(root, "down", "--env", "t", "--rmi", "all", timeout=120)
    assert down.returncode == 0, down.stderr
    assert f"removed image(s) {remote}" in down.stdout
    assert not exists(remote) and exists(busybox_image)
