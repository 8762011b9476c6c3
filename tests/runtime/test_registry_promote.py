"""The local registry and promotion by digest, on a real registry process and real podman."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.promote import lock_file, promote
from phoenix_compose.runtime.registry import Registry

from support import BUSYBOX_IMAGE, free_port

pytestmark = pytest.mark.podman


@pytest.fixture
def registry(tmp_path: Path):
    """A registry of its own on a free 127.0.0.1 port; stopped, and its pushes untagged."""
    started = Registry(tmp_path / "registry-root", f"127.0.0.1:{free_port()}")
    started.up()
    yield started
    assert started.down()
    assert not started.answers()
    names = [f"{started.address}/phoenix/{s}:v1" for s in ("api", "web")]
    commands.run(argv.untag(*names), tolerate=((1, "image not known"), (125, "image not known")))


@pytest.fixture
def stack(make_stack, registry: Registry, busybox_image: str) -> Path:
    return make_stack({
        "envs/common.env": f"PHOENIX_REGISTRY={registry.address}\n"
                           f"WEB_IMAGE={busybox_image}\nAPI_IMAGE={busybox_image}\n",
        "envs/development.env": "",
        "envs/staging.env": "",
        "compose/a.yaml": "services:\n  web: {image: '${WEB_IMAGE}'}\n"
                          "  api: {image: '${API_IMAGE}'}\n"
                          "  extra: {image: 'localhost/not/here:1', profiles: [full]}\n",
    })


def test_the_registry_runs_on_loopback_with_its_own_insecure_config(registry) -> None:
    assert registry.answers() and registry.pid()
    assert registry.address.startswith("127.0.0.1:")
    text = registry.registries_conf.read_text()
    assert f'location = "{registry.address}"' in text and "insecure = true" in text
    assert registry.up() == registry.pid()  # a second up is a no-op


def test_promotion_pins_the_pushed_digests_in_the_lock_file(stack: Path, registry) -> None:
    reports: list[tuple[str, str, str]] = []
    done = promote(stack, "development", "staging", version="v1",
                   report=lambda *r: reports.append(r))
    assert sorted(p.service for p in done) == ["api", "web"]
    lock = lock_file(stack, "staging").read_text().splitlines()
    assert lock[0].startswith("# Written by `inv images.promote --from development --to "
                              "staging` (v1,")
    pinned = dict(line.split("=", 1) for line in lock if not line.startswith("#"))
    assert set(pinned) == {"API_IMAGE", "WEB_IMAGE"}
    for name, image in pinned.items():
        assert image.startswith(f"{registry.address}/phoenix/{name[:-6].lower()}@sha256:")
        pulled = commands.run(argv.pull(image), env=registry.env(), timeout=120)
        assert pulled.code == 0  # the registry serves it by that digest
        digests = json.loads(commands.run(argv.image_digests(image)).stdout)
        assert image in digests  # and podman inspect confirms it
    variables = load_environment(stack, "staging", {}).variables
    assert variables["WEB_IMAGE"] == pinned["WEB_IMAGE"]  # the lock overrides the env files
    assert load_environment(stack, "development", {}).variables["WEB_IMAGE"] == BUSYBOX_IMAGE


def test_the_same_bytes_move_on_from_staging_to_prod(stack: Path, registry) -> None:
    (stack / "envs" / "prod.env").write_text("")
    promote(stack, "development", "staging", version="v1", report=lambda *r: None)
    staging = lock_file(stack, "staging").read_text().splitlines()[2:]
    promote(stack, "staging", "prod", version="v1", report=lambda *r: None)
    prod = lock_file(stack, "prod").read_text().splitlines()[2:]
    assert prod == staging  # the digests staging ran are the ones prod will run


def test_promotion_needs_a_registry_that_answers(stack: Path, registry) -> None:
    registry.down()
    with pytest.raises(ComposeRuntimeError, match="no registry answers at"):
        promote(stack, "development", "staging", version="v1", report=lambda *r: None)
    assert not lock_file(stack, "staging").exists()
    registry.up()


def test_the_registry_tasks_start_and_stop_a_real_process(stack: Path) -> None:
    from support import REPO, inv

    (stack / "tasks.py").write_text((REPO / "tasks.py").read_text())
    address = f"127.0.0.1:{free_port()}"
    up = inv(stack, "registry.up", "--address", address)
    assert up.returncode == 0 and f"registry: up at {address}" in up.stdout, up.stderr
    try:
        assert "answering" in inv(stack, "registry.status", "--address", address).stdout
    finally:
        down = inv(stack, "registry.down", "--address", address)
    assert down.stdout.strip() == "registry: stopped"
    assert not Registry(stack, address).answers()
    refused = inv(stack, "registry.up", "--address", "0.0.0.0:5999")
    assert refused.returncode == 1 and "error: the registry address: the host of " \
        "'0.0.0.0:5999' is not a loopback address" in refused.stderr


def test_up_pulls_a_pinned_image_and_a_missing_digest_creates_nothing(
        stack: Path, registry, podman_project) -> None:
    from phoenix_compose.runtime.lifecycle import ComposeManager

    (stack / "envs" / "staging.env").write_text(f"COMPOSE_PROJECT_NAME={podman_project}\n")
    (stack / "compose" / "a.yaml").write_text(
        "services:\n  web: {image: '${WEB_IMAGE}', command: [sleep, '1d']}\n")
    promote(stack, "development", "staging", version="v1", report=lambda *r: None)
    pinned = load_environment(stack, "staging", {}).variables["WEB_IMAGE"]
    reports: list[tuple[str, str, str]] = []
    manager = ComposeManager(stack, "staging", report=lambda *r: reports.append(r))
    manager.start_services(timeout=60)
    assert ("web", "pulled", pinned) in reports or commands.run(
        argv.image_exists(pinned), ok_codes=(0, 1)).code == 0
    assert [r.status for r in manager.get_service_status()] == ["running"]
    manager.stop_services()
    missing = pinned.split("@")[0] + "@sha256:" + "0" * 64
    lock = lock_file(stack, "staging")
    lock.write_text(lock.read_text().replace(pinned, missing))
    with pytest.raises(ComposeRuntimeError, match="cannot be pulled from") as info:
        ComposeManager(stack, "staging").start_services(timeout=60)
    assert "no container was created" in info.value.hint
    assert commands.run(argv.labelled("container", podman_project)).stdout.split() == []


def test_a_planted_registry_pid_file_never_gets_another_process_signalled(tmp_path) -> None:
    """A repository can ship .phoenix/registry/registry.pid naming any pid: `registry.down`
    signals only the registry serving this folder's config."""
    import subprocess

    other = subprocess.Popen(["sleep", "600"])
    try:
        planted = Registry(tmp_path / "stack")
        planted.folder.mkdir(parents=True)
        planted.pid_file.write_text(f"{other.pid}\n")
        assert planted.pid() is None
        assert planted.down() is False
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()
