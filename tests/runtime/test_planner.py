"""The planner without podman: (stack, snapshot) -> plan, one table row per situation.

A snapshot is plain data (``tests/support/planner_cases.py``): the containers as podman
would report them, made from an older config.  Each row is also run through ``inv plan``
and ``inv up --dry-run`` in-process with the observe step fed the same snapshot: the two
print the same plan for every row.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.runtime import ownership
from phoenix_compose.runtime.plan import Change, PlanOptions, commands, plan
from phoenix_compose.runtime.stack import Stack, load_stack

from support import mock_context
from support.planner_cases import CASES, NOW, Case, box, world


def stack_of(tmp_path: Path, text: str, name: str = "compose.yaml") -> Stack:
    path = tmp_path / name
    path.write_text(text)
    return load_stack(path, "p")


def planned(tmp_path: Path, case: Case):
    old = stack_of(tmp_path, case.old, "old.yaml")
    new = stack_of(tmp_path, case.new or case.old)
    snapshot = case.world(old)
    return new, plan(new, new.select([], case.profiles), snapshot)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_the_plan_of_each_situation(tmp_path: Path, case: Case) -> None:
    _stack, result = planned(tmp_path, case)
    assert result.summary() == case.expect
    for service, reason in case.reasons.items():
        step = next(s for s in result.steps if s.service == service)
        assert any(reason in r for r in step.reasons), (service, step.reasons)
    assert result.changes == any(v != "unchanged" for v in case.expect.values())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_inv_plan_and_up_dry_run_print_the_same_plan(make_stack, monkeypatch, capsys,
                                                     case: Case) -> None:
    """``inv plan`` and ``inv up --dry-run`` for one snapshot: the same plan lines."""
    from phoenix_compose.cli import lifecycle as cli_lifecycle
    from phoenix_compose.cli import release as cli_release
    from phoenix_compose.runtime import deploy
    from phoenix_compose.runtime.lifecycle import ComposeManager

    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\n"
                       + (f"COMPOSE_PROFILES={','.join(case.profiles)}\n" if case.profiles
                          else ""),
                       "compose/app.yaml": case.old, "compose/token.txt": "one\n"})
    snapshot = case.world(ComposeManager(root, "t").stack())  # made from the old final file
    (root / "compose" / "app.yaml").write_text(case.new or case.old)
    monkeypatch.setattr(deploy, "observe", lambda *_args, **_kw: snapshot)
    try:
        cli_release.plan(mock_context(root), env="t")
    except Exit as exc:
        assert exc.code == 2 and case.changes
    shown = capsys.readouterr().out
    cli_lifecycle.up(mock_context(root), env="t", dry_run=True)
    dry = capsys.readouterr().out
    assert shown.strip() and shown.strip() in dry
    actions = {line.split()[1]: line.split()[0] for line in shown.splitlines()[1:]
               if line.startswith("  ")}
    assert actions == case.expect
    assert ("no command would run" in dry) == (not case.changes)


def test_a_six_service_stack_after_a_change_to_s1_touches_only_s1(tmp_path: Path) -> None:
    """The measured case of issue 24: the plan and the commands name s1 and nothing else."""
    text = "services:\n" + "".join(f"  s{i}: {{image: 'img:1', environment: {{V: '1'}}}}\n"
                                   for i in range(1, 7))
    old = stack_of(tmp_path, text, "old.yaml")
    new = stack_of(tmp_path, text.replace("s1: {image: 'img:1', environment: {V: '1'}}",
                                          "s1: {image: 'img:1', environment: {V: '2'}}"))
    result = plan(new, new.order(), world(old))
    assert result.summary() == {"s1": "recreate", **{f"s{i}": "unchanged"
                                                     for i in range(2, 7)}}
    lines = commands(new, result)
    assert [line[:2] for line in lines] == [("podman", "rm"), ("podman-compose", "--in-pod"),
                                            ("podman", "start")]
    assert all(line[line.index("--") + 1:] in (("p_s1_1",), ("s1",)) for line in lines)


def test_another_owners_container_is_never_removed_and_is_named(tmp_path: Path) -> None:
    """Ours and theirs in one project: ``ownership.split`` (what observe uses) keeps theirs
    out of the plan; our orphan is removed."""
    stack = stack_of(tmp_path, "services: {web: {image: 'img:1'}}\n")
    me = ownership.Owner("p", "a" * 64, "/ours/.phoenix/t")
    found = {b.name: b for b in [box(stack, "web", owner=me.owner),
                                 box(stack, "gone", owner=me.owner),
                                 box(stack, "theirs", owner="b" * 64,
                                     working_dir="/theirs/.phoenix/t")]}
    ours, foreign = ownership.split(found, me)
    result = plan(stack, ["web"], world(stack, containers=ours, foreign=tuple(foreign)))
    assert result.summary() == {"web": "unchanged", "gone": "remove"}
    assert [f.name for f in result.foreign] == ["p_theirs_1"]
    assert "leaving them alone" in result.warnings[0]
    assert commands(stack, result)[0][-2:] == ("--", "p_gone_1")


def test_how_old_a_health_check_may_be_is_an_option(tmp_path: Path) -> None:
    stack = stack_of(tmp_path, "services: {db: {image: 'img:1', healthcheck: "
                               "{test: [CMD, 'true'], interval: 10s, timeout: 5s}}}\n")
    snapshot = world(stack, db={"health": "healthy", "checked_at": NOW - timedelta(seconds=40)})
    assert plan(stack, ["db"], snapshot).summary() == {"db": "converge-health"}
    assert plan(stack, ["db"], snapshot, PlanOptions(health_intervals=4)).summary() == {
        "db": "unchanged"}


def test_each_action_carries_its_order(tmp_path: Path) -> None:
    text = ("services:\n  db: {image: 'img:1'}\n"
            "  api: {image: 'img:1', depends_on: {db: {condition: service_started}}}\n"
            "  web: {image: 'img:1', depends_on: {api: {condition: service_started}}}\n"
            "  side: {image: 'img:1'}\n")
    stack = stack_of(tmp_path, text)
    result = plan(stack, stack.order(), world(stack, db=None, web=None, side=None))
    assert {s.service: (str(s.change), s.order) for s in result.steps} == {
        "db": ("create", 1), "side": ("create", 1), "api": ("unchanged", 0),
        "web": ("create", 1)}  # api runs already: web is made at once
    assert Change.CREATE.starts and not Change.CONVERGE_HEALTH.starts


def test_what_a_plan_changed_leaves_out_what_it_only_checked() -> None:
    """A rollback says which containers it remade: a database whose health it only checked
    (converge-health) was not recreated, and saying so would alarm for nothing."""
    from phoenix_compose.runtime.plan import Change, Plan, Step

    done = Plan("p", tuple(Step(n, c, f"p_{n}_1") for n, c in (
        ("db", Change.CONVERGE_HEALTH), ("core", Change.RECREATE), ("tool", Change.RESTART),
        ("web", Change.UNCHANGED), ("new", Change.CREATE), ("gone", Change.REMOVE),
        ("idle", Change.START))))
    assert done.changed() == ["core", "tool", "new", "gone", "idle"]
