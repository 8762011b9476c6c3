"""The watcher and the edge (issue 26, item 4), without podman or HAProxy: the pure
decisions on fake events and observations, and the act side on a fake runtime API, a fake
``podman`` and a fake clock."""

from __future__ import annotations

import json
from concurrent.futures import Future
from datetime import datetime, timezone
from pathlib import Path

import yaml

from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.edge.api import MAINT_BITS, ServerState, StatRow
from phoenix_compose.edge.model import Server, State
from phoenix_compose.errors import EdgeError
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.containers import ContainerState, ServiceState
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.runtime.startup import Clock
from phoenix_compose.statedir import StateDir
from phoenix_compose.watch.edgedecide import EdgeMove, on_event, on_observation
from phoenix_compose.watch.edgeguard import EdgeGuard
from phoenix_compose.watch.events import EventBus
from phoenix_compose.watch.observe import Observation
from phoenix_compose.watch.units import units

from support import FakeClock

STARTED = datetime(2026, 12, 7, tzinfo=timezone.utc)
REPLICAS = {"p_web_1": "web", "p_web_2": "p_web_2"}


def state(name: str = "p_web_2", status: str = "running", health: str = "healthy"
          ) -> ContainerState:
    return ContainerState(name, "web", status, health, 137 if status == "exited" else 0,
                          STARTED, 0, 0, "", ())


HEALTHY = Observation(state(), ServiceState.HEALTHY)
STARTING = Observation(state(health="starting"), ServiceState.STARTING)
CRASHED = Observation(state(status="exited"), ServiceState.STOPPED, error="exited, exit code 137")
MISSING = Observation(None, ServiceState.MISSING, error="no container")


def event(status: str, container: str = "p_web_2", type_: str = "container_event") -> dict:
    return {"type": type_, "service": "web", "status": status, "container": container}


def test_a_replica_that_dies_or_is_stopped_killed_or_removed_goes_out_on_the_event() -> None:
    for status in ("died", "stop", "kill", "remove"):
        assert on_event(event(status), REPLICAS) == EdgeMove(
            "p_web_2", "p_web_2", State.MAINT, f"podman {status}")
    assert on_event(event("died", "p_web_1"), REPLICAS).unit == "web"  # the first one


def test_other_events_and_other_containers_are_left_alone() -> None:
    assert on_event(event("start"), REPLICAS) is None
    assert on_event(event("health_status"), REPLICAS) is None
    assert on_event(event("died", "p_db_1"), REPLICAS) is None  # not behind the edge
    assert on_event(event("died", "other_web_2"), REPLICAS) is None  # another project's
    assert on_event(event("died", type_="health_changed"), REPLICAS) is None


def test_an_observation_takes_a_replica_out_that_is_not_running() -> None:
    for obs in (CRASHED, MISSING):
        move = on_observation("p_web_2", "p_web_2", obs, out=False, busy=False,
                              stack_down=True)  # a dead replica never gets traffic
        assert move is not None and move.state is State.MAINT and move.reason == obs.error


def test_a_replica_the_watcher_took_out_goes_back_once_healthy() -> None:
    args = ("p_web_2", "p_web_2")
    assert on_observation(*args, HEALTHY, out=True, busy=False, stack_down=False) == \
        EdgeMove("p_web_2", "p_web_2", State.READY, "healthy again")
    assert on_observation(*args, STARTING, out=True, busy=False, stack_down=False) is None
    assert on_observation(*args, HEALTHY, out=True, busy=True, stack_down=False) is None
    assert on_observation(*args, HEALTHY, out=True, busy=False, stack_down=True) is None
    # not taken out by the watcher (e.g. drained by up): not the watcher's to put back
    assert on_observation(*args, HEALTHY, out=False, busy=False, stack_down=False) is None


def final(tmp_path: Path) -> Path:
    model = {"name": "p", "services": {
        "web": {"image": "i:1", "deploy": {"replicas": 2}, "ports": ["127.0.0.1:8080:80"],
                "healthcheck": {"test": ["CMD", "true"], "interval": "1s"}},
        "db": {"image": "i:1", "ports": ["5432:5432"]}}}
    for_edge(model)
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(model))
    return path


def test_each_replica_is_a_unit_of_its_own(tmp_path: Path) -> None:
    found = units(load_stack(final(tmp_path)))
    assert sorted((n, u.spec.name, u.container) for n, u in found.items()) == [
        ("db", "db", "p_db_1"), ("p_web_2", "web", "p_web_2"), ("web", "web", "p_web_1")]


class FakeAPI:
    """HAProxy's runtime API as a dict of servers; every call recorded."""

    def __init__(self, servers: dict[str, tuple[int, State]]) -> None:
        self.servers = {name: (port, st) for name, (port, st) in servers.items()}
        self.calls: list[tuple] = []
        self.down = False

    def servers_state(self, backend: str | None = None) -> list[ServerState]:
        if self.down:
            raise EdgeError("edge: the runtime API did not answer")
        return [ServerState("web.80", name, "127.0.0.1", port, 2,
                            MAINT_BITS if st is State.MAINT else 0, 100)
                for name, (port, st) in self.servers.items()]

    def set_state(self, backend: str, server: str, state: State) -> None:
        self.calls.append(("set", backend, server, state))
        self.servers[server] = (self.servers[server][0], state)

    def add_server(self, backend: str, server: Server) -> None:
        self.calls.append(("add", backend, server.name, server.port))
        self.servers[server.name] = (server.port, server.state)

    def del_server(self, backend: str, server: str) -> None:
        self.calls.append(("del", backend, server))
        del self.servers[server]

    def stats(self) -> list[StatRow]:  # no session: a drain ends at once
        return [StatRow("web.80", name, 0, 0, st.value.upper(), 100, 0, 0, 0, 0, 0)
                for name, (_port, st) in self.servers.items()]


class FakePodman:
    def __init__(self, port: int = 40002) -> None:
        self.port, self.calls = port, []

    def __call__(self, argv, **_kw) -> Result:
        self.calls.append(argv)
        out = f"127.0.0.1:{self.port}\n" if argv[1] == "port" else ""
        return Result(tuple(argv), 0, out, "")


class InlinePool:
    def submit(self, fn, *args) -> Future:
        future: Future = Future()
        future.set_result(fn(*args))
        return future


def guard(tmp_path: Path, api: FakeAPI | None, podman: FakePodman | None = None
          ) -> tuple[EdgeGuard, list[dict]]:
    bus, events = EventBus(), []
    bus.subscribe(events.append)
    clock = FakeClock()
    found = EdgeGuard(load_stack(final(tmp_path)), StateDir(tmp_path, "t"),
                      podman or FakePodman(), bus, api=lambda: api,
                      clock=Clock(now=clock, sleep=clock.sleep))
    return found, events


def test_the_event_puts_the_server_in_maint_and_a_healthy_tick_brings_it_back(
        tmp_path: Path) -> None:
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.READY)})
    keeper, events = guard(tmp_path, api)
    keeper.on_event(event("died"))
    assert api.calls == [("set", "web.80", "p_web_2", State.MAINT)]
    assert keeper.out == {"p_web_2"}
    keeper.tick({"p_web_2": STARTING}, {}, False, InlinePool())  # restarted, not yet healthy
    assert len(api.calls) == 1
    keeper.tick({"p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.calls[1:] == [("set", "web.80", "p_web_2", State.READY)]
    assert keeper.out == set()
    assert [(e["type"], e["service"]) for e in events] == [("edge_out", "p_web_2"),
                                                          ("edge_in", "p_web_2")]


def test_a_recreated_replica_rejoins_at_its_new_port(tmp_path: Path) -> None:
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.READY)})
    keeper, _ = guard(tmp_path, api, FakePodman(port=40999))
    keeper.tick({"p_web_2": MISSING}, {}, False, InlinePool())
    keeper.tick({"p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.servers["p_web_2"] == (40999, State.READY)
    assert api.calls == [("set", "web.80", "p_web_2", State.MAINT),  # out when missing
                         ("set", "web.80", "p_web_2", State.DRAIN),  # the old address
                         ("set", "web.80", "p_web_2", State.MAINT),  # removed
                         ("del", "web.80", "p_web_2"),
                         ("add", "web.80", "p_web_2", 40999)]  # the new one, ready


def test_a_server_up_already_took_out_is_not_the_watchers(tmp_path: Path) -> None:
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.MAINT)})
    keeper, events = guard(tmp_path, api)
    keeper.on_event(event("died"))  # e.g. drained and stopped by a start-first up
    keeper.tick({"p_web_2": HEALTHY}, {}, True, InlinePool())  # up still holds the env
    assert api.calls == [] and keeper.out == set() and events == []


def test_a_healthy_replica_out_of_the_edge_rejoins_though_this_watcher_did_not_take_it_out(
        tmp_path: Path) -> None:
    """A watcher started after its predecessor took a replica out (``out`` is in memory),
    or whose event was missed while ``up`` deleted the dead replica's server: once the
    replica is healthy and nothing administers the stack, it is back in the edge."""
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.MAINT)})
    keeper, events = guard(tmp_path, api)
    keeper.tick({"web": Observation(state("p_web_1"), ServiceState.HEALTHY),
                 "p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.calls == [("set", "web.80", "p_web_2", State.READY)]  # p_web_1 left alone
    assert [e["type"] for e in events] == ["edge_in"]
    del api.servers["p_web_2"]  # deleted by up's sync while it was dead
    keeper.tick({"p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.calls[1:] == [("add", "web.80", "p_web_2", 40002)]
    assert api.servers["p_web_2"] == (40002, State.READY)
    calls = len(api.calls)
    keeper.tick({"p_web_2": HEALTHY}, {"p_web_2": object()}, False, InlinePool())  # healing
    keeper.tick({"p_web_2": STARTING}, {}, False, InlinePool())
    assert len(api.calls) == calls


def test_non_edged_services_and_a_stopped_edge_are_left_alone(tmp_path: Path) -> None:
    api = FakeAPI({"p_web_1": (40001, State.READY)})
    keeper, events = guard(tmp_path, api)
    keeper.on_event(event("died", "p_db_1"))
    keeper.tick({"db": CRASHED}, {}, False, InlinePool())
    assert api.calls == [] and events == []
    stopped, events = guard(tmp_path, None)  # the edge does not run
    stopped.on_event(event("died"))
    stopped.tick({"p_web_2": CRASHED}, {}, False, InlinePool())
    assert stopped.out == set() and events == []


def test_an_api_that_fails_is_a_watch_error_and_the_next_tick_tries_again(
        tmp_path: Path) -> None:
    api = FakeAPI({"p_web_2": (40002, State.READY)})
    api.down = True
    keeper, events = guard(tmp_path, api)
    keeper.on_event(event("died"))
    assert [e["type"] for e in events] == ["watch_error"]
    api.down = False
    keeper.tick({"p_web_2": CRASHED}, {}, False, InlinePool())
    assert api.calls == [("set", "web.80", "p_web_2", State.MAINT)]


def test_a_rejoin_that_finds_the_env_taken_since_its_tick_leaves_the_edge_to_up(
        tmp_path: Path) -> None:
    """The rejoin runs in the background after its tick saw nothing administering the
    stack; an ``up`` that took the env meanwhile (draining that very replica in a
    start-first roll) owns the edge: the server is not set ready behind its back."""
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.READY)})
    keeper, events = guard(tmp_path, api)
    keeper.on_event(event("died"))
    keeper.administered = lambda: True  # up took the lock after the tick below looked
    keeper.tick({"p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.calls == [("set", "web.80", "p_web_2", State.MAINT)]
    assert keeper.out == {"p_web_2"} and keeper.joining == set()  # a later tick retries
    keeper.administered = lambda: False
    keeper.tick({"p_web_2": HEALTHY}, {}, False, InlinePool())
    assert api.calls[1:] == [("set", "web.80", "p_web_2", State.READY)]


class InspectingPodman(FakePodman):
    """``podman container inspect`` answers that ``p_web_2`` is container ``holder``."""

    def __init__(self, holder: str) -> None:
        super().__init__()
        self.holder = holder

    def __call__(self, argv, **kw) -> Result:
        if tuple(argv[:3]) == ("podman", "container", "inspect"):
            self.calls.append(argv)
            return Result(tuple(argv), 0, json.dumps([{
                "Name": "p_web_2", "Id": self.holder, "State": {"Status": "running"},
                "Config": {"Labels": {}}}]), "")
        return super().__call__(argv, **kw)


def test_an_event_of_a_container_whose_name_a_new_replica_holds_now_takes_nothing_out(
        tmp_path: Path) -> None:
    """A start-first roll removes the old p_web_2, renames its new replica to p_web_2 and
    adds it ready; the old one's ``remove`` event, read after that, is about another
    container (its id): the new, healthy server stays ready."""
    api = FakeAPI({"p_web_1": (40001, State.READY), "p_web_2": (40002, State.READY)})
    keeper, events = guard(tmp_path, api, InspectingPodman("bbbb2222"))
    keeper.on_event({**event("remove"), "id": "aaaa1111"})
    assert api.calls == [] and keeper.out == set() and events == []
    same, _ = guard(tmp_path, api, InspectingPodman("aaaa1111"))
    same.on_event({**event("died"), "id": "aaaa1111"})  # the container that holds the name
    assert api.calls == [("set", "web.80", "p_web_2", State.MAINT)]
