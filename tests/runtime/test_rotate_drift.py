"""What a rotation counts as drift (fakes, no podman): a consumer whose config differs from
what runs refuses the rotation; one whose health is only stale (converge-health: not
checked for two intervals, no watcher) does not, since the rotation recreates it,
health-gated.  (The release path's rotations, with phoenix-core's 2 replicas, outlast
nca-toolkit's two 15 s intervals: certs.init --force was refused.)"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.runtime import rotate
from phoenix_compose.runtime.plan import Change


def consumers(monkeypatch, core: Change, toolkit: Change) -> list[str]:
    stack = SimpleNamespace(order=lambda: ["core", "toolkit"], services={
        "core": SimpleNamespace(container="p_core_1"),
        "toolkit": SimpleNamespace(container="p_toolkit_1")})
    monkeypatch.setattr(rotate.containers, "inspect", lambda run, names: {
        n: SimpleNamespace(running=True) for n in names})
    steps = [SimpleNamespace(service="core", change=core),
             SimpleNamespace(service="toolkit", change=toolkit)]
    deployer = SimpleNamespace(run=None, plan=lambda s, names: SimpleNamespace(steps=steps))
    store = SimpleNamespace(stack=stack, declared={"tls": ["core", "toolkit"]})
    running = rotate._running_consumers(deployer, store, ["tls"], "tls")  # type: ignore
    return running


def test_stale_health_is_no_drift(monkeypatch) -> None:
    assert consumers(monkeypatch, Change.UNCHANGED, Change.CONVERGE_HEALTH) == [
        "core", "toolkit"]


def test_a_changed_config_refuses_the_rotation(monkeypatch) -> None:
    with pytest.raises(ComposeRuntimeError, match=r"core: recreate\)"):
        consumers(monkeypatch, Change.RECREATE, Change.CONVERGE_HEALTH)
