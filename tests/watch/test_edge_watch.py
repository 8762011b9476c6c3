"""The watcher keeps the count (issue 26, item 4), on real podman and HAProxy: a
two-replica busybox httpd service behind the edge under the watcher, 4 clients each
sending a GET every 20 ms through the edge.  A replica whose main process is killed from
the host is taken out of the edge on podman's ``died`` event, restarted, and put back
``ready`` once healthy; one stopped with ``podman kill`` is taken out and stays stopped.
Each with 0 failed requests.  Counts and event order, never durations."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from phoenix_compose.edge.model import State
from phoenix_compose.runtime import argv_compose, commands, containers
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.statedir import StateDir

from support.edgeload import Load
from support.edgestack import write
from support.watching import Watcher, is_type

pytestmark = [pytest.mark.podman, pytest.mark.slow, pytest.mark.haproxy]


def servers(root: Path) -> dict[str, State]:
    return {s.server: s.state for s in Edge(StateDir(root, "t")).api().servers_state()}


def state(container: str) -> containers.ContainerState:
    return containers.inspect(commands.run, [container])[container]


def watching(edged: tuple[Path, int], up, project: str) -> tuple[Watcher, Load]:
    root, port = edged
    w = up(root, interval=1)
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == f"{project}_web_2"
               and e["to"] == "healthy", 20)
    assert servers(root) == {f"{project}_web_1": State.READY, f"{project}_web_2": State.READY}
    load = Load(port, clients=4, interval=0.02)
    load.wait_for(40)
    return w, load


@pytest.mark.parametrize("rolled", [False, True], ids=["fresh", "after-a-start-first-roll"])
def test_a_replica_killed_from_the_host_leaves_the_edge_at_once_and_comes_back(
        edged: tuple[Path, int], up, podman_project: str, busybox_image: str,
        rolled: bool) -> None:
    """After a start-first roll the replica's name once named an old container that the
    roll stopped (died, two cleanups): that stop is not this one's."""
    root, port = edged
    if rolled:
        ComposeManager(root, "t").start_services(timeout=60)
        write(root, busybox_image, port, "v2")  # `up` below rolls v1 -> v2, renaming
    w, load = watching(edged, up, podman_project)
    victim = f"{podman_project}_web_2"  # the unit named after its container
    pid = state(victim).pid
    assert pid > 0
    os.kill(pid, signal.SIGKILL)  # `kill -9 PID` from the host: a crash, no podman event
    out = w.wait_for(is_type("edge_out", victim), 20)
    assert out["reason"] == "podman died"  # on the event, not at a tick's look
    restarted = w.wait_for(is_type("restart_succeeded", victim), 30)
    back = w.wait_for(is_type("edge_in", victim), 30)
    order = [w.events.index(e) for e in (out, restarted, back)]
    assert order == sorted(order)
    load.wait_for(80)
    load.stop()
    assert load.failures == []
    assert servers(root) == {f"{podman_project}_web_1": State.READY, victim: State.READY}
    assert state(victim).running and state(victim).pid != pid
    assert w.of("edge_out", "web") == []  # the other replica was never touched


def test_a_replica_stopped_with_podman_kill_leaves_the_edge_and_stays_stopped(
        edged: tuple[Path, int], up, podman_project: str, ticks) -> None:
    root, _port = edged
    w, load = watching(edged, up, podman_project)
    victim = f"{podman_project}_web_1"  # the unit named after the service
    commands.run(argv_compose.kill(victim))
    out = w.wait_for(is_type("edge_out", "web"), 20)
    assert out["container"] == victim and out["reason"] in ("podman kill", "podman died")
    w.wait_for(lambda e: e["type"] == "health_changed" and e["service"] == "web"
               and e["to"] == "stopped", 20)
    ticks.wait(3)  # three more decisions about it: none restarts it
    load.wait_for(80)
    load.stop()
    assert load.failures == []
    assert servers(root) == {victim: State.MAINT, f"{podman_project}_web_2": State.READY}
    assert not state(victim).running
    assert w.of("restart_started", "web") == [] and w.of("edge_in", "web") == []
