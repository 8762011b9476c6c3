"""The edge on a real HAProxy (no podman): two or three tiny Python backends behind it, a
load of 4 clients each sending a GET every 20 ms, and, during the load, each change the
edge must make without a failed request.  The assertion is the count of failed requests
(0), never a duration; the load's progress is counted in requests."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from phoenix_compose.edge import drain
from phoenix_compose.edge.model import Backend as EdgeBackend
from phoenix_compose.edge.model import EdgeConfig, Frontend, Server, State
from phoenix_compose.errors import EdgeError
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.procs import proc_stat
from phoenix_compose.statedir import StateDir

from support import free_port
from support.edgeload import Backend, Load

pytestmark = [pytest.mark.haproxy, pytest.mark.slow]  # real HAProxy under load: seconds


def _config(edge: Edge, port: int, backends: list[Backend]) -> EdgeConfig:
    servers = tuple(Server(b.name, "127.0.0.1", b.port) for b in backends)
    return EdgeConfig(socket=edge.socket, frontends=(Frontend("web_80", port, "web"),),
                      backends=(EdgeBackend("web", servers),))


@pytest.fixture
def backends() -> Iterator[list[Backend]]:
    made = [Backend("web_1"), Backend("web_2")]
    yield made
    for backend in made:
        backend.stop()


@pytest.fixture
def edge(tmp_path: Path, backends: list[Backend]) -> Iterator[tuple[Edge, int]]:
    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    port = free_port()
    edge.start(_config(edge, port, backends))
    yield edge, port
    edge.stop()
    assert edge.pid() is None


@pytest.fixture
def load(edge: tuple[Edge, int]) -> Iterator[Load]:
    running = Load(edge[1], clients=4, interval=0.02)
    running.wait_for(40)  # steady before the change
    yield running
    running.stop()


def _after(load: Load, more: int = 80) -> None:
    load.wait_for(more)
    load.stop()
    assert load.failures == []


def test_a_server_added_during_the_load_takes_requests_with_no_failure(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    api = edge[0].api()
    third = Backend("web_3")
    backends.append(third)
    api.add_server("web", Server("web_3", "127.0.0.1", third.port))
    _after(load)
    assert third.hits > 0
    assert {r.server: r.state for r in api.servers_state("web")}["web_3"] is State.READY


def test_a_drained_and_removed_server_gets_nothing_more_and_no_request_fails(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    api = edge[0].api()
    result = drain.remove(api, "web", "web_1", grace=10)
    assert result.clean
    hits = backends[0].hits
    _after(load)
    assert backends[0].hits == hits  # nothing reached it after its removal
    assert [r.server for r in api.servers_state("web")] == ["web_2"]


def test_a_backend_killed_abruptly_is_hidden_by_retries_on_the_other(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    api = edge[0].api()
    backends[0].kill()  # no drain, no state change: only the retries stand in the way
    _after(load, 120)
    row = next(r for r in api.stats() if r.server == "web_1")
    assert row.redispatches > 0  # requests did go to the dead one, and were redispatched
    assert backends[1].hits > 0


def test_weights_change_during_the_load_with_no_failure(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    api = edge[0].api()
    api.set_weight("web", "web_1", 0)
    load.wait_for(8)  # a request already sent to web_1 when its weight changed is done
    before = backends[0].hits
    load.wait_for(60)
    assert backends[0].hits == before  # weight 0: no new request
    api.set_weight("web", "web_1", 200)
    _after(load)
    assert backends[0].hits > before
    assert {r.server: r.weight for r in api.servers_state("web")} == {"web_1": 200,
                                                                      "web_2": 100}


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _haproxy_pids(config: Path) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/cmdline", "rb") as handle:
                args = handle.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        stat = proc_stat(int(entry.name))
        if str(config) in args and stat is not None and stat[0] != "Z":
            found.append(int(entry.name))
    return found


def test_stop_leaves_no_process_socket_or_listener_and_start_finds_it_again(
        tmp_path: Path, backends: list[Backend]) -> None:
    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    port = free_port()
    pid = edge.start(_config(edge, port, backends))
    assert edge.start(_config(edge, port, backends)) == pid  # found again, not restarted
    assert Edge(StateDir(tmp_path / "s", "e2e")).pid() == pid
    assert len(_haproxy_pids(edge.config_file)) == 2  # the master and its worker
    assert _listens(port)
    assert edge.stop()
    assert _haproxy_pids(edge.config_file) == []
    assert not _listens(port)
    assert not Path(edge.socket).exists() and not edge.record.exists()
    assert not edge.stop()  # nothing runs: nothing to stop


def test_a_planted_record_never_names_another_process(tmp_path: Path) -> None:
    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    edge.folder.mkdir(parents=True)
    stat = proc_stat(os.getpid())
    assert stat is not None
    edge.record.write_text(f'{{"pid": {os.getpid()}, "start": {stat[2]}}}\n')
    assert edge.pid() is None  # this pytest is not haproxy on this env's config
    assert not edge.stop()


def test_a_config_haproxy_refuses_is_never_started(tmp_path: Path,
                                                   backends: list[Backend]) -> None:
    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    port = free_port()
    with socket.socket() as taken:  # the port is another program's: haproxy cannot bind
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(EdgeError, match="did not start"):
            edge.start(_config(edge, port, backends))
    assert edge.pid() is None and _haproxy_pids(edge.config_file) == []


def test_the_runtime_api_refusals_are_edge_errors(edge: tuple[Edge, int]) -> None:
    api = edge[0].api()
    with pytest.raises(EdgeError, match="Only servers in maintenance mode"):
        api.del_server("web", "web_1")
    with pytest.raises(EdgeError, match="No such server"):
        api.set_state("web", "web_9", State.DRAIN)
    api.set_state("web", "web_2", State.DRAIN)
    assert {r.server: r.state for r in api.servers_state()} == {"web_1": State.READY,
                                                                "web_2": State.DRAIN}


def test_every_shape_of_the_generated_config_passes_haproxy_check(tmp_path: Path) -> None:
    from phoenix_compose.edge.model import Mode, Timeouts

    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    config = EdgeConfig(
        socket=edge.socket,
        frontends=(Frontend("web_80", 18080, "web"), Frontend("web_443", 18443, "web", "::1"),
                   Frontend("db_5432", 15432, "db", "127.0.0.2")),
        backends=(EdgeBackend("web", (Server("web_1", "127.0.0.1", 8081, 0),
                                      Server("web.2", "::1", 8082, 256, State.MAINT))),
                  EdgeBackend("db", (Server("db-1", "10.88.0.9", 5432),), mode=Mode.TCP),
                  EdgeBackend("empty")),
        timeouts=Timeouts(connect=1, client=86400000))
    text = edge.check(config)
    assert "backend empty" in text
    assert not edge.config_file.exists()  # checked only: nothing the edge would read


def test_a_drain_waits_for_the_request_in_flight_and_new_ones_go_elsewhere(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    import http.client
    import threading

    api, port = edge[0].api(), edge[1]
    answers: list[tuple[int, str]] = []

    def slow() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/slow")
        response = conn.getresponse()
        answers.append((response.status, response.read().decode()))
        conn.close()

    client = threading.Thread(target=slow)
    client.start()
    while not any(b.held for b in backends):  # the request is in a backend now
        load.wait_for(1)
    busy = next(b for b in backends if b.held)
    results: list[drain.Drained] = []
    draining = threading.Thread(target=lambda: results.append(
        drain.drain(api, "web", busy.name, grace=60)))
    draining.start()
    load.wait_for(40)  # the load goes on; the drain waits for the held request
    hits = busy.hits
    assert draining.is_alive() and results == []
    assert {r.server: r.state for r in api.servers_state("web")}[busy.name] is State.DRAIN
    busy.release.set()
    draining.join(30)
    client.join(30)
    assert results == [drain.Drained(clean=True, left=0)]
    assert answers == [(200, busy.name)]  # the request in flight finished on its server
    assert busy.hits == hits + 1  # and it was the only one the drained server took
    _after(load)


def test_an_edge_folder_that_is_a_link_is_refused_and_nothing_is_written_through_it(
        tmp_path: Path, backends: list[Backend]) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    edge = Edge(StateDir(tmp_path / "s", "e2e"))
    edge.folder.parent.mkdir(parents=True)
    edge.folder.symlink_to(elsewhere)  # a repository can ship .phoenix/<env>/edge
    with pytest.raises(EdgeError, match="symbolic link"):
        edge.start(_config(edge, free_port(), backends))
    assert list(elsewhere.iterdir()) == [] and edge.pid() is None


def test_a_stack_too_deep_for_haproxys_socket_runs_its_edge_on_a_private_short_one(
        tmp_path: Path, backends: list[Backend], monkeypatch) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="pe-", dir="/tmp"))  # short: pytest's tmp is not
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    edge = Edge(StateDir(tmp_path / ("d" * 60) / ("e" * 60), "e2e"))
    port = free_port()
    edge.start(_config(edge, port, backends))
    try:
        assert Path(edge.socket).parent == runtime / "phoenix-edge"
        assert {s.server for s in edge.api().servers_state()} == {"web_1", "web_2"}
        assert _listens(port)
    finally:
        assert edge.stop()
        shutil.rmtree(runtime, ignore_errors=True)
    assert not Path(edge.socket).exists()


def test_a_reload_adds_a_frontend_keeps_the_servers_and_fails_no_request(
        edge: tuple[Edge, int], backends: list[Backend], load: Load) -> None:
    running, port = edge
    pid, second = running.pid(), free_port()
    running.api().set_state("web", "web_2", State.MAINT)
    servers = tuple(Server(b.name, "127.0.0.1", b.port, state=State.MAINT if b.name == "web_2"
                           else State.READY) for b in backends)
    running.reload(EdgeConfig(socket=running.socket, frontends=(
        Frontend("web_80", port, "web"), Frontend("web_81", second, "web")),
        backends=(EdgeBackend("web", servers),)))
    assert running.pid() == pid  # the same master, found again (its command line grew)
    assert _listens(second)
    assert {s.server: s.state for s in running.api().servers_state()} == {
        "web_1": State.READY, "web_2": State.MAINT}
    _after(load)
    assert running.stop() and not _listens(second)
