"""The task layer in-process with invoke's MockContext: flags -> one engine call -> exit."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli import build_namespace, lifecycle, vscode
from phoenix_compose.cli import config as config_tasks
from phoenix_compose.runtime import commands
from phoenix_compose.runtime import doctor as doctor_engine

from support import FakePodman, mock_context, tree


def test_restart_of_an_unknown_service_exits_1_and_names_it(phoenix_stack: Path, capsys,
                                                             monkeypatch) -> None:
    fake = FakePodman({})
    monkeypatch.setattr(commands, "run", fake)
    with pytest.raises(Exit) as info:
        lifecycle.restart(mock_context(phoenix_stack), env="development", services="nope")
    assert info.value.code == 1
    assert "unknown service(s): nope" in capsys.readouterr().err
    assert not [c for c in fake.calls if c[:2] in (("podman", "stop"), ("podman", "start"))]


def test_vscode_tasks_check_leaves_the_file_tree_untouched(phoenix_stack: Path,
                                                           capsys) -> None:
    build_namespace(phoenix_stack)
    vscode.tasks(mock_context(phoenix_stack))  # write the file, as a developer would
    capsys.readouterr()
    for leftover in (phoenix_stack / ".phoenix").rglob("*"):
        if leftover.is_file():
            leftover.unlink()
    before = tree(phoenix_stack)
    vscode.tasks(mock_context(phoenix_stack), check=True)
    assert "is up to date" in capsys.readouterr().out
    assert tree(phoenix_stack) == before


def test_validate_all_reports_each_env_and_exits_1_when_one_is_invalid(
        phoenix_stack: Path, capsys) -> None:
    (phoenix_stack / "envs" / "broken.env").write_text("REVENUE_DB_PORT=${NOPE:?must be set}\n")
    with pytest.raises(Exit) as info:
        config_tasks.validate(mock_context(phoenix_stack), all_=True)
    out, err = capsys.readouterr()
    assert "invalid: broken: 1 error(s)" in str(info.value.message)
    assert "development: valid" in out and "prod: valid" in out
    assert "envs/broken.env:1:" in err


def test_envs_marks_production_environments(phoenix_stack: Path, capsys) -> None:
    from phoenix_compose.cli import stack

    stack.envs(mock_context(phoenix_stack))
    assert capsys.readouterr().out.splitlines() == ["development", "prod  (production)",
                                                    "staging"]


def test_doctor_reports_each_check_in_process(
        tmp_path: Path, capsys, monkeypatch) -> None:
    from phoenix_compose.runtime.commands import Result

    def fake(argv, **kwargs):
        if argv[:2] == ("podman", "run"):
            return Result(tuple(argv), 0, "", "")
        if argv[:2] == ("podman", "version"):
            return Result(tuple(argv), 0, '{"Client": {"Version": "4.3.1"}}', "")
        if argv[:2] == ("podman-compose", "version"):
            return Result(tuple(argv), 0, "podman-compose version 1.6.0\n", "")
        if argv[:2] == ("podman", "info"):
            return Result(tuple(argv), 0, '{"host": {"cgroupVersion": "v1"}}', "")
        return Result(tuple(argv), 0, "", "")

    monkeypatch.setattr(commands, "run", fake)
    # as a user, doctor also checks this host's rootless setup (its files, not podman's
    # answers: tests/runtime/test_doctor.py): here only what the fake podman says counts
    monkeypatch.setattr(doctor_engine, "rootless_checks", lambda user, fix: ([], []))
    lifecycle.doctor(mock_context(tmp_path))
    out = capsys.readouterr().out
    assert "ok   podman               4.3.1" in out and "ok   smoke container" in out
