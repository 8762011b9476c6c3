"""Ownership: two checkouts of one stack (the same compose file, the same project name) on
one host never touch each other's containers, networks or volumes; phoenix acts only on
what carries its owner label (or, made before owner labels, was made from its own
``.phoenix/<env>``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.cli.planview import plan_text
from phoenix_compose.config.identity import OWNER_LABEL, owner_id
from phoenix_compose.errors import OwnershipError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.plan import Change
from phoenix_compose.watch.service import monitor_for

from support import FakePodman

COMPOSE = """
name: {project}
services:
  web:
    image: {image}
    command: [sleep, '1d']
    stop_grace_period: 1s
    volumes: [data:/data]
  worker:
    image: {image}
    command: [sh, -c, 'trap "exit 3" USR1; sleep 1d & wait']  # USR1: a crash
    stop_grace_period: 1s
volumes:
  data:
"""


def checkout(parent: Path, project: str, image: str) -> Path:
    """A stack folder named ``shop`` under ``parent``: no COMPOSE_PROJECT_NAME, the
    project named by the compose file's top-level ``name:``."""
    root = parent / "shop"
    (root / "envs").mkdir(parents=True)
    (root / "envs" / "t.env").write_text("")
    (root / "compose").mkdir()
    (root / "compose" / "app.yaml").write_text(COMPOSE.format(project=project, image=image))
    return root


def containers_of(project: str) -> dict[str, tuple[str, str]]:
    """Every container of the project: name -> (id, state)."""
    listing = json.loads(commands.run(argv.ps(project), timeout=60).stdout or "[]")
    return {item["Names"][0]: (item["Id"], item["State"]) for item in listing}


def volumes_of(project: str) -> list[str]:
    return [v["Name"] for v in json.loads(
        commands.run(argv.resources("volume", project), timeout=60).stdout or "[]")]


@pytest.mark.podman
def test_two_checkouts_with_one_project_name_never_touch_each_other(
        tmp_path, podman_project, busybox_image) -> None:
    a = ComposeManager(checkout(tmp_path / "a", podman_project, busybox_image), "t")
    b = ComposeManager(checkout(tmp_path / "b", podman_project, busybox_image), "t")
    assert a.stack().project == b.stack().project == podman_project  # name: honoured
    b.start_services(timeout=60)  # b's release 1, then b goes away and a comes up
    b.stop_services(volumes=True)
    assert containers_of(podman_project) == {}
    a.start_services(timeout=60)
    running = containers_of(podman_project)
    assert len(running) == 2 and all(state == "running" for _id, state in running.values())

    plan = b.plan()  # sees a's containers as someone else's: never to remove or recreate
    assert [(s.service, s.change) for s in plan.steps] == [
        ("web", Change.CREATE), ("worker", Change.CREATE)]
    text = plan_text("t", plan)
    assert f"warning: project {podman_project} has 2 containers, 1 network, 1 volume owned " \
           f"by another stack root (stack root {a.root.resolve()}): leaving them alone" in text
    with pytest.raises(OwnershipError, match=f"stack root {a.root.resolve()}"):
        b.start_services(timeout=60)
    with pytest.raises(OwnershipError, match="refusing to create containers"):
        b.rollback(1, timeout=60)
    assert [r.state for r in b.get_service_status()] == ["missing", "missing"]
    assert [r.state for r in a.get_service_status()] == ["running", "running"]
    b.stop_services(volumes=True)  # takes down only what is b's: nothing
    assert containers_of(podman_project) == running
    assert volumes_of(podman_project) == [f"{podman_project}_data"]

    assert not a.plan().changes and a.plan().warnings == []  # a sees nothing foreign
    worker = f"{podman_project}_worker_1"  # a's worker crashes: b's watcher never heals it
    commands.run(("podman", "kill", "--signal", "USR1", "--", worker), timeout=60)
    commands.run(("podman", "wait", "--", worker), timeout=60)
    watcher = monitor_for(b.root, "t")
    try:
        assert watcher.tick() == {} and watcher.restarts == {}
    finally:
        watcher.pool.shutdown()
    assert containers_of(podman_project)[worker] == (running[worker][0], "exited")
    a.stop_services()
    assert containers_of(podman_project) == {}


def state(name: str, owner: str = "", working_dir: str = "", service: str = "web") -> dict:
    labels = {"com.docker.compose.service": service,
              "com.docker.compose.project.working_dir": working_dir}
    if owner:
        labels[OWNER_LABEL] = owner
    return {"Name": name, "Id": name + "-id", "State": {"Status": "running"},
            "Config": {"Labels": labels}}


class Host(FakePodman):
    """Containers of project ``p`` that already exist, as podman lists and inspects them."""

    def __init__(self, items: list[dict]) -> None:
        super().__init__({})
        self.items = {i["Name"]: i for i in items}

    def __call__(self, argv, *args, **kwargs):
        argv = tuple(argv)
        if argv[:2] == ("podman", "ps"):
            self.calls.append(argv)
            names = [{"Names": [n]} for n in self.items]
            return commands.Result(argv, 0, json.dumps(names), "")
        if argv[:3] == ("podman", "container", "inspect"):
            self.calls.append(argv)
            found = [self.items[n] for n in argv[argv.index("--") + 1:] if n in self.items]
            return commands.Result(argv, 0, json.dumps(found), "")
        return super().__call__(argv, *args, **kwargs)


def test_orphans_of_another_root_are_not_planned_and_old_ones_of_ours_are(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    home = str(root.resolve() / ".phoenix" / "t")
    host = Host([
        state("p_old_1", working_dir=home, service="old"),  # ours, made before owner labels
        state("p_gone_1", owner=owner_id(root, "t"), service="gone"),  # ours, labelled
        state("p_theirs_1", owner="0" * 64, working_dir="/elsewhere/.phoenix/t",
              service="theirs"),
        state("p_hand_1", service="hand"),  # made by hand: nothing says it is ours
    ])
    plan = ComposeManager(root, "t", run=host).plan()
    assert sorted(s.container for s in plan.named(Change.REMOVE)) == ["p_gone_1", "p_old_1"]
    assert [(f.name, f.where) for f in plan.foreign] == [
        ("p_hand_1", "no phoenix owner (made by hand?)"),
        ("p_theirs_1", "stack root /elsewhere")]


def test_up_refuses_a_container_name_another_project_holds(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1', "
                                         "container_name: shared}}\n"})
    host = Host([])
    host.items["shared"] = state("shared", owner="f" * 64, working_dir="/other/.phoenix/x")
    host_ps = host.__call__

    def run(argv, *args, **kwargs):  # `shared` is another project's: not in p's listing
        if tuple(argv)[:2] == ("podman", "ps"):
            return commands.Result(tuple(argv), 0, "[]", "")
        return host_ps(argv, *args, **kwargs)

    with pytest.raises(OwnershipError, match=r"shared \(stack root /other\)"):
        ComposeManager(root, "t", run=run).start_services(timeout=5)


@pytest.mark.podman
def test_a_secret_another_checkout_set_is_neither_replaced_nor_removed(
        tmp_path, podman_project, busybox_image) -> None:
    from phoenix_compose.runtime.secrets import SecretStore

    roots = []
    for parent in ("a", "b"):
        root = checkout(tmp_path / parent, podman_project, busybox_image)
        (root / "envs" / "t.env").write_text(f"PHOENIX_SECRETS_PREFIX={podman_project}\n")
        (root / "compose" / "secrets.yaml").write_text(
            f"secrets:\n  {podman_project}_token: {{external: true}}\n")
        roots.append(root)
    a, b = (SecretStore(r, "t", ComposeManager(r, "t").stack()) for r in roots)
    name = f"{podman_project}_token"
    try:
        assert a.set("token", "from-a") == name
        labels = json.loads(commands.run(argv.secret_inspect(name)).stdout)[0]["Spec"]["Labels"]
        assert labels == {"io.podman.compose.project": podman_project,
                          OWNER_LABEL: owner_id(roots[0], "t")}
        created = json.loads(commands.run(argv.secret_inspect(name)).stdout)[0]["ID"]
        for attempt in (lambda: b.set("token", "from-b"), lambda: b.remove("token")):
            with pytest.raises(OwnershipError, match="set by another stack root"):
                attempt()
        assert json.loads(commands.run(argv.secret_inspect(name)).stdout)[0]["ID"] == created
        assert a.set("token", "again") == name  # its own owner replaces it
    finally:
        commands.run(argv.secret_remove(name), tolerate=((125, "no such secret"),))


@pytest.mark.podman
def test_a_stack_only_repository_gets_its_folders_project_not_another_checkouts(
        tmp_path, podman_project, busybox_image) -> None:
    """Every env used to default to ``phoenix-<env>``: `phoenix plan` in a fresh stack-only
    repository planned to remove the containers of another checkout's running stack."""
    import os
    import subprocess
    import sys

    from support import remove_project

    env, theirs = podman_project, f"phoenix-{podman_project}"
    other = checkout(tmp_path / "other", theirs, busybox_image)
    (other / "envs" / f"{env}.env").write_text(f"COMPOSE_PROJECT_NAME={theirs}\n")
    fresh = tmp_path / "Fresh.Stack"
    (fresh / "envs").mkdir(parents=True)
    (fresh / "envs" / f"{env}.env").write_text("")
    (fresh / "compose").mkdir()
    (fresh / "compose" / "app.yaml").write_text(
        f"services:\n  web:\n    image: {busybox_image}\n    command: [sleep, '1d']\n")
    try:
        ComposeManager(other, env).start_services(timeout=60)
        running = containers_of(theirs)
        plan = subprocess.run([sys.executable, "-m", "phoenix_compose.cli.program", "plan",
                               "--env", env], cwd=fresh, capture_output=True, text=True,
                              timeout=120, env={**os.environ,
                                                "PYTHONPATH": os.pathsep.join(sys.path)})
        assert plan.returncode == 2, plan.stdout + plan.stderr  # something to do: create
        assert f"(project freshstack-{env})" in plan.stdout
        assert "remove" not in plan.stdout and "warning" not in plan.stdout
        assert containers_of(theirs) == running
    finally:
        ComposeManager(other, env).stop_services(volumes=True)
        assert remove_project(theirs) == []


def test_down_with_a_broken_config_removes_only_what_is_ours(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\nBROKEN='\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    ours = owner_id(root, "t")
    host = Host([state("p_web_1", owner=ours),
                 state("p_web_2", working_dir=str(root.resolve() / ".phoenix" / "t")),
                 state("p_theirs_1", owner="0" * 64, working_dir="/elsewhere/.phoenix/t")])
    listed = {"network": [{"name": "p_default", "labels": {OWNER_LABEL: ours}},
                          {"name": "p_old", "labels": {}},
                          {"name": "p_other", "labels": {OWNER_LABEL: "0" * 64}}]}

    def run(argv, *args, **kwargs):
        argv = tuple(argv)
        if argv[1:3] == ("network", "ls"):
            host.calls.append(argv)
            return commands.Result(argv, 0, json.dumps(listed["network"]), "")
        return host(argv, *args, **kwargs)

    ComposeManager(root, "t", run=run).stop_services(project="p")
    removed = [c for c in host.calls if c[:2] == ("podman", "rm") or c[2:3] == ("rm",)]
    assert [c[c.index("--") + 1:] for c in removed] == [("p_web_1", "p_web_2"),
                                                        ("p_default",)]
