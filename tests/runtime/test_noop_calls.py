"""A no-op ``up`` asks podman the same few things whatever the number of services (issue
24): counted with a fake podman that reports every service running, made by phoenix from
the config as it is now, and healthy (or without a healthcheck)."""

from __future__ import annotations

import json
from pathlib import Path

from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.containers import CONFIG_HASH_LABEL
from phoenix_compose.runtime.fingerprint import Applied, fingerprint
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.statedir import StateDir


def services(count: int) -> str:
    return "services:\n" + "".join(
        f"  s{i}: {{image: 'img:1', command: [sleep, '1d']}}\n" for i in range(1, count + 1))


class RunningProject:
    """podman as it answers for a project whose containers all run, as phoenix made them."""

    def __init__(self, names: dict[str, str], owner: str) -> None:
        self.names, self.owner = names, owner  # container -> service
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv, *_args, **_kwargs) -> Result:
        argv = tuple(argv)
        self.calls.append(argv)
        if argv[:2] == ("podman", "ps"):
            return Result(argv, 0, json.dumps([{"Names": [n]} for n in self.names]), "")
        if argv[:3] == ("podman", "container", "inspect"):
            wanted = argv[argv.index("--") + 1:]
            return Result(argv, 0, json.dumps([self._item(n) for n in wanted]), "")
        if argv[:3] == ("podman", "image", "inspect"):
            return Result(argv, 0, "sha256:aaa\n", "")
        if argv[:3] in (("podman", "network", "ls"), ("podman", "volume", "ls")):
            return Result(argv, 0, "[]", "")
        return Result(argv, 0, "", "")

    def _item(self, name: str) -> dict:
        labels = {"com.docker.compose.service": self.names[name], OWNER_LABEL: self.owner,
                  CONFIG_HASH_LABEL: f"h-{self.names[name]}"}
        return {"Name": name, "Id": f"id-{name}", "Image": "sha256:aaa",
                "State": {"Status": "running", "Pid": 4242},
                "Config": {"Labels": labels}}


def noop_up_calls(root: Path, count: int) -> list[tuple[str, ...]]:
    """The podman command lines of an ``up`` of ``count`` unchanged services."""
    (root / "compose").mkdir(parents=True)
    (root / "envs").mkdir()
    (root / "envs/t.env").write_text("COMPOSE_PROJECT_NAME=p\n")
    (root / "compose/app.yaml").write_text(services(count))
    manager = ComposeManager(root, "t")
    stack = manager.stack()
    state = StateDir(root, "t")
    Applied(state.applied).remember({f"h-{n}": fingerprint(stack, n) for n in stack.services})
    fake = RunningProject({s.container: n for n, s in stack.services.items()},
                          Owner.of(state, stack.project).owner)
    assert ComposeManager(root, "t", run=fake).start_services(timeout=60) == []  # records
    fake.calls.clear()  # the first release: the second up is the no-op one
    assert ComposeManager(root, "t", run=fake).start_services(timeout=60) == []
    return fake.calls


def test_a_noop_up_of_six_services_asks_podman_no_more_than_one_of_two(tmp_path: Path
                                                                         ) -> None:
    two = noop_up_calls(tmp_path / "two", 2)
    six = noop_up_calls(tmp_path / "six", 6)
    kinds = sorted(c[:3] for c in six)
    assert len(six) == len(two), (two, six)
    assert kinds == sorted(c[:3] for c in two)
    assert kinds == sorted([("podman", "image", "inspect"), ("podman", "ps", "--all"),
                            ("podman", "container", "inspect"),
                            ("podman", "network", "ls"), ("podman", "volume", "ls")])
