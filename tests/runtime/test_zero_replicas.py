"""``deploy.replicas: 0`` (issue 26): no replica is made, start-first or not (a start-first
roll made one: ``max(replicas, 1)``), the ones that exist are removed; and ``status`` of a
replica behind two routed ports shows its server in both backends."""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from phoenix_compose.cli.statusview import status_table
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.edge.api import ServerState
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import argv_compose
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.containers import ServiceState
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.edgeup import with_edge
from phoenix_compose.runtime.plan import Change, commands, plan
from phoenix_compose.runtime.plan_types import Step
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.runtime.startfirst import free_names, roll_lines
from phoenix_compose.runtime.status import ServiceStatus
from phoenix_compose.statedir import StateDir

from support.planner_cases import box, world

START_FIRST = {"replicas": 0, "update_config": {"order": "start-first"}}


def stack_of(tmp_path: Path, deploy: dict, ports: tuple[str, ...] = ("8080:80",)):
    model = {"name": "p", "services": {
        "web": {"image": "img:1", "ports": list(ports), "deploy": deploy},
        "db": {"image": "img:1"}}}
    for_edge(model)
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p"), model


def test_zero_replicas_is_scale_0_for_podman_compose_and_no_container(tmp_path: Path) -> None:
    stack, model = stack_of(tmp_path, START_FIRST)
    assert model["services"]["web"]["scale"] == 0  # podman-compose reads deploy.replicas only
    assert stack.services["web"].containers == ()  # under mode: replicated (1 without it)


def test_a_start_first_roll_to_zero_makes_no_replica_and_retires_the_old(
        tmp_path: Path) -> None:
    stack, _model = stack_of(tmp_path, START_FIRST)
    spec = stack.services["web"]
    assert free_names(spec, ["p_web_1", "p_web_2"]) == []  # was ["p_web_3"]
    existing = {n: replace(box(stack, "web"), name=n) for n in ("p_web_1", "p_web_2")}
    lines = roll_lines(stack, Step("web", Change.RECREATE, "p_web_1"), existing)
    assert not [ln for ln in lines if ln[:1] == ("podman-compose",)]  # nothing created
    assert ("podman", "rm", "--", "p_web_1", "p_web_2") in lines
    assert argv_compose.create_scaled(stack.compose_file, "p", "web", 1) not in lines


def test_zero_replicas_plans_no_create_and_removes_the_replicas_that_exist(
        tmp_path: Path) -> None:
    for deploy in (START_FIRST, {"replicas": 0}):
        stack, _model = stack_of(tmp_path, deploy)
        snap = world(stack)
        none = {n: s for n, s in snap.containers.items() if not n.startswith("p_web")}
        fresh = plan(stack, ["db", "web"], replace(snap, containers=none))
        assert fresh.summary() == {"db": "unchanged", "web": "unchanged"}
        assert not [c for c in commands(stack, fresh) if "web" in " ".join(c)]
        boxes = {**snap.containers, **{n: replace(box(stack, "web"), name=n)
                                       for n in ("p_web_1", "p_web_2")}}
        lowered = plan(stack, ["db", "web"], replace(snap, containers=boxes))
        assert lowered.summary() == {"db": "unchanged", "web": "unchanged",
                                     "p_web_1": "remove", "p_web_2": "remove"}


class _API:
    def servers_state(self) -> list[ServerState]:
        return [ServerState("web.80", "p_web_1", "127.0.0.1", 40001, 2, 0, 100),
                ServerState("web.443", "p_web_1", "127.0.0.1", 40002, 2, 0x08, 50)]


def test_status_of_a_replica_behind_two_routed_ports_shows_both(tmp_path: Path,
                                                                 monkeypatch) -> None:
    monkeypatch.setattr(Edge, "pid", lambda _self: 4321)
    monkeypatch.setattr(Edge, "api", lambda _self: _API())
    row = ServiceStatus("web", "p_web_1", "running", ServiceState.HEALTHY, 5.0, 0, ())
    rows, notes = with_edge(StateDir(tmp_path, "t"), [row])
    assert rows[0].at_edge == ("web.80: ready (weight 100)", "web.443: drain (weight 50)")
    assert (rows[0].edge, rows[0].weight) == ("ready", 100)
    assert "2 server(s)" in notes[0]
    assert "edge: web.80: ready (weight 100), web.443: drain (weight 50)" in \
        status_table(rows)


def test_start_and_restart_of_a_service_of_zero_replicas_run_no_empty_podman_line(
        tmp_path: Path) -> None:
    """``inv start web``/``inv restart web`` of ``replicas: 0``: nothing to stop or start
    (``podman start --`` with no name is podman's error, and failed the start)."""
    from phoenix_compose.runtime.lifecycle import stop_noted
    from phoenix_compose.runtime.startup import Clock, Startup

    from support import FakeClock, FakePodman, SyncExecutor, judged

    stack, _model = stack_of(tmp_path, {"replicas": 0})
    fake = FakePodman({})

    def podman(line, **kw):
        if line[-1] == "--":  # podman's own refusal: a name is required
            return judged(Result(tuple(line), 125, "", "Error: requires at least 1 arg(s)"),
                          kw.get("ok_codes", (0,)), kw.get("tolerate", ()))
        return fake(line, **kw)

    clock = FakeClock()
    stop_noted(podman, StateDir(tmp_path, "t"), stack, ["web"])
    done = Startup(stack, ["web"], run=podman, report=lambda *r: None,
                   clock=Clock(clock, clock.sleep_after_creation),
                   executor=SyncExecutor).execute()
    assert [p.ready for p in done] == [True]
    assert not [c for c in fake.calls if c[:2] in (("podman", "start"), ("podman", "stop"))]


def test_a_service_of_zero_replicas_publishes_nothing_so_its_port_may_be_busy(
        tmp_path: Path) -> None:
    from phoenix_compose.runtime.startup.preflight import check_ports

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        taken = f"127.0.0.1:{busy.getsockname()[1]}:80"
        zero, _ = stack_of(tmp_path, {"replicas": 0}, ports=(taken,))
        check_ports([zero.services["web"]], {})  # no container: nothing to bind
        one, _ = stack_of(tmp_path, {"replicas": 1}, ports=(taken,))
        with pytest.raises(ComposeRuntimeError, match="host port already in use"):
            check_ports([one.services["web"]], {})


def test_the_plan_of_a_level_scaled_to_zero_shows_no_empty_start(tmp_path: Path) -> None:
    """The start loop runs no ``podman start --`` for it, so ``--dry-run``/``inv plan``
    show none either (they showed one)."""
    from phoenix_compose.runtime.startup.creation import start_lines

    stack, _model = stack_of(tmp_path, {"replicas": 0})
    lines = start_lines(stack, ["web"], ())
    assert [line[:2] for line in lines] == [("podman-compose", "--in-pod")]
