"""``rollback --to N``, ``restart``, ``secrets.rotate`` and ``failure_action: pause`` of a
two-replica start-first service behind the edge, on real podman and HAProxy (issue 26),
each under a load of 4 clients (a GET every 20 ms): counts (failed requests: 0), never
durations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.errors import RolloutStopped
from phoenix_compose.runtime import argv, commands, releases
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.rotate import rotate
from phoenix_compose.runtime.secrets import SecretStore
from phoenix_compose.statedir import StateDir

from support import free_port
from support.edgeload import Load
from support.edgestack import HTTPD, write

pytestmark = [pytest.mark.podman, pytest.mark.slow, pytest.mark.haproxy]

PAUSE = ("{replicas: 2, update_config: {order: start-first, parallelism: 1, "
         "failure_action: pause}}")
# the first replica to start takes the flag and serves; any later one never becomes healthy
FIRST_ONLY = ("if mkdir /flag/taken; then exec httpd -f -p 8000 -h /www; "
              "else exec sleep 1000; fi")


def servers(root: Path) -> set[str]:
    return {s.server for s in Edge(StateDir(root, "t")).api().servers_state()}


def ids(project: str) -> dict[str, str]:
    found = json.loads(commands.run(argv.ps(project)).stdout or "[]")
    return {c["Names"][0]: c["Id"] for c in found}


def settled(load: Load) -> tuple[dict[str, int], dict[str, int]]:
    """The versions served once the requests in flight during the operation are done
    (20 more than the 4 clients can hold), then after 80 more; the load stopped."""
    load.wait_for(20)
    mid = load.snapshot()
    load.wait_for(80)
    load.stop()
    return mid, load.snapshot()


def test_rollback_to_a_release_under_load_fails_no_request(
        edged: tuple[Path, int], podman_project: str, busybox_image: str) -> None:
    root, port = edged
    ComposeManager(root, "t").start_services(timeout=60)  # release 1: v1
    write(root, busybox_image, port, "v2")
    ComposeManager(root, "t").start_services(timeout=60)  # release 2: v2, start-first
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(40)
    number, plan = ComposeManager(root, "t").rollback(to=1, timeout=60)
    mid, end = settled(load)
    assert number == 1 and releases.current(StateDir(root, "t")) == 1
    assert load.failures == []
    assert mid.get("v2\n", 0) > 0 and end["v2\n"] == mid["v2\n"]  # v2 served, then no more
    assert end["v1\n"] > mid.get("v1\n", 0)
    assert servers(root) == {f"{podman_project}_web_1", f"{podman_project}_web_2"}


def test_restart_replaces_the_replicas_start_first_under_load(
        edged: tuple[Path, int], podman_project: str) -> None:
    root, port = edged
    ComposeManager(root, "t").start_services(timeout=60)
    before = ids(podman_project)
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(40)
    ComposeManager(root, "t").restart_services(timeout=60)
    _, end = settled(load)
    assert load.failures == [] and set(end) == {"v1\n"}
    after = ids(podman_project)
    assert sorted(after) == sorted(before) == [f"{podman_project}_web_1",
                                               f"{podman_project}_web_2"]
    assert not set(after.values()) & set(before.values())  # new containers, same names
    assert servers(root) == set(after)


def test_a_paused_update_keeps_both_versions_serving_and_up_continues_it(
        edged: tuple[Path, int], podman_project: str, busybox_image: str) -> None:
    root, port = edged
    flag = root / "flag"
    flag.mkdir()
    volume = f'    volumes: ["{flag}:/flag"]\n'
    write(root, busybox_image, port, "v1", deploy=PAUSE, extra=volume)
    ComposeManager(root, "t").start_services(timeout=60)
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(40)
    write(root, busybox_image, port, "v2", serve=FIRST_ONLY, deploy=PAUSE, extra=volume)
    with pytest.raises(RolloutStopped) as paused:
        ComposeManager(root, "t").start_services(timeout=60)
    mid, end = settled(load)
    assert paused.value.exit_code == 3 and "paused" in str(paused.value)
    assert "run `inv up` again" in str(paused.value)
    assert load.failures == []
    assert end["v1\n"] > mid["v1\n"] and end["v2\n"] > mid["v2\n"]  # one replica of each
    assert releases.current(StateDir(root, "t")) == 1  # not rolled back, nothing recorded
    assert sorted(ids(podman_project)) == [f"{podman_project}_web_1",
                                           f"{podman_project}_web_2"]
    load = Load(port, clients=4, interval=0.02)
    write(root, busybox_image, port, "v3", deploy=PAUSE, extra=volume)
    ComposeManager(root, "t").start_services(timeout=60)  # `up` again: it goes on
    mid, end = settled(load)
    assert load.failures == []
    assert {k for k in end if end[k] > mid.get(k, 0)} == {"v3\n"}


def test_rotate_under_load(make_stack, podman_project: str, busybox_image: str) -> None:
    """A secret rotation recreates the replicas start-first (a short name: the edge's
    socket path, under pytest's folder named after the test, has HAProxy's limit)."""
    env = f"e{podman_project[-6:]}"  # its secrets are `<env>_*` in podman: nothing shared
    root = make_stack({f"envs/{env}.env": f"COMPOSE_PROJECT_NAME={podman_project}\n"})
    port = free_port()
    write(root, busybox_image, port, "v1", serve=f"cat /run/secrets/token > /www/index.html "
          f"&& {HTTPD}", extra=f"    secrets: [{{source: {env}_token, target: token}}]\n"
                               f"secrets:\n  {env}_token: {{external: true}}\n")
    m = ComposeManager(root, env)
    try:
        store = SecretStore(m.root, m.env, m.current_stack(), m.run, project=m.prepared())
        store.set("token", "s1")
        m.start_services(timeout=60)
        load = Load(port, clients=4, interval=0.02)
        load.wait_for(40)
        done = rotate(m.deployer(), store, "token", "s2", 60)
        mid, end = settled(load)
    finally:
        ComposeManager(root, env).stop_services()
        mine = [n for n in commands.run(argv.secret_names()).stdout.split()
                if n.startswith(f"{env}_")]
        if mine:
            commands.run(argv.secret_remove(*mine))
    assert done.recreated == ("web",) and load.failures == []
    assert mid.get("s1", 0) > 0 and end["s1"] == mid["s1"] and end["s2"] > mid.get("s2", 0)
