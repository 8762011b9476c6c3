"""``restart``, ``secrets.rotate`` and ``certs.init --force`` of a start-first service behind
the running edge go through the start-first roll (issue 26): which services, with every
replica's state, and the others left to the stop-first path.  Fake runner, no podman."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from phoenix_compose.cli.planview import restart_commands
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.runtime import rotate
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.plan_types import Change
from phoenix_compose.runtime.restartfirst import replace_start_first
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.statedir import StateDir


def stack_of(tmp_path: Path):
    model = {"name": "p", "services": {
        "web": {"image": "i:1", "ports": ["8080:80"], "deploy": {
            "replicas": 2, "update_config": {"order": "start-first"}}},
        "api": {"image": "i:1", "ports": ["8081:80"], "deploy": {"replicas": 2}},
        "db": {"image": "i:1"}}}
    for_edge(model)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p")


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[str, ...]] = []
    plans: list = []

    def run(line, **_kw):
        calls.append(tuple(line))
        return Result(tuple(line), 0, "[]", "")

    monkeypatch.setattr(Deployer, "apply", lambda _d, _s, plan, _o, **_k: plans.append(plan))
    deployer = Deployer(StateDir(tmp_path, "t"), run, lambda *_a: None, SimpleNamespace())
    return SimpleNamespace(deployer=deployer, calls=calls, plans=plans)


def test_restart_replaces_only_a_start_first_service_and_only_while_the_edge_runs(
        tmp_path: Path, applied, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = stack_of(tmp_path)
    monkeypatch.setattr(Edge, "pid", lambda _self: None)
    assert replace_start_first(applied.deployer, stack, ["web", "api", "db"], 60,
                               "restarted") == ["web", "api", "db"]
    assert applied.plans == []  # no edge: every one restarts stop-first, as before
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    rest = replace_start_first(applied.deployer, stack, ["web", "api", "db"], 60, "restarted")
    assert rest == ["api", "db"]  # api: replicas, stop-first updates; db: not edged
    [plan] = applied.plans
    assert [(s.service, s.change, s.containers) for s in plan.steps] == [
        ("web", Change.RECREATE, ("p_web_1", "p_web_2"))]
    inspected = [c for c in applied.calls if c[:3] == ("podman", "container", "inspect")]
    assert inspected and {"p_web_1", "p_web_2"} <= set(inspected[0])


def test_a_rotation_recreates_every_replica_of_its_consumers(
        tmp_path: Path, applied, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    rotate.recreate(applied.deployer, stack_of(tmp_path), ["web", "db"], 60)
    [plan] = applied.plans  # given to Deployer.apply, whose `rolling` takes web start-first
    assert [(s.service, s.containers) for s in plan.steps] == [
        ("web", ("p_web_1", "p_web_2")), ("db", ("p_db_1",))]
    assert all(s.change is Change.RECREATE for s in plan.steps)


def test_restart_dry_run_shows_the_roll_of_a_start_first_service_behind_the_edge(
        tmp_path: Path, applied, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = stack_of(tmp_path)
    monkeypatch.setattr(Edge, "pid", lambda _self: None)
    plain = restart_commands(stack, ["web", "db"], applied.deployer)
    assert plain[0] == ("podman", "stop", "--time", "10", "--", "p_web_1", "p_web_2", "p_db_1")
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    rolled = restart_commands(stack, ["web", "db"], applied.deployer)
    assert "--scale" in rolled[0] and "web" in rolled[0][-1]  # web's new replicas first
    stops = [line for line in rolled if line[:2] == ("podman", "stop")]
    assert stops == [("podman", "stop", "--time", "10", "--", "p_db_1")]  # db: as before
