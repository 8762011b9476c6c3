"""``COMPOSE_PROFILES`` from the env files (or the process) selects the profiles of ``up``
and ``plan`` when no ``--profile`` is given, as in docker compose."""

from __future__ import annotations

from typing import Any

from phoenix_compose.runtime.deploy import Deployer
from phoenix_compose.runtime.lifecycle import ComposeManager, env_profiles

SERVICES = """
services:
  web: {image: alpine}
  debug: {image: alpine, profiles: [debug]}
  tools: {image: alpine, profiles: [tools]}
"""


def planned(monkeypatch, root, profiles: tuple[str, ...] = ()) -> list[str]:
    chosen: list[str] = []

    def plan(self: Deployer, stack: Any, names: list[str], *_: Any, **__: Any) -> None:
        chosen.extend(names)
    monkeypatch.setattr(Deployer, "plan", plan)
    ComposeManager(root, "t").plan(profiles=profiles)
    return sorted(chosen)


def test_compose_profiles_of_the_env_file_selects_the_profiles_of_plan(
        make_stack, monkeypatch) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROFILES=debug, tools\n",
                       "compose/app.yaml": SERVICES})
    assert env_profiles(root, "t") == ("debug", "tools")
    assert planned(monkeypatch, root) == ["debug", "tools", "web"]
    assert planned(monkeypatch, root, ("tools",)) == ["tools", "web"]  # --profile wins


def test_without_compose_profiles_only_services_without_profiles_are_planned(
        make_stack, monkeypatch) -> None:
    root = make_stack({"envs/t.env": "", "compose/app.yaml": SERVICES})
    assert planned(monkeypatch, root) == ["web"]
