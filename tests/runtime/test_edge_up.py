"""The edge wired into ``up``, ``status`` and ``down`` on real podman and HAProxy (issue 26):
a two-replica busybox httpd service behind the edge under a load of 4 clients, each a GET
every 20 ms.  The assertions are counts (failed requests: 0), never durations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.edge.model import State
from phoenix_compose.errors import RolledBack
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.edgeup import with_edge
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.statedir import StateDir

from support import free_port
from support.edgeload import Load
from support.edgestack import listening, write

pytestmark = [pytest.mark.podman, pytest.mark.slow, pytest.mark.haproxy]


def serving(root: Path, port: int) -> Load:
    """The stack up, and the load steady through its edge."""
    ComposeManager(root, "t").start_services(timeout=60)
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(40)
    return load


def test_up_runs_two_replicas_behind_the_edge_and_down_leaves_nothing(
        edged: tuple[Path, int], podman_project: str) -> None:
    root, port = edged
    m = ComposeManager(root, "t")
    m.start_services(timeout=60)
    rows, notes = with_edge(m.state, m.get_service_status())
    assert [(r.container, r.status, r.edge, r.weight) for r in rows] == [
        (f"{podman_project}_web_1", "healthy", "ready", 100),
        (f"{podman_project}_web_2", "healthy", "ready", 100)]
    assert "2 server(s)" in notes[0]
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(80)
    load.stop()
    assert load.failures == [] and load.snapshot() == {"v1\n": load.done}
    published = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
    assert "127.0.0.1" in json.dumps(published["HostConfig"]["PortBindings"])
    edge = Edge(StateDir(root, "t"))
    pid = edge.pid()
    assert pid is not None
    m.stop_services()
    assert edge.pid() is None and not Path(f"/proc/{pid}").exists()
    assert not listening(port) and not Path(edge.socket).exists()
    left = commands.run(argv.ps(podman_project)).stdout.strip()
    assert left in ("", "[]")


def test_a_start_first_update_under_load_fails_no_request(
        edged: tuple[Path, int], podman_project: str, busybox_image: str) -> None:
    root, port = edged
    load = serving(root, port)
    write(root, busybox_image, port, "v2")
    m = ComposeManager(root, "t")
    m.start_services(timeout=60)
    before = load.snapshot()
    load.wait_for(80)
    load.stop()
    assert load.failures == []
    assert before.get("v1\n", 0) > 0 and load.snapshot()["v2\n"] > before.get("v2\n", 0)
    served = {r.server for r in Edge(StateDir(root, "t")).api().servers_state()}
    assert served == {f"{podman_project}_web_1", f"{podman_project}_web_2"}  # their own names
    assert [r.container for r in m.get_service_status()] == sorted(served)


def test_a_broken_start_first_update_exits_3_and_the_old_release_keeps_serving(
        edged: tuple[Path, int], podman_project: str, busybox_image: str) -> None:
    root, port = edged
    load = serving(root, port)
    write(root, busybox_image, port, "v2", serve="exec sleep 1000")  # never healthy
    with pytest.raises(RolledBack) as failed:
        ComposeManager(root, "t").start_services(timeout=60)
    load.wait_for(80)
    load.stop()
    assert failed.value.exit_code == 3
    assert load.failures == [] and set(load.snapshot()) == {"v1\n"}
    left = json.loads(commands.run(argv.ps(podman_project)).stdout)
    assert sorted(c["Names"][0] for c in left) == [f"{podman_project}_web_1",
                                                   f"{podman_project}_web_2"]


def test_a_port_added_by_an_up_reloads_the_edge_with_no_failed_request(
        edged: tuple[Path, int], podman_project: str, busybox_image: str) -> None:
    """A new published port is a new frontend: HAProxy reloads (SIGUSR2), its dynamic
    servers written into the config it reloads; the same edge process keeps serving."""
    root, port = edged
    load = serving(root, port)
    edge = Edge(StateDir(root, "t"))
    pid, second = edge.pid(), free_port()
    write(root, busybox_image, port, "v2")
    compose = root / "compose/app.yaml"
    compose.write_text(compose.read_text().replace(
        f'ports: ["127.0.0.1:{port}:8000"]',
        f'ports: ["127.0.0.1:{port}:8000", "127.0.0.1:{second}:8000"]'))
    ComposeManager(root, "t").start_services(timeout=60)
    load.wait_for(80)
    load.stop()
    assert load.failures == []
    assert edge.pid() == pid and listening(second)
    other = Load(second, clients=1, interval=0.02)
    other.wait_for(10)
    other.stop()
    assert other.failures == [] and set(other.snapshot()) == {"v2\n"}
    assert {s.server: s.state for s in edge.api().servers_state()} == {
        f"{podman_project}_web_1": State.READY, f"{podman_project}_web_2": State.READY}
