"""stop, rm, kill, pause, unpause and restart's stop act on every replica of a service
(issue 26), and their --dry-run lines say so: they named its first container only."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml

from phoenix_compose.cli.planview import (
    restart_commands,
    rm_commands,
    signal_commands,
    stop_commands,
)
from phoenix_compose.runtime import operations, ownership
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.lifecycle import stop_noted
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.statedir import StateDir

from support.planner_cases import box

BOTH = ("p_web_1", "p_web_2")


def replicated(tmp_path: Path):
    model = {"name": "p", "services": {"web": {"image": "i:1", "scale": 2}}}
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p")


def test_stop_rm_and_signals_act_on_every_replica(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    stack, calls = replicated(tmp_path), []
    monkeypatch.setattr(ownership, "mine", lambda _r, _s, st, names: {
        n: box(st, n) for n in names})
    m = SimpleNamespace(administering=lambda *_a: nullcontext(), current_stack=lambda: stack,
                        state=StateDir(tmp_path, "t"),
                        run=lambda line, **_k: calls.append(tuple(line)) or Result(
                            tuple(line), 0, "", ""))
    operations.stop(m, ["web"])
    operations.kill(m, ["web"])
    operations.pause(m, ["web"])
    operations.rm(m, ["web"], stop_first=True)
    stop_noted(m.run, m.state, stack, ["web"])
    assert [c[-2:] for c in calls] == [BOTH] * 6
    lines = [*stop_commands(stack, ["web"]), *rm_commands(stack, ["web"]),
             *signal_commands(stack, ["web"], "kill"), restart_commands(stack, ["web"])[0]]
    assert [line[-2:] for line in lines] == [BOTH] * 4
