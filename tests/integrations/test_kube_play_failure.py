"""``inv deploy.kube-play`` that fails leaves nothing it made (issue 26 item 5): a service
that never becomes healthy is taken down with its pod, container, network and the claim's
volume the play created; a claim's volume that was there before (with data) is kept.  And
an httpGet probe is played when the image has curl (podman 4.3 runs the probe with it),
looked for in the image, instead of refused outright."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.integrations.kube import manifests
from phoenix_compose.integrations.kubeplay import Player, variant
from phoenix_compose.runtime import argv_deploy, commands
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.stack import ServiceSpec, Stack

from support import BUSYBOX_IMAGE

NEVER_HEALTHY = f"""
services:
  app:
    image: {BUSYBOX_IMAGE}
    command: ["sleep", "600"]
    volumes: ["data:/data"]
    healthcheck: {{test: ["CMD", "false"], interval: 1s, retries: 1}}
volumes:
  data: {{}}
"""


def listed(kind: str, project: str) -> list[str]:
    argv = {"pod": ("podman", "pod", "ps", "--format", "{{.Name}}"),
            "container": ("podman", "ps", "-a", "--format", "{{.Names}}"),
            "volume": ("podman", "volume", "ls", "--format", "{{.Name}}"),
            "network": ("podman", "network", "ls", "--format", "{{.Name}}")}[kind]
    return [n for n in commands.run(argv, timeout=60).stdout.split() if n.startswith(project)]


def sweep(project: str) -> None:
    """What a failing test left (the undo under test is what should have removed it)."""
    for kind in ("pod", "container", "volume", "network"):
        if names := listed(kind, project):
            rm = ("podman", kind, "rm", "-f") if kind != "network" else ("podman", kind, "rm")
            commands.run((*rm, "--", *names), timeout=120)


def play(make_stack, project: str, tmp_path: Path, why: str) -> tuple[Player, list[str]]:
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={project}\n",
                       "compose/app.yaml": NEVER_HEALTHY})
    stack = ComposeManager(root, "t").stack()
    files, _ = manifests(stack, "t")
    said: list[str] = []
    player = Player(stack, tmp_path / "played", commands.run, said.append)
    with pytest.raises(ComposeRuntimeError) as failed:
        player.play(files, [], timeout=3, limits=False)
    assert why in str(failed.value)
    return player, said


@pytest.mark.podman
def test_a_failed_play_removes_everything_it_created(make_stack, podman_project,
                                                     tmp_path) -> None:
    try:
        player, said = play(make_stack, podman_project, tmp_path, "did not become healthy")
        for kind in ("pod", "container", "volume", "network"):
            assert listed(kind, podman_project) == [], kind
        assert not player.record.exists()
        assert said[-1] == "the failed play was taken down"
    finally:
        sweep(podman_project)


@pytest.mark.podman
def test_a_failed_play_keeps_a_volume_it_found(make_stack, podman_project, tmp_path) -> None:
    volume = f"{podman_project}-data"
    commands.run(("podman", "volume", "create", "--", volume), timeout=60)
    try:
        # podman 4.3 refuses to play a claim whose volume it did not make: a failed play
        player, said = play(make_stack, podman_project, tmp_path, "already exists")
        assert listed("volume", podman_project) == [volume]  # its data is not ours to drop
        for kind in ("pod", "container", "network"):
            assert listed(kind, podman_project) == [], kind
        assert said[-1].endswith(f"kept the volume(s) {volume} it found")
        assert player.down(volumes=True) == []  # the record still names it for --volumes
        assert listed("volume", podman_project) == []
    finally:
        sweep(podman_project)


HTTP = f"""
services:
  web:
    image: {BUSYBOX_IMAGE}
    healthcheck: {{test: ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/health"]}}
"""


def http_service(make_stack) -> tuple[list[dict], ServiceSpec, Stack]:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=http\n", "compose/a.yaml": HTTP})
    stack = ComposeManager(root, "t").stack()
    return manifests(stack, "t")[0]["web.yaml"], stack.services["web"], stack


def test_an_http_probe_is_played_when_the_image_has_curl(make_stack) -> None:
    docs, spec, _ = http_service(make_stack)
    played = variant(docs, spec, "p", 0, {}, curl=True)[-1]
    probe = played["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]
    assert probe["httpGet"] == {"path": "/health", "port": 8080}
    with pytest.raises(ComposeRuntimeError) as refused:
        variant(docs, spec, "p", 0, {}, curl=False)
    assert f"which the image {BUSYBOX_IMAGE} lacks" in str(refused.value)


@pytest.mark.parametrize(("code", "has"), [(0, True), (127, False), (125, False)])
def test_curl_is_looked_for_in_the_image_only_when_a_probe_needs_it(make_stack, tmp_path,
                                                                     code, has) -> None:
    docs, spec, stack = http_service(make_stack)
    asked: list[tuple[str, ...]] = []

    def run(argv, **_):
        asked.append(tuple(argv))
        return commands.Result(tuple(argv), code, "", "")

    player = Player(stack, tmp_path, run, print)
    assert player._curl(docs, spec) is has
    assert asked == [argv_deploy.image_has_program(BUSYBOX_IMAGE, "curl")]
    exec_docs = [d for d in docs if d["kind"] != "Deployment"]
    asked.clear()
    assert player._curl(exec_docs, spec) is False and asked == []


@pytest.mark.podman
def test_the_image_check_finds_a_program_and_misses_curl(busybox_image) -> None:
    def code(program: str) -> int:
        return commands.run(argv_deploy.image_has_program(busybox_image, program),
                            ok_codes=(0, 1, 125, 126, 127), timeout=120).code

    assert code("true") == 0  # busybox's true, found on the image's PATH
    assert code("curl") != 0  # busybox has wget, not curl
