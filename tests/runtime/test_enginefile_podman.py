"""On real podman: podman-compose reads the final file without ``depends_on``, yet a stack
with dependencies is created in order, left alone when nothing changed, and a changed
dependency is recreated alone, its dependents running on; containers of an older phoenix
(made from the file with ``depends_on``, another config hash) are not recreated while they
run, a stopped one is recreated once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands
from phoenix_compose.statedir import StateDir

from support import inv

pytestmark = [pytest.mark.podman, pytest.mark.slow]

COMPOSE = """
services:
  db:
    image: {image}
    command: [sh, -c, 'touch /tmp/ready; exec sleep 1d']
    stop_grace_period: 1s
    healthcheck: {{test: [CMD, test, -f, /tmp/ready], interval: 30s, start_interval: 1s,
                  start_period: 20s}}
  web:
    image: {image}
    command: [sleep, 1d]
    stop_grace_period: 1s
    depends_on: {{db: {{condition: service_healthy}}}}
  app:
    image: {image}
    command: [sleep, 1d]
    stop_grace_period: 1s
    depends_on: {{web: {{condition: service_started}}}}
"""


def containers(project: str) -> dict[str, tuple[str, bool]]:
    """Each container: its id and whether it runs."""
    found = json.loads(commands.run(argv.ps(project)).stdout or "[]")
    return {c["Names"][0]: (c["Id"], c["State"] == "running") for c in found}


def up(root: Path) -> None:
    result = inv(root, "up", "--env", "t", timeout=180)
    assert result.returncode == 0, result.stderr


def test_unchanged_recreates_nothing_and_a_changed_dependency_only_itself(
        inv_stack, podman_project: str, busybox_image: str) -> None:
    root = inv_stack(COMPOSE.format(image=busybox_image))
    up(root)
    first = containers(podman_project)
    assert len(first) == 3 and all(running for _id, running in first.values())
    up(root)
    assert containers(podman_project) == first  # nothing recreated
    compose = root / "compose" / "app.yaml"
    compose.write_text(compose.read_text().replace("'touch /tmp/ready;", "'touch /tmp/ready ;"))
    up(root)
    after = containers(podman_project)
    db = f"{podman_project}_db_1"
    assert after[db][0] != first[db][0] and after[db][1]  # recreated, running
    assert {n: c for n, c in after.items() if n != db} == \
        {n: c for n, c in first.items() if n != db}  # its dependents: the same, running


def test_containers_of_an_older_phoenix_are_recreated_only_when_stopped(
        inv_stack, podman_project: str, busybox_image: str) -> None:
    root = inv_stack(COMPOSE.format(image=busybox_image))
    up(root)
    state = StateDir(root, "t")
    applied = json.loads(state.applied.read_text())
    by_service = {n: _hash(podman_project, n) for n in ("db", "web", "app")}
    # as an older phoenix made them: from the file with depends_on (another config hash)
    full = ("podman-compose", "--in-pod", "false", "-f", str(state.compose_file), "-p",
            podman_project, "up", "--no-start", "--no-deps", "--force-recreate", "--",
            "db", "web", "app")
    commands.run(full, timeout=180)
    commands.run(argv.start(*[f"{podman_project}_{n}_1" for n in ("db", "web", "app")]))
    for name, new in by_service.items():  # the older phoenix remembered its own hashes
        old = _hash(podman_project, name)
        assert (old == new) == (name == "db")  # the same, but where depends_on was
        applied[old] = applied[new]
    state.applied.write_text(json.dumps(applied))
    commands.run(argv.stop(f"{podman_project}_app_1", timeout=1))
    before = containers(podman_project)
    up(root)
    after = containers(podman_project)
    app = f"{podman_project}_app_1"
    assert {n: c for n, c in after.items() if n != app} == \
        {n: c for n, c in before.items() if n != app}  # running: not recreated
    assert after[app][0] != before[app][0] and after[app][1]  # stopped: recreated once
    up(root)
    assert containers(podman_project) == after  # and remembered: not again


def _hash(project: str, service: str) -> str:
    found = json.loads(commands.run(argv.inspect(f"{project}_{service}_1")).stdout)
    return found[0]["Config"]["Labels"]["io.podman.compose.config-hash"]


SHARED = """
services:
  vpn:
    image: {image}
    command: [sleep, 1d]
    stop_grace_period: 1s
  web:
    image: {image}
    command: [sleep, 1d]
    stop_grace_period: 1s
    network_mode: service:vpn
    depends_on: [vpn]
  app:
    image: {image}
    command: [sleep, 1d]
    stop_grace_period: 1s
    depends_on: [web]
    links: ["vpn:tunnel"]
"""


def test_a_call_reads_its_services_alone_and_podman_compose_hashes_them_the_same(
        inv_stack, podman_project: str, busybox_image: str) -> None:
    """`up` creates level by level, each call from a copy with that level's services (and
    the one web's network_mode names, and app whose link names vpn); podman-compose given
    the whole copy then finds every container made from the config it reads: it
    recreates none."""
    root = inv_stack(SHARED.format(image=busybox_image))
    up(root)
    made = containers(podman_project)
    assert len(made) == 3 and all(running for _id, running in made.values())
    web = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
    assert web["HostConfig"]["NetworkMode"].startswith("container:")  # vpn's, resolved
    vpn = json.loads(commands.run(argv.inspect(f"{podman_project}_vpn_1")).stdout)[0]
    aliases = [a for net in vpn["NetworkSettings"]["Networks"].values()
               for a in net.get("Aliases") or ()]
    assert "tunnel" in aliases  # app's link gives it, though app is created a level later
    state = StateDir(root, "t")
    assert not list(state.path.glob(".podman-compose-*"))  # every copy gone after its call
    whole = ("podman-compose", "--in-pod", "false", "-f", str(state.engine_file), "-p",
             podman_project, "up", "--no-start", "--no-deps", "--", "vpn", "web", "app")
    commands.run(whole, timeout=180)
    assert containers(podman_project) == made  # the same hashes: nothing recreated
