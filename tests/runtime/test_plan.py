"""The plan and the minimal up on real podman: what changes is named, and only that moves;
the snapshot is what podman reports, and ``inv plan``, ``up --dry-run`` and the real ``up``
agree.  The planner's own cases, without podman, are in test_planner.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose.errors import RolledBack, StartupError
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.fingerprint import Applied
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.observe import observe
from phoenix_compose.runtime.plan import Change
from phoenix_compose.runtime.releases import list_releases
from phoenix_compose.statedir import StateDir

from support import REPO, inv

pytestmark = pytest.mark.podman

CHECK = '{test: ["CMD", "true"], interval: 30s, start_interval: 1s}'
FAILING = '{test: ["CMD", "false"], interval: 1s, retries: 1, start_period: 0s}'


def compose(image: str, db_env: str = "1", web_env: str = "1", *, web_check: str = CHECK,
            worker: bool = True) -> str:
    text = f"""
services:
  db:
    image: {image}
    command: [sleep, '1d']
    stop_grace_period: 1s
    environment: {{VERSION: '{db_env}'}}
    healthcheck: {CHECK}
    volumes: [data:/data]
    secrets: [token]
  web:
    image: {image}
    command: [sleep, '1d']
    stop_grace_period: 1s
    environment: {{VERSION: '{web_env}'}}
    depends_on: {{db: {{condition: service_healthy, restart: true}}}}
    healthcheck: {web_check}
"""
    if worker:
        text += f"""
  worker:
    image: {image}
    command: [sleep, '1d']
    stop_grace_period: 1s
    depends_on: {{db: {{condition: service_healthy}}}}
"""
    return text + "volumes: {data: {}}\nsecrets: {token: {file: ../token.txt}}\n"


@pytest.fixture
def root(make_stack, podman_project: str, busybox_image: str) -> Path:
    stack = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                        "compose/app.yaml": compose(busybox_image), "token.txt": "one\n"})
    (stack / "tasks.py").write_text((REPO / "tasks.py").read_text())
    return stack


def edit(root: Path, text: str) -> None:
    (root / "compose" / "app.yaml").write_text(text)


def manager(root: Path) -> ComposeManager:
    return ComposeManager(root, "t")


def ids(project: str) -> dict[str, tuple[str, str]]:
    """container name -> (id, started at)"""
    names = commands.run(argv.labelled("container", project)).stdout.split()
    data = json.loads(commands.run(argv.inspect(*names)).stdout) if names else []
    return {d["Name"].lstrip("/"): (d["Id"], d["State"]["StartedAt"]) for d in data}


def changes(root: Path) -> dict[str, str]:
    return {s.service: str(s.change) for s in manager(root).plan().steps}


def test_an_unchanged_running_stack_plans_nothing_and_up_moves_nothing(
        root: Path, podman_project: str) -> None:
    assert changes(root) == {"db": "create", "web": "create", "worker": "create"}
    manager(root).start_services(timeout=60)
    before = ids(podman_project)
    plan = manager(root).plan()
    assert not plan.changes and changes(root) == dict.fromkeys(("db", "web", "worker"),
                                                               "unchanged")
    done = manager(root).start_services(timeout=60)
    assert done == [] and ids(podman_project) == before
    shown = inv(root, "plan", "--env", "t")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0] == f"t: 3 unchanged (project {podman_project})"


def test_a_changed_service_is_named_with_its_keys_and_only_it_is_recreated(
        root: Path, podman_project: str, busybox_image: str) -> None:
    manager(root).start_services(timeout=60)
    before = ids(podman_project)
    edit(root, compose(busybox_image, web_env="2"))
    plan = manager(root).plan()
    assert {s.service: (str(s.change), s.reasons) for s in plan.named(Change.RECREATE)} == {
        "web": ("recreate", ("config changed: environment.VERSION",))}
    shown = inv(root, "plan", "--env", "t", "--json")
    assert shown.returncode == 2, shown.stderr
    assert [s["change"] for s in json.loads(shown.stdout)["services"]] == [
        "unchanged", "recreate", "unchanged"]
    manager(root).start_services(timeout=60)
    after = ids(podman_project)
    web, db, worker = (f"{podman_project}_{s}_1" for s in ("web", "db", "worker"))
    assert after[web][0] != before[web][0]
    assert after[db] == before[db] and after[worker] == before[worker]


def test_a_recreated_dependency_restarts_only_dependents_that_ask_for_it(
        root: Path, podman_project: str, busybox_image: str) -> None:
    manager(root).start_services(timeout=60)
    before = ids(podman_project)
    edit(root, compose(busybox_image, db_env="2"))
    steps = {s.service: s for s in manager(root).plan().steps}
    assert steps["db"].change is Change.RECREATE and steps["db"].volumes == ("data",)
    assert steps["web"].change is Change.RESTART
    assert steps["web"].reasons == ("its dependency db is recreated (depends_on restart: true)",)
    assert steps["worker"].change is Change.UNCHANGED
    manager(root).start_services(timeout=60)
    after = ids(podman_project)
    web, db, worker = (f"{podman_project}_{s}_1" for s in ("web", "db", "worker"))
    assert after[db][0] != before[db][0]
    assert after[web][0] == before[web][0] and after[web][1] != before[web][1]  # restarted
    assert after[worker] == before[worker]  # untouched, still running
    assert not manager(root).plan().changes


def test_secrets_stopped_containers_and_orphans_are_planned(
        root: Path, podman_project: str, busybox_image: str) -> None:
    manager(root).start_services(timeout=60)
    (root / "token.txt").write_text("two\n")
    commands.run(argv.stop(f"{podman_project}_worker_1", timeout=1))
    steps = {s.service: s for s in manager(root).plan().steps}
    assert steps["db"].reasons == ("secret token changed",)
    assert steps["worker"].change is Change.START
    assert steps["worker"].reasons[0].startswith("the container is exited")
    shown = inv(root, "plan", "--env", "t").stdout
    assert "two" not in shown and "one" not in shown.replace("done", "")
    edit(root, compose(busybox_image, worker=False))
    (root / "token.txt").write_text("one\n")
    steps = {s.service: s for s in manager(root).plan().steps}
    assert steps["worker"].change is Change.REMOVE and steps["worker"].reasons == (
        "the service is no longer in the config",)
    manager(root).start_services(timeout=60)
    assert set(ids(podman_project)) == {f"{podman_project}_db_1", f"{podman_project}_web_1"}


def test_a_failed_deploy_rolls_back_to_the_last_healthy_release(
        root: Path, podman_project: str, busybox_image: str) -> None:
    manager(root).start_services(timeout=60)
    state = StateDir(root, "t")
    before = ids(podman_project)
    edit(root, compose(busybox_image, web_env="broken", web_check=FAILING))
    with pytest.raises(RolledBack) as info:
        manager(root).start_services(timeout=30)
    assert info.value.exit_code == 3 and info.value.release == 1
    assert "rolled back to release 1 (recreated: web)" in str(info.value)
    web = f"{podman_project}_web_1"
    after = ids(podman_project)
    assert after[web][0] != before[web][0]  # the broken one was replaced by release 1's
    env = commands.run(argv.inspect(web)).stdout
    assert '"VERSION=1"' in env
    assert [r.number for r in list_releases(state)] == [1]
    actions = [json.loads(line) for line in state.audit_log.read_text().splitlines()]
    assert [(a["action"], a["result"]) for a in actions[-2:]] == [("rollback", "ok"),
                                                                   ("up", "error")]
    assert actions[-1]["args"]["plan"] == {"web": "recreate"}
    assert actions[-1]["args"]["rolled_back_to"] == 1
    with pytest.raises(StartupError):  # --no-rollback leaves it in place
        manager(root).start_services(timeout=30, rollback=False)
    assert '"VERSION=broken"' in commands.run(argv.inspect(web)).stdout


def test_rollback_by_hand_to_a_numbered_release(
        root: Path, podman_project: str, busybox_image: str) -> None:
    manager(root).start_services(timeout=60)
    edit(root, compose(busybox_image, web_env="2"))
    manager(root).start_services(timeout=60)
    assert [r.number for r in list_releases(StateDir(root, "t"))] == [1, 2]
    done = inv(root, "rollback", "--env", "t", "--to", "1")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("t: rolled back to release 1 (recreated: web)")
    assert '"VERSION=1"' in commands.run(argv.inspect(f"{podman_project}_web_1")).stdout
    assert [r.current for r in list_releases(StateDir(root, "t"))] == [True, False]
    missing = inv(root, "rollback", "--env", "t", "--to", "7")
    assert missing.returncode == 1 and "has no release 7; kept: 1, 2" in missing.stderr


def test_a_rollback_runs_the_recorded_image_when_its_tag_has_moved(
        make_stack, podman_project: str, busybox_image: str, tmp_path: Path) -> None:
    """A rebuilt ``:dev`` moves its tag: release 1 must come back with release 1's image."""
    moving = f"localhost/phoenix-test/{podman_project}:dev"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Containerfile").write_text(f"FROM {busybox_image}\nLABEL build=two\n")
    commands.run(argv.tag(busybox_image, moving))
    try:
        root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                           "compose/app.yaml": f"services:\n  web: {{image: '{moving}', "
                                               "command: [sleep, '1d'], "
                                               "stop_grace_period: 1s}\n"})
        manager(root).start_services(timeout=60)  # release 1: busybox itself
        first = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
        commands.run(argv.build(moving, str(tmp_path / "ctx"),
                              str(tmp_path / "ctx" / "Containerfile")), timeout=300)
        manager(root).start_services(timeout=60)  # release 2: the rebuilt image
        second = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
        assert second["Image"] != first["Image"]
        number, _plan = manager(root).rollback(1, timeout=60)
        back = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
        assert number == 1 and back["Image"] == first["Image"]  # not the tag's new image
        assert (StateDir(root, "t").releases / "1" / "rollback.yaml").is_file()
    finally:
        commands.run(argv.untag(moving), ok_codes=(0, 1, 2, 125))


def six(image: str, s1: str = "1") -> str:
    return "services:\n" + "".join(
        f"  s{i}: {{image: '{image}', command: [sleep, '1d'], stop_grace_period: 1s, "
        f"environment: {{V: '{s1 if i == 1 else 1}'}}}}\n" for i in range(1, 7))


def test_after_a_change_to_one_of_six_plan_dry_run_and_up_touch_only_it(
        make_stack, podman_project: str, busybox_image: str) -> None:
    """Issue 24's measurement: ``inv plan`` said 1 to recreate, ``up --dry-run`` would
    create and start all six, and ``up`` recreated s1.  Now all three say s1 only, and a
    no-op ``up`` asks podman 5 things whatever the number of services."""
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": six(busybox_image)})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    manager(root).start_services(timeout=60)
    stack = manager(root).stack()
    snapshot = observe(commands.run, stack, stack.order(), Applied(StateDir(root, "t").applied))
    image_id = commands.run(argv.image_id(busybox_image)).stdout.strip()
    assert {s.service: (s.status, s.image_id) for s in snapshot.containers.values()} == {
        f"s{i}": ("running", image_id) for i in range(1, 7)}
    assert set(snapshot.applied) == {s.config_hash for s in snapshot.containers.values()}
    calls: list[tuple[str, ...]] = []

    def counted(line, *args, **kwargs):
        calls.append(tuple(line[:3]))
        return commands.run(line, *args, **kwargs)

    assert ComposeManager(root, "t", run=counted).start_services(timeout=60) == []
    assert sorted(calls) == sorted([("podman", "image", "inspect"), ("podman", "ps", "--all"),
                                    ("podman", "container", "inspect"),
                                    ("podman", "network", "ls"), ("podman", "volume", "ls")])
    before = ids(podman_project)
    edit(root, six(busybox_image, s1="2"))
    shown = inv(root, "plan", "--env", "t")
    assert shown.returncode == 2, shown.stderr
    assert shown.stdout.splitlines()[0] == f"t: 1 to recreate, 5 unchanged (project " \
                                           f"{podman_project})"
    dry = inv(root, "up", "--env", "t", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert shown.stdout.strip() in dry.stdout
    lines = dry.stdout.split("these commands would run:\n")[1].splitlines()
    run_lines = [line for line in lines if line.startswith("  podman")]
    assert len(run_lines) == 3  # rm -f, podman-compose up --no-start, start
    assert all(line.split(" -- ")[1] in ("s1", f"{podman_project}_s1_1")
               for line in run_lines), run_lines
    manager(root).start_services(timeout=60)
    after = ids(podman_project)
    s1 = f"{podman_project}_s1_1"
    assert after[s1][0] != before[s1][0]
    assert {n: v for n, v in after.items() if n != s1} == {
        n: v for n, v in before.items() if n != s1}


def test_an_unhealthy_service_is_never_unchanged_and_up_fails_on_it(
        make_stack, podman_project: str, busybox_image: str) -> None:
    """After a deploy that left a service unhealthy, ``up`` said "nothing to change" and
    exited 0.  Now the plan checks it; up fails naming it, and replaces nothing."""
    check = "{test: [CMD, test, -f, /tmp/ok], interval: 5s, timeout: 2s, retries: 1}"
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": f"services:\n  web: {{image: '{busybox_image}', "
                                           "command: [sh, -c, 'touch /tmp/ok; exec sleep 1d'], "
                                           f"stop_grace_period: 1s, healthcheck: {check}}}\n"})
    manager(root).start_services(timeout=60)
    web = f"{podman_project}_web_1"
    before = ids(podman_project)
    commands.run(argv.exec_(web, ["rm", "/tmp/ok"]))
    commands.run(argv.healthcheck_run(web), ok_codes=(0, 1))
    steps = {s.service: s for s in manager(root).plan().steps}
    assert steps["web"].change is Change.CONVERGE_HEALTH
    assert steps["web"].reasons == ("it is unhealthy (its last health check failed)",)
    with pytest.raises(StartupError) as info:
        manager(root).start_services(timeout=30)
    assert "web" in str(info.value)
    with pytest.raises(StartupError):  # `up -d` too: it settles what it only checks
        manager(root).start_services(timeout=30, wait=False)
    assert ids(podman_project)[web][0] == before[web][0]  # checked, not replaced
    commands.run(argv.exec_(web, ["touch", "/tmp/ok"]))
    assert manager(root).start_services(timeout=30)[0].ready  # its health converged
    assert ids(podman_project) == before


def test_restart_replaces_a_service_whose_image_moved_because_the_plan_says_so(
        make_stack, podman_project: str, busybox_image: str, tmp_path: Path) -> None:
    """The stale-image decision is the plan's only: ``restart`` (and ``start``) replace
    what the plan would recreate, and remember what they made (the next plan is clean)."""
    moving = f"localhost/phoenix-test/{podman_project}:dev"
    (tmp_path / "ctx").mkdir()
    (tmp_path / "ctx" / "Containerfile").write_text(f"FROM {busybox_image}\nLABEL build=two\n")
    commands.run(argv.tag(busybox_image, moving))
    try:
        root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                           "compose/app.yaml": f"services:\n  web: {{image: '{moving}', "
                                               "command: [sleep, '1d'], "
                                               "stop_grace_period: 1s}\n"})
        manager(root).start_services(timeout=60)
        commands.run(argv.build(moving, str(tmp_path / "ctx"),
                              str(tmp_path / "ctx" / "Containerfile")), timeout=300)
        rebuilt = commands.run(argv.image_id(moving)).stdout.strip()
        [step] = manager(root).plan().steps
        assert step.change is Change.RECREATE and step.reasons[0].startswith(
            "the image changed")
        manager(root).restart_services(timeout=60)
        web = json.loads(commands.run(argv.inspect(f"{podman_project}_web_1")).stdout)[0]
        assert web["Image"] == rebuilt and web["State"]["Status"] == "running"
        assert not manager(root).plan().changes
    finally:
        commands.run(argv.untag(moving), ok_codes=(0, 1, 2, 125))


def test_an_unhealthy_service_under_restart_always_is_restarted_and_fails_if_it_stays(
        make_stack, podman_project: str, busybox_image: str) -> None:
    """``restart: always`` asks for a failed service to be restarted: a no-op ``up`` over
    it restarts it (the same container) and is done when that mends it; when it stays
    unhealthy, ``up`` fails naming it, with no rollback (nothing was remade)."""
    check = "{test: [CMD, test, -f, /tmp/ok], interval: 5s, timeout: 2s, retries: 1}"
    once = "test -f /tmp/once || touch /tmp/ok /tmp/once; exec sleep 1d"  # ok: first run only
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": f"services:\n  web: {{image: '{busybox_image}', "
                                           f"command: [sh, -c, '{{cmd}}'], restart: always, "
                                           f"stop_grace_period: 1s, healthcheck: {check}}}\n"})
    app = root / "compose/app.yaml"
    app.write_text(app.read_text().replace("{cmd}", "touch /tmp/ok; exec sleep 1d"))
    manager(root).start_services(timeout=60)
    web = f"{podman_project}_web_1"
    commands.run(argv.exec_(web, ["rm", "/tmp/ok"]))
    commands.run(argv.healthcheck_run(web), ok_codes=(0, 1))
    [step] = manager(root).plan().steps
    assert step.change is Change.RESTART
    assert step.reasons[-1] == "its restart policy (always) restarts it"
    before = ids(podman_project)[web]
    assert manager(root).start_services(timeout=30)[0].ready  # the restart touched /tmp/ok
    after = ids(podman_project)[web]
    assert after[0] == before[0] and after != before  # restarted, not replaced
    edit(root, app.read_text().replace("touch /tmp/ok; exec sleep 1d", once))
    manager(root).start_services(timeout=60)  # recreated: its first run is healthy
    commands.run(argv.exec_(web, ["rm", "/tmp/ok"]))
    commands.run(argv.healthcheck_run(web), ok_codes=(0, 1))
    with pytest.raises(StartupError) as info:  # not RolledBack: the same container
        manager(root).start_services(timeout=30)
    assert "web" in str(info.value)
