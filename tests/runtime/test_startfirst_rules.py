"""Start-first's pure rules (issue 26): which steps roll, which names the new replicas
take, and the batches ``parallelism`` makes."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from phoenix_compose.cli.planview import dry_run_text
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.config.rollout import UpdateConfig
from phoenix_compose.edge.api import ServerState
from phoenix_compose.errors import printable
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.plan import Plan, commands
from phoenix_compose.runtime.plan_types import Change, Step
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.runtime.startfirst import (
    StartFirst,
    free_names,
    replicas_now,
    roll_lines,
    rolling,
)
from phoenix_compose.runtime.startup import StartOptions
from phoenix_compose.statedir import StateDir

from support.planner_cases import box


def stack_of(tmp_path: Path, deploy: dict, **web: object):
    model = {"name": "p", "services": {
        "web": {"image": "i:1", "ports": ["8080:80"], "deploy": deploy, **web},
        "db": {"image": "i:1"}}}
    for_edge(model)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p")


def test_only_a_recreated_start_first_service_rolls_and_only_while_the_edge_runs(
        tmp_path: Path) -> None:
    first = stack_of(tmp_path, {"replicas": 2, "update_config": {"order": "start-first",
                                                                 "parallelism": 1}})
    steps = [Step("web", Change.RECREATE, "p_web_1"), Step("db", Change.RECREATE, "p_db_1")]
    assert rolling(first, steps, edge_runs=True) == steps[:1]
    assert rolling(first, steps, edge_runs=False) == []
    assert rolling(first, [replace(steps[0], change=Change.CREATE)], edge_runs=True) == []
    plain = stack_of(tmp_path, {"replicas": 2})  # stop-first (compose's default)
    assert rolling(plain, steps, edge_runs=True) == []


def test_new_replicas_take_the_lowest_free_names(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, {"replicas": 2, "update_config": {"order": "start-first"}})
    spec = stack.services["web"]
    assert free_names(spec, ["p_web_1", "p_web_2"]) == ["p_web_3", "p_web_4"]
    assert free_names(spec, ["p_web_2"]) == ["p_web_1", "p_web_3"]
    existing = {n: replace(box(stack, "web"), name=n) for n in ("p_web_10", "p_web_2")}
    existing["p_web_tmp1"] = replace(box(stack, "web"), name="p_web_tmp1")  # a `run` one
    existing["p_db_1"] = box(stack, "db")
    assert replicas_now(spec, existing) == ["p_web_2", "p_web_10"]


def test_the_update_config_is_typed_and_batches_by_parallelism(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, {"replicas": 3, "update_config": {
        "order": "start-first", "parallelism": 2, "delay": "1m30s",
        "failure_action": "pause", "monitor": "5s"}, "rollback_config": {"parallelism": 0}})
    spec = stack.services["web"]
    assert spec.update_config == UpdateConfig(2, 90.0, "start-first", "pause", 5.0)
    assert spec.update_config.batches(("a", "b", "c")) == [("a", "b"), ("c",)]
    assert spec.rollback_config.batches(("a", "b", "c")) == [("a", "b", "c")]
    back = spec.rollback_config
    assert back.failure_action == "rollback" and not back.start_first


def test_a_start_first_service_with_its_own_container_name_does_not_roll(
        tmp_path: Path) -> None:
    """No second container can be made beside a container_name: it is recreated."""
    stack = stack_of(tmp_path, {"update_config": {"order": "start-first"}},
                     container_name="web-main")
    assert stack.services["web"].container == "web-main"
    assert rolling(stack, [Step("web", Change.RECREATE, "web-main")], edge_runs=True) == []


class Keeper:
    """An EdgeKeeper that records podman's calls; joining is interrupted (^C)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.left: list[list[str]] = []
        self.edge = SimpleNamespace(api=lambda: None)
        self.clock = SimpleNamespace(sleep=lambda _s: None)

    def run(self, line, **_kw):
        self.calls.append(tuple(line))
        return Result(tuple(line), 0, "", "")

    def report(self, *_args) -> None:
        pass

    def join(self, *_args):
        raise KeyboardInterrupt

    def leave(self, _api, _route, _spec, old) -> None:
        self.left.append(list(old))


def test_a_start_first_update_interrupted_removes_its_new_replicas(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, {"replicas": 2, "update_config": {"order": "start-first"}})
    existing = {n: replace(box(stack, "web"), name=n) for n in ("p_web_1", "p_web_2")}
    keeper = Keeper()
    with pytest.raises(KeyboardInterrupt):
        StartFirst(keeper, 60).roll(stack, Step("web", Change.RECREATE, "p_web_1"), existing)
    assert keeper.left == [["p_web_3", "p_web_4"]]  # out of the edge, then gone
    assert ("podman", "rm", "--", "p_web_3", "p_web_4") in keeper.calls
    assert not [c for c in keeper.calls if "p_web_1" in c or "p_web_2" in c]  # the old stay


class Api:
    """The edge's runtime API: one backend of three servers, each call recorded."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.servers = ["p_web_1", "p_web_2", "p_web_3"]

    def servers_state(self):
        return [ServerState("web.80", s, "127.0.0.1", 40000 + i, 2, 0, 100)
                for i, s in enumerate(self.servers)]

    def stats(self):
        return [SimpleNamespace(backend="web.80", server=s, sessions=0) for s in self.servers]

    def set_state(self, _backend, server, state) -> None:
        self.calls.append((state.value, server))

    def del_server(self, _backend, server) -> None:
        self.calls.append(("del", server))
        self.servers.remove(server)


def test_a_replica_the_plan_removes_leaves_the_edge_before_it_goes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Scaling down: the surplus replica is drained and deleted at the edge before the
    prelude removes its container (it was removed while still a ready server)."""
    stack = stack_of(tmp_path, {"replicas": 2})
    api = Api()
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    monkeypatch.setattr(Edge, "api", lambda _self: api)
    keeper = EdgeKeeper(StateDir(tmp_path, "t"), Keeper().run, lambda *_a: None,
                        SimpleNamespace(now=lambda: 0.0, sleep=lambda _s: None))
    keeper.release(stack, ["p_web_3", "p_db_1"])
    assert api.calls == [("drain", "p_web_3"), ("maint", "p_web_3"), ("del", "p_web_3")]
    assert api.servers == ["p_web_1", "p_web_2"]


def test_up_takes_what_it_removes_out_of_the_edge_before_executing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = stack_of(tmp_path, {"replicas": 2})
    order: list[object] = []
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    monkeypatch.setattr(EdgeKeeper, "release", lambda _k, _s, gone: order.append(list(gone)))
    monkeypatch.setattr(EdgeKeeper, "sync", lambda *_a: None)
    monkeypatch.setattr(Deployer, "execute", lambda *_a: order.append("execute") or [])
    plan = Plan("p", (Step("web", Change.UNCHANGED, "p_web_1", replicas=("p_web_2",)),
                      Step("p_web_3", Change.REMOVE, "p_web_3")))
    Deployer(StateDir(tmp_path, "t"), Keeper().run, lambda *_a: None,
             SimpleNamespace()).apply(stack, plan, StartOptions(60, True))
    assert order == [["p_web_3"], "execute"]


class Passing(Keeper):
    """Every new replica joins the edge (healthy)."""

    def join(self, _api, _route, _spec, new, _timeout):
        self.calls += [("podman", "healthcheck", "run", "--", c) for c in new]
        return list(new)


def test_up_dry_run_prints_the_lines_a_start_first_roll_runs(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, {"replicas": 3, "update_config": {
        "order": "start-first", "parallelism": 2}}, healthcheck={"test": ["CMD", "true"]})
    existing = {n: replace(box(stack, "web"), name=n) for n in ("p_web_1", "p_web_2")}
    step = Step("web", Change.RECREATE, "p_web_1", replicas=("p_web_2", "p_web_3"))
    keeper = Passing()
    StartFirst(keeper, 60).roll(stack, step, existing)
    lines = [tuple(line) for line in roll_lines(stack, step, existing)]
    assert [line[:3] for line in lines] == [c[:3] for c in keeper.calls]
    assert [line for line in lines if line[1] != "healthcheck"] == [
        c for c in keeper.calls if c[1] != "healthcheck"]
    plan = Plan("p", (step, Step("db", Change.UNCHANGED, "p_db_1")), existing)
    assert not [line for line in commands(stack, plan, [step]) if "p_web_1" in line]
    text = dry_run_text("t", stack, plan, edge_runs=True)
    assert printable(lines[0]) in text and printable(lines[-1]) in text
