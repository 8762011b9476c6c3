"""``up`` starts a level of many containers in two ``podman start`` calls at once
(runtime/startup/waves.py start_all), against real podman."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from phoenix_compose.errors import StartupError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.lifecycle import ComposeManager

pytestmark = pytest.mark.podman


def stack(make_stack, project: str, services: str) -> Path:
    return make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={project}\n",
                       "compose/app.yaml": services})


def manager(root: Path) -> tuple[ComposeManager, list]:
    events: list = []
    return ComposeManager(root, "t", report=lambda *e: events.append(e)), events


def running(project: str) -> set[str]:
    listed = json.loads(commands.run(argv.ps(project)).stdout or "[]")
    return {c["Names"][0] for c in listed if c.get("State") == "running"}


def test_a_level_of_many_containers_starts_with_replicas(make_stack, podman_project,
                                                          busybox_image) -> None:
    services = "".join(f"  s{i}: {{image: '{busybox_image}', command: [sleep, '1000']}}\n"
                       for i in range(5))
    services += (f"  r: {{image: '{busybox_image}', command: [sleep, '1000'], "
                 "deploy: {replicas: 2}}\n")
    root = stack(make_stack, podman_project, "services:\n" + services)
    m, _ = manager(root)
    done = m.start_services(timeout=120)
    assert {p.spec.name for p in done} == {"s0", "s1", "s2", "s3", "s4", "r"}
    assert running(podman_project) == {f"{podman_project}_s{i}_1" for i in range(5)} | {
        f"{podman_project}_r_1", f"{podman_project}_r_2"}


def test_a_failed_start_in_each_call_reports_both(make_stack, podman_project,
                                                   busybox_image) -> None:
    """s0 and s1 land in different calls (start_parts alternates): both podman errors are
    in the message, as one call of them all printed them."""
    bad = "command: [/nonexistent-entrypoint]"
    services = "".join(
        f"  s{i}: {{image: '{busybox_image}', "
        f"{bad if i < 2 else 'command: [sleep, ' + repr('1000') + ']'}}}\n"
        for i in range(4))
    root = stack(make_stack, podman_project, "services:\n" + services)
    m, _ = manager(root)
    with pytest.raises(StartupError) as info:
        m.start_services(timeout=120)
    text = str(info.value)
    assert "could not start" in text, text
    failed = set(re.findall(r'unable to start container "([0-9a-f]{64})"', text))
    assert len(failed) == 2, text  # both calls' errors (podman names containers by id)
