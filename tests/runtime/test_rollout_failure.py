"""``failure_action`` (rollback, pause, continue), ``monitor`` and ``rollback_config`` of a
start-first roll (issue 26): the decisions on a fake keeper (podman's calls recorded, the
edge's join failing for chosen replicas) and a fake clock (ticks, never wall time)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from phoenix_compose import api
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.config.rollout import UpdateConfig
from phoenix_compose.errors import ComposeRuntimeError, ConfigurationError, RolloutStopped
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.edgeup import EdgeKeeper
from phoenix_compose.runtime.monitor import watch
from phoenix_compose.runtime.plan import Plan
from phoenix_compose.runtime.plan_types import Change, Step
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.runtime.startfirst import Outcome, StartFirst, renames, rollout_of
from phoenix_compose.runtime.startup import StartOptions
from phoenix_compose.statedir import StateDir

from support.planner_cases import box

HEALTH = {"test": ["CMD", "true"], "interval": "2s", "retries": 3}


def stack_of(tmp_path: Path, deploy: dict, **web: object):
    model = {"name": "p", "services": {
        "web": {"image": "i:1", "ports": ["8080:80"], "deploy": deploy, **web}}}
    for_edge(model)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p")


class Clock:
    def __init__(self) -> None:
        self.t, self.ticks = 0.0, 0

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += seconds
        self.ticks += 1


class Keeper:
    """Records podman's calls and the edge's joins and leaves; ``failing`` never joins,
    ``sick`` joins, then fails every health check after it (the monitor's case)."""

    def __init__(self, failing: tuple[str, ...] = (), sick: tuple[str, ...] = ()) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.joined: list[str] = []
        self.left: list[str] = []
        self.failing, self.sick = failing, sick
        self.edge = SimpleNamespace(api=lambda: None)
        self.clock = Clock()

    def run(self, line, **_kw):
        self.calls.append(tuple(line))
        bad = line[1] == "healthcheck" and line[-1] in self.sick
        return Result(tuple(line), 1 if bad else 0, "", "")

    def report(self, *_args) -> None:
        pass

    def join(self, _api, _route, spec, new, _timeout):
        if set(new) & set(self.failing):
            raise ComposeRuntimeError(f"replica {new[0]} of service '{spec.name}' never "
                                      "became healthy: it got no traffic")
        self.joined += new
        return list(new)

    def leave(self, _api, _route, _spec, old) -> None:
        self.left += old

    def removed(self) -> list[str]:
        return [c for line in self.calls if line[:2] == ("podman", "rm") for c in line[3:]]

    def renamed(self) -> list[tuple[str, str]]:
        return [(line[3], line[4]) for line in self.calls if line[1] == "rename"]


def roll(tmp_path: Path, action: str, keeper: Keeper, replicas: int = 3, **update):
    stack = stack_of(tmp_path, {"replicas": replicas, "update_config": {
        "order": "start-first", "parallelism": 1, "failure_action": action, **update}},
        healthcheck=HEALTH)
    old = [f"p_web_{i}" for i in range(1, replicas + 1)]
    existing = {n: replace(box(stack, "web"), name=n) for n in old}
    step = Step("web", Change.RECREATE, "p_web_1", replicas=tuple(old[1:]))
    return StartFirst(keeper, 60).roll(stack, step, existing)  # type: ignore[arg-type]


def test_the_failure_actions_decide_what_goes_and_what_stays() -> None:
    news, olds = [("n1",), ("n2",), ("n3",)], [("o1",), ("o2",), ("o3",)]
    back = UpdateConfig(failure_action="rollback").on_failure(1, news, olds)
    assert (back.drop, back.keep, back.stop) == (("n1", "n2", "n3"), (), True)
    paused = UpdateConfig(failure_action="pause").on_failure(1, news, olds)
    assert (paused.drop, paused.keep, paused.stop) == (("n2", "n3"), ("o2", "o3"), True)
    went_on = UpdateConfig(failure_action="continue").on_failure(1, news, olds)
    assert (went_on.drop, went_on.keep, went_on.stop) == (("n2",), ("o2",), False)


def test_new_replicas_take_the_names_the_kept_old_ones_do_not_hold() -> None:
    finals = ["p_w_1", "p_w_2", "p_w_3"]
    assert renames(["p_w_4", "p_w_5", "p_w_6"], finals, ()) == [
        ("p_w_4", "p_w_1"), ("p_w_5", "p_w_2"), ("p_w_6", "p_w_3")]
    assert renames(["p_w_4"], finals, ["p_w_2", "p_w_3"]) == [("p_w_4", "p_w_1")]
    assert renames(["p_w_2", "p_w_3"], ["p_w_1", "p_w_2"], ()) == [("p_w_3", "p_w_1")]


def test_pause_keeps_the_replaced_and_the_old_remaining_and_removes_the_rest(
        tmp_path: Path) -> None:
    keeper = Keeper(failing=("p_web_5",))
    outcome = roll(tmp_path, "pause", keeper)
    assert keeper.joined == ["p_web_4"]  # batch 1 replaced p_web_1; batch 2 failed
    assert keeper.removed() == ["p_web_1", "p_web_5", "p_web_6"]  # p_web_6 never started
    assert ("podman", "start", "--", "p_web_6") not in keeper.calls
    assert keeper.renamed() == [("p_web_4", "p_web_1")]
    assert outcome == Outcome("web", ("p_web_1",), ("p_web_2", "p_web_3"),
                              (outcome.failures[0],), paused=True)
    assert "p_web_5" in outcome.failures[0]


def test_continue_removes_a_failed_batch_keeps_its_old_replica_and_goes_on(
        tmp_path: Path) -> None:
    keeper = Keeper(failing=("p_web_5",))
    outcome = roll(tmp_path, "continue", keeper)
    assert keeper.joined == ["p_web_4", "p_web_6"]
    assert keeper.removed() == ["p_web_1", "p_web_5", "p_web_3"]  # p_web_2 kept serving
    assert keeper.renamed() == [("p_web_4", "p_web_1"), ("p_web_6", "p_web_3")]
    assert (outcome.new, outcome.kept, outcome.paused) == (("p_web_1", "p_web_3"),
                                                           ("p_web_2",), False)
    assert len(outcome.failures) == 1


def test_rollback_removes_every_new_replica_and_raises(tmp_path: Path) -> None:
    keeper = Keeper(failing=("p_web_5",))
    with pytest.raises(ComposeRuntimeError, match="p_web_5"):
        roll(tmp_path, "rollback", keeper)
    assert sorted(keeper.removed()) == ["p_web_1", "p_web_4", "p_web_5", "p_web_6"]
    assert keeper.renamed() == []


def test_a_failure_within_monitor_fails_the_batch_before_its_old_one_is_retired(
        tmp_path: Path) -> None:
    keeper = Keeper(sick=("p_web_4",))
    outcome = roll(tmp_path, "pause", keeper, replicas=2, monitor="30s")
    assert keeper.joined == ["p_web_3", "p_web_4"]  # p_web_4 joined, then failed
    assert keeper.removed() == ["p_web_1", "p_web_4"]  # p_web_2 was never retired
    assert "monitor of 30s" in outcome.failures[0] and outcome.kept == ("p_web_2",)


def test_watch_needs_retries_failures_in_a_row_and_ends_after_monitor(
        tmp_path: Path) -> None:
    spec = stack_of(tmp_path, {}, healthcheck=HEALTH).services["web"]
    answers = iter([1, 1, 0, 1, 1, 0, 1, 1, 0, 1, 1, 0])  # never 3 in a row
    clock = Clock()
    watch(lambda line, **_k: Result(tuple(line), next(answers), "", ""), clock, spec,
          ["c"], 20.0)
    assert clock.ticks == 10 and clock.t == 20.0  # every interval (2s), 20s in all
    answers = iter([0, 1, 1, 1])
    with pytest.raises(ComposeRuntimeError, match="3 time"):
        watch(lambda line, **_k: Result(tuple(line), next(answers), "", ""), Clock(), spec,
              ["c"], 20.0)


def test_an_update_rolls_with_update_config_and_a_rollback_with_rollback_config(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    update = {"order": "start-first", "parallelism": 2, "failure_action": "continue"}
    back = {"order": "start-first", "parallelism": 1, "monitor": "5s"}
    spec = stack_of(tmp_path, {"replicas": 2, "update_config": update,
                               "rollback_config": back}).services["web"]
    assert rollout_of(spec) == UpdateConfig(2, 0.0, "start-first", "continue", 0.0)
    assert rollout_of(spec, rollback=True) == UpdateConfig(1, 0.0, "start-first",
                                                           "rollback", 5.0)
    alone = stack_of(tmp_path, {"replicas": 2, "update_config": update})
    assert rollout_of(alone.services["web"], rollback=True) == rollout_of(
        alone.services["web"])  # none written: the update's own
    stack = stack_of(tmp_path, {"replicas": 2, "update_config": update,
                                "rollback_config": back})
    used: list[UpdateConfig] = []
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    monkeypatch.setattr(EdgeKeeper, "sync", lambda *_a: None)
    monkeypatch.setattr(EdgeKeeper, "release", lambda *_a: None)
    monkeypatch.setattr(Deployer, "execute", lambda *_a: [])
    monkeypatch.setattr(StartFirst, "roll", lambda _s, _st, step, _e, config: used.append(
        config) or Outcome(step.service))
    plan = Plan("p", (Step("web", Change.RECREATE, "p_web_1", replicas=("p_web_2",)),))
    deployer = Deployer(StateDir(tmp_path, "t"), Keeper().run, lambda *_a: None, Clock())
    deployer.apply(stack, plan, StartOptions(60, True))
    deployer.apply(stack, plan, StartOptions(60, True), rollback=True)
    assert used == [stack.services["web"].update_config, stack.services["web"].rollback_config]


def test_a_paused_roll_raises_exit_3_naming_what_serves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stack = stack_of(tmp_path, {"replicas": 2, "update_config": {"order": "start-first"}})
    monkeypatch.setattr(Edge, "pid", lambda _self: 4242)
    monkeypatch.setattr(EdgeKeeper, "sync", lambda *_a: None)
    monkeypatch.setattr(EdgeKeeper, "release", lambda *_a: None)
    monkeypatch.setattr(Deployer, "execute", lambda *_a: [])
    remembered: list[tuple] = []
    monkeypatch.setattr(Deployer, "remember", lambda _d, _s, names, made_as=(): remembered
                        .append((list(names), list(made_as))))
    monkeypatch.setattr(StartFirst, "roll", lambda *_a: Outcome(
        "web", ("p_web_1",), ("p_web_2",), ("replica p_web_4 never became healthy",), True))
    plan = Plan("p", (Step("web", Change.RECREATE, "p_web_1", replicas=("p_web_2",)),))
    with pytest.raises(RolloutStopped) as stopped:
        Deployer(StateDir(tmp_path, "t"), Keeper().run, lambda *_a: None, Clock()).apply(
            stack, plan, StartOptions(60, True))
    assert stopped.value.exit_code == 3
    text = str(stopped.value)
    assert "paused" in text and "p_web_4" in text and "still on the old config: p_web_2" \
        in text and "run `inv up` again" in text
    assert remembered == [(["web"], ["p_web_1"])]  # from a new replica, never the old one


def test_an_unknown_failure_action_is_a_located_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("services:\n  web:\n    image: i:1\n    deploy:\n      update_config:\n"
                    "        failure_action: pasue\n      rollback_config:\n"
                    "        failure_action: pause\n")
    with pytest.raises(ConfigurationError) as info:
        api.load_project([path], {}, validate=True)
    [problem] = info.value.problems
    assert "c.yaml:6:" in str(problem) and "'pasue'" in str(problem)
