"""Item 5's compose vocabulary, fast: the command lines, plans and notes each flag makes
(against the seam, no podman); tests/cli/test_vocabulary_podman.py runs them for real."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from invoke.parser import Parser

from phoenix_compose.cli import build_namespace
from phoenix_compose.cli.planview import down_commands, signal_commands
from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.runtime import argv_compose, audit, operations
from phoenix_compose.runtime.choice import Choice
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.fingerprint import Applied
from phoenix_compose.runtime.images import pull_for, removable_images
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.runtime.observe import observe
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.plan import Change, PlanOptions, plan
from phoenix_compose.runtime.stack import ServiceSpec, Stack

STACK = """
services:
  db: {image: 'localhost/db:1'}
  web: {image: 'localhost/web:1', depends_on: [db]}
  worker: {build: {context: .}}
  tool: {build: {context: .}, image: 'localhost/tool:2'}
"""


def _stack() -> Stack:
    def spec(name: str, image: str | None, build: bool = False, deps=()) -> ServiceSpec:
        return ServiceSpec(name, f"p_{name}_1", image, build, {d: "service_started"
                                                               for d in deps})
    return Stack("p", Path("/x/compose.yaml"), {
        "db": spec("db", "localhost/db:1"), "web": spec("web", "localhost/web:1", deps=["db"]),
        "worker": spec("worker", None, True), "tool": spec("tool", "localhost/tool:2", True)})


def test_kill_pause_unpause_and_rmi_command_lines() -> None:
    assert argv_compose.kill("a", "b", signal="TERM") == (
        "podman", "kill", "--signal", "TERM", "--", "a", "b")
    assert argv_compose.pause("a") == ("podman", "pause", "--", "a")
    assert argv_compose.unpause("a") == ("podman", "unpause", "--", "a")
    assert argv_compose.remove_image("--all") == ("podman", "rmi", "--", "--all")
    assert signal_commands(_stack(), ["web"], "kill") == [
        ("podman", "kill", "--signal", "KILL", "--", "p_web_1")]


def test_down_rmi_local_is_the_built_images_without_a_name_and_all_is_every_one() -> None:
    assert removable_images(_stack(), "local") == ["p_worker"]
    assert removable_images(_stack(), "all") == ["localhost/db:1", "localhost/web:1",
                                                  "p_worker", "localhost/tool:2"]
    lines = down_commands(_stack(), False, "local")
    assert lines[-1] == ("podman", "rmi", "--", "p_worker") and len(lines) == 2


def test_no_deps_keeps_only_the_named_services_and_force_recreate_names_them() -> None:
    order = ["db", "web"]
    assert Choice(no_deps=True).narrow(order, ["web"]) == ["web"]
    assert Choice(no_deps=True).narrow(order, []) == order  # nothing named: every service
    assert Choice().narrow(order, ["web"]) == order
    assert Choice(force_recreate=True).forced(order, ["web"]) == {"web"}
    assert Choice(force_recreate=True).forced(order, []) == set(order)
    assert Choice().forced(order, []) == set()
    assert Choice(True, True, "never").args() == {"no_deps": True, "force_recreate": True,
                                                  "pull": "never"}
    assert Choice().args() == {}


def _inspect(name: str, service: str, owner: str, status: str = "running") -> dict:
    return {"Name": name, "State": {"Status": status}, "Image": "sha256:i",
            "Config": {"Labels": {"com.docker.compose.service": service, OWNER_LABEL: owner,
                                  "io.podman.compose.config-hash": "h"}}}


def test_force_recreate_plans_a_recreate_of_an_unchanged_running_service(tmp_path) -> None:
    stack = _stack()
    owner = Owner("p", "me", str(tmp_path))
    items = [_inspect("p_db_1", "db", "me"), _inspect("p_web_1", "web", "me")]

    def run(argv, **_kw) -> Result:
        if argv[:2] == ("podman", "ps"):
            return Result(argv, 0, json.dumps([{"Names": [i["Name"]]} for i in items]), "")
        if argv[:3] == ("podman", "container", "inspect"):
            return Result(argv, 0, json.dumps(items), "")
        return Result(argv, 0, "[]", "")

    applied = Applied(tmp_path / "applied.json")
    ids = {"localhost/db:1": "sha256:i", "localhost/web:1": "sha256:i"}
    snapshot = observe(run, stack, ["db", "web"], applied, owner, ids)
    plain = plan(stack, ["db", "web"], snapshot)
    forced = plan(stack, ["db", "web"], snapshot, PlanOptions(force=frozenset({"web"})))
    assert [s.change for s in plain.steps] == [Change.RECREATE, Change.RECREATE]  # unknown
    assert "asked for (--force-recreate)" in forced.named(Change.RECREATE)[1].reasons
    assert "asked for (--force-recreate)" not in forced.steps[0].reasons


@pytest.mark.parametrize(("policy", "pulled"), [
    (None, []), ("never", []), ("missing", ["localhost/web:1"]),
    ("always", ["localhost/db:1", "localhost/web:1"])])
def test_pull_policy_pulls_what_it_says_and_never_a_built_image(policy, pulled) -> None:
    calls: list[tuple[str, ...]] = []

    def run(argv, **_kw) -> Result:
        calls.append(tuple(argv))
        return Result(argv, 0, "", "")

    got = pull_for(_stack(), ["db", "web", "worker", "tool"], Path("/x"), run=run,
                   report=lambda *_: None, present={"localhost/db:1"}, policy=policy)
    assert got == pulled
    assert calls == [("podman", "pull", "--quiet", "--", i) for i in pulled]


def test_an_unpause_note_ends_what_the_pause_note_explained(tmp_path) -> None:
    log = tmp_path / "stops.jsonl"
    since = datetime.now(timezone.utc) - timedelta(minutes=1)
    audit.note_stops(log, ["web"])
    assert audit.stopped_by_us(log, "web", since)
    audit.resuming(log, ["web"])
    assert not audit.stopped_by_us(log, "web", since)  # a crash after unpause is a crash
    audit.note_stops(log, ["web"])
    assert audit.stopped_by_us(log, "web", since)


class Seam:
    """podman as the operations see it: our containers web (running) and db (paused),
    and one of another owner; every call recorded, with the stops log at that moment."""

    def __init__(self, owner: str, log: Path) -> None:
        self.items = [_inspect("p_web_1", "web", owner),
                      _inspect("p_db_1", "db", owner, "paused"),
                      _inspect("p_cache_1", "cache", "someone-else")]
        self.log = log
        self.calls: list[tuple[tuple[str, ...], str]] = []

    def __call__(self, argv, **_kw) -> Result:
        noted = self.log.read_text() if self.log.exists() else ""
        self.calls.append((tuple(argv), noted))
        if argv[:3] == ("podman", "container", "inspect"):
            names = argv[argv.index("--") + 1:]
            return Result(argv, 0, json.dumps([i for i in self.items if i["Name"] in names]),
                          "")
        return Result(argv, 0, "", "")


@pytest.fixture
def manager(make_stack) -> tuple[ComposeManager, Seam]:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\n", "compose/app.yaml": """
        services:
          db: {image: 'localhost/db:1'}
          web: {image: 'localhost/web:1', depends_on: [db]}
          cache: {image: 'localhost/cache:1'}
        """})
    m = ComposeManager(root, "t")
    m.run = seam = Seam(Owner.of(m.state, "p").owner, m.state.stops_log)
    return m, seam


def _podman_calls(seam: Seam, verb: str) -> list[tuple[tuple[str, ...], str]]:
    return [(a, n) for a, n in seam.calls if a[:2] == ("podman", verb)]


def test_kill_signals_only_our_running_containers_after_noting_the_stop(manager) -> None:
    m, seam = manager
    assert operations.kill(m, [], "TERM") == ["web"]  # db is paused, cache is not ours
    [(line, noted)] = _podman_calls(seam, "kill")
    assert line == ("podman", "kill", "--signal", "TERM", "--", "p_web_1")
    assert '"services": ["web"]' in noted  # noted before podman was asked
    audit_line = json.loads(m.state.audit_log.read_text().splitlines()[-1])
    assert (audit_line["action"], audit_line["args"]) == ("kill", {"services": [],
                                                                   "signal": "TERM"})


def test_pause_notes_first_and_unpause_notes_after(manager) -> None:
    m, seam = manager
    assert operations.pause(m, ["web", "db"]) == ["web"]
    [(line, noted)] = _podman_calls(seam, "pause")
    assert line == ("podman", "pause", "--", "p_web_1") and '"web"' in noted
    assert operations.unpause(m, []) == ["db"]  # only the paused one
    [(line, noted)] = _podman_calls(seam, "unpause")
    assert line == ("podman", "unpause", "--", "p_db_1") and '"resumed"' not in noted
    assert '"resumed": ["db"]' in m.state.stops_log.read_text()


def _parse(root: Path, *args: str) -> dict[str, object]:
    ns = build_namespace(root, plugins=False)
    result = Parser(contexts=ns.to_contexts()).parse_argv(list(args))
    return {f"{ctx.name}.{arg.attr_name or arg.name}": arg.value for ctx in result
            for arg in ctx.args.values()}


def test_service_names_are_positional_before_or_after_the_flags(tmp_path) -> None:
    assert _parse(tmp_path, "up", "web", "db")["up.services"] == "web,db"
    assert _parse(tmp_path, "up", "--env", "t", "web", "db")["up.services"] == "web,db"
    assert _parse(tmp_path, "stop", "web", "-e", "t", "db")["stop.services"] == "web,db"
    assert _parse(tmp_path, "up", "--services", "a,b", "c")["up.services"] == "a,b,c"
    chained = _parse(tmp_path, "stop", "start", "web")  # a task's name is that task
    assert chained["stop.services"] == "" and chained["start.services"] == "web"
    for verb in ("start", "restart", "rm", "pull", "build", "kill", "pause", "unpause"):
        assert _parse(tmp_path, verb, "a", "b")[f"{verb}.services"] == "a,b"


def test_docker_compose_short_and_long_flags(tmp_path) -> None:
    assert _parse(tmp_path, "logs", "-n", "5", "web")["logs.tail"] == 5
    assert _parse(tmp_path, "ps", "-a")["ps.all_"] is True
    up = _parse(tmp_path, "up", "-d", "--wait", "--no-deps", "--force-recreate",
                "--pull", "never", "web")
    assert (up["up.detach"], up["up.wait"], up["up.no_deps"], up["up.force_recreate"],
            up["up.pull"], up["up.services"]) == (True, True, True, True, "never", "web")
    assert _parse(tmp_path, "kill", "-s", "TERM")["kill.signal"] == "TERM"
    assert _parse(tmp_path, "down", "--rmi", "local")["down.rmi"] == "local"


def test_run_is_podman_compose_run_without_its_deps_and_without_a_tty_here() -> None:
    assert argv_compose.run_once(Path("/s/c.yaml"), "p", "web", ["sh", "-c", "true"],
                                 remove=True) == (
        "podman-compose", "--in-pod", "false", "-f", "/s/c.podman-compose.yaml", "-p", "p",
        "run", "--no-deps", "--rm", "-T", "--", "web", "sh", "-c", "true")
    assert "-T" not in argv_compose.run_once(Path("/s/c.yaml"), "p", "web", [], tty=True)


@pytest.mark.parametrize(("args", "expected"), [
    (["up", "--scale", "web=2"], "--scale is docker compose's; phoenix does not take it "
                                 "here: one container per service here; `inv run SERVICE`"),
    (["down", "-t", "5"], "-t is docker compose's; phoenix does not take it here: this "
                          "task takes no -t"),
    (["up", "--pull", "sometimes"], "--pull must be one of always, missing, never, not "
                                    "'sometimes'"),
    (["down", "--rmi", "some"], "--rmi must be one of local, all, not 'some'"),
    (["up", "--build", "--no-build"], "--build and --no-build contradict each other"),
    (["up", "--bogus"], "No idea what '--bogus' is!")])
def test_a_docker_compose_flag_we_do_not_take_names_the_nearest_thing(
        tmp_path, capsys, args, expected) -> None:
    from invoke import Program

    (tmp_path / "envs").mkdir()
    (tmp_path / "envs" / "development.env").write_text("COMPOSE_PROJECT_NAME=p\n")
    with pytest.raises(SystemExit) as exit_:
        Program(namespace=build_namespace(tmp_path, plugins=False)).run(["inv", *args])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {expected}") and len(err.strip().splitlines()) == 1, err


def test_up_builds_by_default_only_the_images_that_are_not_here() -> None:
    from phoenix_compose.runtime.images import unbuilt

    asked: list[str] = []

    def run(argv, **_kw) -> Result:
        asked.append(argv[-1])
        return Result(argv, 0 if argv[-1] == "localhost/tool:2" else 1, "", "")

    assert unbuilt(_stack(), ["db", "web", "worker", "tool"], run) == ["worker"]
    assert asked == ["p_worker", "localhost/tool:2"]  # only those with a build:


def test_no_build_refuses_an_image_that_is_not_built_before_anything_is_touched() -> None:
    from phoenix_compose.errors import ComposeRuntimeError

    def run(argv, **_kw) -> Result:
        return Result(argv, 1, "", "")  # no image is here

    Choice().refuse_unbuilt(_stack(), ["worker"], run)  # without --no-build: built later
    with pytest.raises(ComposeRuntimeError, match=r"image not built \(--no-build\): "
                                                  r"p_worker \(service worker\)"):
        Choice(no_build=True).refuse_unbuilt(_stack(), ["db", "worker"], run)
