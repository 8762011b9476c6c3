"""The planner's replica rules (issue 26) without podman: a service with ``deploy.replicas``
(or ``scale``) is planned over all its containers, ``<project>_<service>_<i>``."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from phoenix_compose.runtime.observe import Snapshot
from phoenix_compose.runtime.plan import Change, commands, plan
from phoenix_compose.runtime.stack import Stack, load_stack

from support.planner_cases import box, world

WEB = ("services:\n  web: {image: 'img:1', deploy: {replicas: 3}, ports: ['8080:80']}\n"
       "  db: {image: 'img:1'}\n")


def stack_of(tmp_path: Path, text: str = WEB, name: str = "compose.yaml") -> Stack:
    path = tmp_path / name
    path.write_text(text)
    return load_stack(path, "p")


def with_replicas(stack: Stack, count: int, **changes: dict) -> Snapshot:
    """``world`` plus replicas 2..count of web (``changes``: per container name)."""
    snap = world(stack)
    boxes = dict(snap.containers)
    for i in range(2, count + 1):
        boxes[f"p_web_{i}"] = replace(box(stack, "web"), name=f"p_web_{i}")
    for name, change in changes.items():
        boxes[name] = replace(boxes[name], **change)
    return replace(snap, containers=boxes)


def test_the_spec_names_every_replica_as_podman_compose_does(tmp_path: Path) -> None:
    spec = stack_of(tmp_path).services["web"]
    assert (spec.replicas, spec.containers) == (3, ("p_web_1", "p_web_2", "p_web_3"))
    assert spec.edged and not stack_of(tmp_path).services["db"].edged
    scaled = stack_of(tmp_path, WEB.replace("deploy: {replicas: 3}", "scale: 2"))
    assert scaled.services["web"].containers == ("p_web_1", "p_web_2")


def test_all_replicas_running_is_unchanged(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    result = plan(stack, ["db", "web"], with_replicas(stack, 3))
    assert result.summary() == {"db": "unchanged", "web": "unchanged"}
    assert result.steps[1].containers == ("p_web_1", "p_web_2", "p_web_3")


def test_a_missing_replica_creates_and_starts_every_replica(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    result = plan(stack, ["db", "web"], with_replicas(stack, 2))
    step = next(s for s in result.steps if s.service == "web")
    assert step.change is Change.CREATE and "p_web_3 missing" in step.reasons[0]
    assert ("podman", "start", "--", "p_web_1", "p_web_2", "p_web_3") in commands(stack, result)


def test_a_changed_config_recreates_every_replica(tmp_path: Path) -> None:
    old = stack_of(tmp_path, name="old.yaml")
    new = stack_of(tmp_path, WEB.replace("ports:", "environment: {V: '2'}, ports:"))
    result = plan(new, ["db", "web"], with_replicas(old, 3))
    assert result.summary()["web"] == "recreate"
    removing = commands(new, result)[0]
    assert removing[:2] == ("podman", "rm") and removing[-3:] == ("p_web_1", "p_web_2",
                                                                  "p_web_3")


def test_a_replica_made_from_another_config_recreates(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    result = plan(stack, ["web"], with_replicas(stack, 3, p_web_2={"config_hash": "h-db"}))
    step = result.steps[0]
    assert step.change is Change.RECREATE and "p_web_2 made from another config" in step.reasons[-1]


def test_a_stopped_replica_is_started(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    result = plan(stack, ["web"], with_replicas(stack, 3, p_web_3={"status": "exited"}))
    assert result.summary() == {"web": "start"}
    assert "p_web_3 not running" in result.steps[0].reasons[0]


def test_a_replica_beyond_the_count_is_removed_by_its_own_name(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    snap = with_replicas(stack, 3)
    one_off = replace(box(stack, "web"), name="p_web_tmp123")  # a `run` container: kept
    snap = replace(snap, containers={**snap.containers, "p_web_4": replace(
        box(stack, "web"), name="p_web_4"), "p_web_tmp123": one_off})
    result = plan(stack, ["db", "web"], snap)
    assert result.summary() == {"db": "unchanged", "web": "unchanged", "p_web_4": "remove"}
    assert result.named(Change.REMOVE)[0].reasons == ("replica beyond the 3 wanted",)


def test_a_service_without_replicas_plans_one_container(tmp_path: Path) -> None:
    stack = stack_of(tmp_path)
    result = plan(stack, ["db"], world(stack))
    assert result.steps[0].containers == ("p_db_1",) and result.steps[0].replicas == ()
    assert "replicas" not in result.steps[0].as_dict()
