"""One ``up`` builds its context once (issue 24): ``prepare`` runs once, the environment is
loaded once and the final compose file is read once, counted with the fake podman."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phoenix_compose import fileio
from phoenix_compose.cli import lifecycle as tasks
from phoenix_compose.config import environment, pipeline
from phoenix_compose.runtime.lifecycle import ComposeManager

from support import FakePodman, mock_context

TWO = {"envs/t.env": "COMPOSE_PROJECT_NAME=mine\n",
       "compose/a.yaml": """
           services:
             db: {image: 'd:1', healthcheck: {test: ['CMD', 'true'], interval: 1s}}
             web: {image: 'w:1', depends_on: {db: {condition: service_healthy}}}
           """}


def _count(monkeypatch: pytest.MonkeyPatch, module: Any, name: str, counts: Counter,
           key: Callable[..., str | None] = lambda *a, **k: "call",
           label: str | None = None) -> None:
    """Count the calls of ``module.name`` however it was imported (every module that bound
    the function by name sees the counting one), as ``label`` (else ``name``)."""
    original = getattr(module, name)

    def counting(*args: Any, **kwargs: Any) -> Any:
        if (what := key(*args, **kwargs)) is not None:
            counts[f"{label or name}:{what}"] += 1
        return original(*args, **kwargs)

    for mod in list(sys.modules.values()):
        if mod is not None and getattr(mod, "__name__", "").startswith("phoenix_compose") \
                and getattr(mod, name, None) is original:
            monkeypatch.setattr(mod, name, counting)


def test_one_up_prepares_loads_the_env_and_reads_the_final_file_once(
        make_stack, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """The task ``up`` (its announce line, the start, the status table) of a two-service
    stack whose final file a previous run wrote: each context step happens once."""
    root = make_stack(TWO)
    fake = FakePodman({"mine_db_1": 1, "mine_web_1": 1})
    ComposeManager(root, "t", run=fake).validate_compose_files()  # an earlier run
    monkeypatch.setattr(tasks, "manager", lambda c, env: ComposeManager(
        root, env or "t", run=fake, report=tasks.plain))
    counts = _counted(monkeypatch, root / ".phoenix" / "t" / "compose.yaml")
    tasks.up(mock_context(root), env="t")
    assert sorted(fake.started) == ["mine_db_1", "mine_web_1"]  # the up did happen
    assert "db" in capsys.readouterr().out  # and printed its status table
    assert counts == ONCE


def test_a_manager_keeps_its_project_until_told_the_config_changed(make_stack) -> None:
    """The hot reload applies a changed config with the same manager: ``forget`` makes the
    next action prepare it again."""
    root = make_stack(TWO)
    m = ComposeManager(root, "t", run=FakePodman({}))
    first = m.stack()
    (root / "compose" / "b.yaml").write_text("services: {cache: {image: 'c:1'}}\n")
    assert m.stack() is first  # one action, one project
    m.forget()
    assert sorted(m.stack().services) == ["cache", "db", "web"]


def _counted(monkeypatch: pytest.MonkeyPatch, final: Path) -> Counter:
    """The final file is read as YAML, or as its JSON form (``compose.json``) when the
    fresh cache vouches for it: either counts as one read of it."""
    counts: Counter = Counter()
    _count(monkeypatch, pipeline, "prepare", counts)
    _count(monkeypatch, environment, "load_environment", counts)
    _count(monkeypatch, fileio, "read_yaml", counts, label="read",
           key=lambda path, *a, **k: "final" if Path(path) == final else None)
    as_json = final.with_name("compose.json")
    _count(monkeypatch, fileio, "read_bytes", counts, label="read",
           key=lambda path, *a, **k: "final" if Path(path) == as_json else None)
    return counts


ONCE = Counter({"prepare:call": 1, "load_environment:call": 1, "read:final": 1})


def test_the_watcher_and_its_masker_come_from_one_project(
        make_stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """``health.watch``/``health.check`` open the monitor and the masker of one prepared
    project (the masker used to load the env and read the final file again)."""
    from phoenix_compose.watch.service import watched

    root = make_stack(TWO)
    ComposeManager(root, "t", run=FakePodman({})).validate_compose_files()  # an earlier run
    counts = _counted(monkeypatch, root / ".phoenix" / "t" / "compose.yaml")
    monitor, mask = watched(root, "t", run=FakePodman({}), heal=False)
    try:
        assert sorted(monitor.stack.services) == ["db", "web"]
        assert mask.text("plain") == "plain"
        assert counts == ONCE
    finally:
        monitor.pool.shutdown(wait=False)


def test_the_kube_export_reads_its_project_once(
        make_stack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys) -> None:
    """``deploy.kube``: its secret check takes the prepared project's environment."""
    from phoenix_compose.cli import deploy

    root = make_stack(TWO)
    ComposeManager(root, "t", run=FakePodman({})).validate_compose_files()  # an earlier run
    counts = _counted(monkeypatch, root / ".phoenix" / "t" / "compose.yaml")
    deploy.kube(mock_context(root), env="t", out=str(tmp_path / "kube"))
    assert "wrote" in capsys.readouterr().out  # the export did happen
    assert sorted(p.name for p in (tmp_path / "kube").iterdir()) == [
        "_networks.yaml", "db.yaml", "kustomization.yaml", "web.yaml"]
    assert counts == ONCE


def test_the_secret_store_takes_the_prefix_and_the_flag_of_the_project(
        make_stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """``secrets.*``: the store's prefix and driver come from the manager's project."""
    from phoenix_compose.runtime.secrets import SecretStore, driver_for

    monkeypatch.delenv("PHOENIX_SECRETS_DRIVER", raising=False)
    root = make_stack({**TWO, "envs/t.env": "COMPOSE_PROJECT_NAME=mine\n"
                                            "PHOENIX_SECRETS_PREFIX=pre\n"})
    m = ComposeManager(root, "t", run=FakePodman({}))
    stack = m.current_stack()
    counts = _counted(monkeypatch, root / ".phoenix" / "t" / "compose.yaml")
    store = SecretStore(root, "t", stack, m.run, project=m.prepared())
    assert store.prefix == "pre"
    assert driver_for(root, "t", m.run, store.project.production if store.project
                      else None).name == "file"
    assert counts == Counter()  # nothing loaded again
    assert SecretStore(root, "t", stack, m.run).prefix == "pre"  # without: it loads the env
    assert counts == Counter({"load_environment:call": 1})


@pytest.mark.parametrize("flags", [{}, {"volumes": True, "yes": True}])
def test_down_prepares_and_loads_the_env_once(make_stack, monkeypatch: pytest.MonkeyPatch,
                                              flags: dict[str, Any]) -> None:
    """``down --volumes`` asks for the production flag: the prepared project's (it used to
    load the env a second time for it)."""
    root = make_stack(TWO)
    fake = FakePodman({"mine_db_1": 1, "mine_web_1": 1})
    ComposeManager(root, "t", run=fake).validate_compose_files()  # an earlier run
    monkeypatch.setattr(tasks, "manager", lambda c, env: ComposeManager(
        root, env or "t", run=fake, report=tasks.plain))
    counts = _counted(monkeypatch, root / ".phoenix" / "t" / "compose.yaml")
    tasks.down(mock_context(root), env="t", **flags)
    down = [c for c in fake.calls if c[0] == "podman-compose"]
    assert len(down) == 1 and ("--volumes" in down[0]) == bool(flags)  # the down did happen
    assert counts == ONCE
