"""Which dependents a restart cascades to: depends_on entries with restart: true,
transitively, in dependency order (the Phoenix stack's own config included)."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.watch.cascade import dependents

from support import REPO


def spec(name: str, deps: dict) -> ServiceSpec:
    return ServiceSpec(name, f"p_{name}_1", "i:1", False,
                       {d: "service_healthy" for d in deps}, raw={"depends_on": deps})


def stack(**services: dict) -> Stack:
    return Stack("p", Path("c.yaml"), {n: spec(n, d) for n, d in services.items()})


def test_only_restart_true_entries_cascade_transitively_in_order() -> None:
    s = stack(db={}, app={"db": {"restart": True}}, web={"app": {"restart": True}},
              report={"db": {"condition": "service_healthy"}},
              cache={"web": {"restart": False}})
    assert dependents(s, "db") == ["app", "web"]
    assert dependents(s, "app") == ["web"]
    assert dependents(s, "web") == []


def test_the_phoenix_stack_restarts_core_then_toolkit_after_the_database() -> None:
    from phoenix_compose.runtime.lifecycle import ComposeManager

    manager = ComposeManager(REPO, "development")
    manager.validate_compose_files()
    assert dependents(manager.stack(), "revenue-db") == ["phoenix-core", "nca-toolkit"]
