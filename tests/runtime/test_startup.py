"""The start loop's logic against a patched seam (the podman behaviour itself is tested
against real podman in test_compose_manager.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest

from phoenix_compose.errors import CommandError, ComposeRuntimeError, StartupError
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.stack import Health, ServiceSpec, Stack, seconds
from phoenix_compose.runtime.startup import Clock, StartOptions, Startup, levels
from phoenix_compose.runtime.startup.creation import start_lines
from phoenix_compose.runtime.startup.waves import start_all

from support import FakeClock, FakePodman, SyncExecutor


def spec(name: str, deps: dict[str, str] | None = None, health: bool = True,
         profiles: tuple[str, ...] = ()) -> ServiceSpec:
    return ServiceSpec(name, f"p_{name}_1", f"img/{name}:1", False, deps or {},
                       Health(interval=1, retries=2) if health else None, profiles)


STACK = Stack("p", Path("/x/compose.yaml"), {
    "db": spec("db"),
    "cache": spec("cache", health=False),
    "api": spec("api", {"db": "service_healthy", "cache": "service_started"}),
    "web": spec("web", {"api": "service_healthy"}),
    "admin": spec("admin", {"db": "service_healthy"}, profiles=("full",)),
})


def test_select_adds_dependencies_and_honours_profiles() -> None:
    assert STACK.select() == ["cache", "db", "api", "web"]
    assert STACK.select(["api"]) == ["cache", "db", "api"]
    assert STACK.select(profiles=["full"]) == ["cache", "db", "admin", "api", "web"]
    assert STACK.select(["admin"]) == ["db", "admin"]


def test_select_rejects_unknown_services() -> None:
    with pytest.raises(Exception, match="unknown service\\(s\\): nope"):
        STACK.select(["nope"])


def test_levels_group_services_that_can_start_together() -> None:
    assert levels(STACK, STACK.select()) == [["cache", "db"], ["api"], ["web"]]


@pytest.mark.parametrize(("text", "value"), [("1m30s", 90.0), ("500ms", 0.5), ("0", 0.0),
                                             (None, 7.0), (3, 3.0), ("1h", 3600.0)])
def test_durations(text, value) -> None:
    assert seconds(text, 7.0) == value


def startup(fake: FakePodman, names, clock: FakeClock, **kwargs) -> Startup:
    reports: list = []
    s = Startup(STACK, names, run=fake, report=lambda *r: reports.append(r),
                options=StartOptions(**kwargs), clock=Clock(clock, clock.sleep_after_creation),
                executor=SyncExecutor)
    s.reports = reports
    return s


def test_dependents_start_only_after_their_conditions_hold() -> None:
    fake = FakePodman({"p_db_1": 3, "p_api_1": 2, "p_web_1": 1})
    clock = FakeClock()
    s = startup(fake, STACK.select(), clock)
    s.execute()
    starts = [c[3:] for c in fake.calls if c[:2] == ("podman", "start")]
    assert starts == [("p_cache_1", "p_db_1"), ("p_api_1",), ("p_web_1",)]
    db_healthy = fake.calls.index(("podman", "healthcheck", "run", "--", "p_db_1"), 0)
    assert fake.checks["p_db_1"] == 3
    assert fake.calls.index(("podman", "start", "--", "p_api_1")) > db_healthy
    assert all(p.ready for p in s.progress.values())


def test_a_small_graph_is_created_level_by_level() -> None:
    fake = FakePodman({"p_db_1": 1, "p_api_1": 1, "p_web_1": 1})
    startup(fake, STACK.select(), FakeClock()).execute()
    creates = [c for c in fake.calls if c[0] == "podman-compose"]
    assert [c[c.index("--") + 1:] for c in creates] == [("cache", "db"), ("api",), ("web",)]


def dense(levels: int, width: int) -> Stack:
    """bench/up.py's stack: each service needs the whole level below."""
    return Stack("p", STACK.compose_file, {
        f"l{lv}s{i}": spec(f"l{lv}s{i}", {f"l{lv - 1}s{j}": "service_healthy"
                                          for j in range(width)} if lv else None)
        for lv in range(levels) for i in range(width)})


def test_many_services_are_created_one_call_a_level() -> None:
    """Each call reads its level's services alone (its start-up grows with the file): one
    per level, each level started once its call is done, by two podman calls at once."""
    stack = dense(5, 10)
    waves = levels(stack, stack.select())
    lines = start_lines(stack, stack.select(), ())
    assert [line[0] for line in lines] == ["podman-compose", "podman", "podman"] * 5
    assert [list(line[line.index("--") + 1:]) for line in lines[::3]] == waves
    started = [sorted(lines[i][3:] + lines[i + 1][3:]) for i in range(1, len(lines), 3)]
    assert started == [sorted(stack.services[n].container for n in w) for w in waves]


def test_checks_that_fail_together_are_followed_by_one_inspect() -> None:
    """A failed check asks podman whether its container still runs: the checks harvested
    in one pass share one inspect (at 50 services, one per failed check kept the loop
    busy with podman while the next level waited to start)."""
    fake = FakePodman({"p_db_1": 3, "p_api_1": 3})
    clock = FakeClock()
    wide = Stack("p", STACK.compose_file, {"db": spec("db"), "api": spec("api")})
    s = Startup(wide, ["db", "api"], run=fake, report=lambda *r: None,
                options=StartOptions(timeout=60), clock=Clock(clock, clock.sleep_after_creation),
                executor=SyncExecutor)
    s.execute()
    inspects = [c for c in fake.calls if c[:3] == ("podman", "container", "inspect")]
    failed = sum(n - 1 for n in fake.checks.values())  # every check before the passing one
    assert failed == 4 and fake.checks == {"p_db_1": 3, "p_api_1": 3}
    together = [c for c in inspects if set(c[c.index("--") + 1:]) == {"p_db_1", "p_api_1"}]
    assert len(together) == 2  # two passes of two failed checks: two inspects, not four


def test_a_check_that_never_passes_fails_after_its_grace() -> None:
    fake = FakePodman({"p_db_1": None})
    clock = FakeClock()
    with pytest.raises(StartupError, match="unhealthy: its health check kept failing for 2 s"):
        startup(fake, ["cache", "db", "api"], clock, timeout=60).execute()
    assert 2.0 < clock.now < 3.0
    assert "p_api_1" not in fake.started


REPLICATED = Stack("p", STACK.compose_file, {
    "db": replace(spec("db"), replicas=2),
    "api": spec("api", {"db": "service_healthy"}),
})


def replicated(fake: FakePodman, clock: FakeClock, **options) -> Startup:
    """A start of REPLICATED's db (two replicas) and api, reports dropped."""
    return Startup(REPLICATED, ["db", "api"], run=fake, report=lambda *r: None,
                   clock=Clock(clock, clock.sleep_after_creation), executor=SyncExecutor,
                   options=StartOptions(**options))


def test_a_dependent_waits_for_every_replica_of_its_dependency() -> None:
    fake = FakePodman({"p_db_1": 1, "p_db_2": 3, "p_api_1": 1})
    replicated(fake, FakeClock()).execute()
    assert ("podman", "start", "--", "p_db_1", "p_db_2") in fake.calls
    second_healthy = [i for i, c in enumerate(fake.calls)
                      if c == ("podman", "healthcheck", "run", "--", "p_db_2")][-1]
    assert fake.calls.index(("podman", "start", "--", "p_api_1")) > second_healthy
    assert fake.checks == {"p_db_1": 1, "p_db_2": 3, "p_api_1": 1}  # a pass is not re-run


def test_a_replica_that_never_passes_fails_the_service_by_its_name() -> None:
    fake = FakePodman({"p_db_1": 1, "p_db_2": None})
    s = replicated(fake, FakeClock(), timeout=60)
    with pytest.raises(StartupError, match="p_db_2 says no"):
        s.execute()
    assert "p_api_1" not in fake.started


def test_the_deadline_names_what_is_still_awaited() -> None:
    slow = Stack("p", STACK.compose_file, {"db": ServiceSpec(
        "db", "p_db_1", "img/db:1", False, {}, Health(interval=30, retries=3))})
    fake = FakePodman({"p_db_1": None})
    clock = FakeClock()
    s = Startup(slow, ["db"], run=fake, report=lambda *r: None, options=StartOptions(5),
                clock=Clock(clock, clock.sleep_after_creation), executor=SyncExecutor)
    with pytest.raises(StartupError) as info:
        s.execute()
    assert "not ready after 5 s; still waiting for: db (started)" in str(info.value)
    assert "p_db_1 says no" in str(info.value)
    assert "log line" in str(info.value)


def test_checks_are_paced_by_start_interval() -> None:
    paced = Stack("p", STACK.compose_file, {"db": ServiceSpec(
        "db", "p_db_1", "img/db:1", False, {},
        Health(interval=30, retries=3, start_interval=1.0))})
    fake = FakePodman({"p_db_1": 4})
    clock = FakeClock()
    Startup(paced, ["db"], run=fake, report=lambda *r: None,
            clock=Clock(clock, clock.sleep_after_creation), executor=SyncExecutor).execute()
    assert 3.0 <= clock.now < 3.5  # four checks, one second apart


def test_no_wait_still_gates_dependents_but_not_the_last_level() -> None:
    fake = FakePodman({"p_db_1": 1, "p_api_1": 1, "p_web_1": None})
    s = startup(fake, STACK.select(), FakeClock(), wait=False)
    s.execute()
    assert "p_web_1" in fake.started
    assert s.progress["web"].state == "started"


def test_no_wait_still_settles_a_running_service_it_only_checks() -> None:
    """``up -d`` over a leaf the plan only checks (it was unhealthy): the check is awaited,
    so a leaf that stays unhealthy fails ``up -d`` instead of an exit 0."""
    def checked(fake: FakePodman) -> Startup:
        fake.started.append("p_db_1")  # running already: the plan only checks it
        clock = FakeClock()
        return Startup(STACK, ["db"], run=fake, report=lambda *r: None,
                       options=StartOptions(60, False), clock=Clock(clock, clock.sleep),
                       executor=SyncExecutor, checking=["db"])

    with pytest.raises(StartupError, match="unhealthy"):
        checked(FakePodman({"p_db_1": None})).execute()
    healing = FakePodman({"p_db_1": 2})
    assert checked(healing).execute()[0].ready and healing.checks["p_db_1"] == 2


def test_an_exited_dependency_fails_with_its_exit_code() -> None:
    fake = FakePodman({"p_db_1": None}, exits={"p_db_1": 2})
    with pytest.raises(StartupError, match="service 'db' failed: its container exited with "
                                           "code 2"):
        startup(fake, ["cache", "db"], FakeClock()).execute()


def test_a_missing_image_stops_before_anything_is_created() -> None:
    class NoImages(FakePodman):
        def __call__(self, argv, **kwargs):
            if tuple(argv[:3]) == ("podman", "image", "inspect"):
                self.calls.append(tuple(argv))
                return Result(tuple(argv), 125, "", "no such image")
            return super().__call__(argv, **kwargs)

    fake = NoImages({})
    with pytest.raises(ComposeRuntimeError, match="image not present locally"):
        startup(fake, ["db"], FakeClock()).execute()
    assert not any(c[0] == "podman-compose" for c in fake.calls)


def test_a_failing_replica_is_explained_by_its_own_logs_and_named() -> None:
    """The error of a replica that fails shows that replica's log lines, not the first
    replica's (which is healthy), and names it; a replica left running is listed."""
    fake = FakePodman({"p_db_1": 1, "p_db_2": None})
    s = replicated(fake, FakeClock(), timeout=60)
    with pytest.raises(StartupError) as info:
        s.execute()
    logs = [c for c in fake.calls if c[:2] == ("podman", "logs")]
    assert logs and all(c[-1] == "p_db_2" for c in logs)
    assert "replica p_db_2" in str(info.value)
    assert "db" in info.value.left_running  # both replicas still run


def test_an_exited_replica_is_named_by_the_start_loop() -> None:
    fake = FakePodman({"p_db_1": 1, "p_db_2": None}, exits={"p_db_2": 3})
    s = replicated(fake, FakeClock(), timeout=60)
    with pytest.raises(StartupError) as info:
        s.execute()
    assert "replica p_db_2" in str(info.value) and "code 3" in str(info.value)
    assert [c[-1] for c in fake.calls if c[:2] == ("podman", "logs")] == ["p_db_2"]


def test_a_later_replica_still_running_is_left_running() -> None:
    fake = FakePodman({"p_db_1": None, "p_db_2": 1}, exits={"p_db_1": 3})
    s = replicated(fake, FakeClock(), timeout=60)
    with pytest.raises(StartupError) as info:
        s.execute()
    assert info.value.left_running == ("db",)  # p_db_2 runs: not "nothing was started"


def test_many_containers_are_started_by_two_podman_calls_at_once() -> None:
    calls: list[tuple[str, ...]] = []

    def run(line, **_kw) -> Result:
        calls.append(tuple(line))
        return Result(tuple(line), 0, "", "")

    names = [f"c{i}" for i in range(5)]
    start_all(run, SyncExecutor, names)
    assert calls == [("podman", "start", "--", "c0", "c2", "c4"),
                     ("podman", "start", "--", "c1", "c3")]
    calls.clear()
    start_all(run, SyncExecutor, names[:3])  # few: one call
    assert calls == [("podman", "start", "--", "c0", "c1", "c2")]


def test_a_failed_start_call_is_raised_after_the_other_ended() -> None:
    calls: list[tuple[str, ...]] = []

    def run(line, **_kw) -> Result:
        calls.append(tuple(line))
        if "c0" in line:
            raise CommandError(line, 125, "", "Error: unable to start container c0")
        return Result(tuple(line), 0, "", "")

    with pytest.raises(CommandError, match="unable to start container c0"):
        start_all(run, lambda: ThreadPoolExecutor(2), [f"c{i}" for i in range(4)])
    assert sorted(calls) == [("podman", "start", "--", "c0", "c2"),
                             ("podman", "start", "--", "c1", "c3")]


def test_a_stop_during_the_starts_wins_over_a_failed_call() -> None:
    """c0's call fails at once while a stop is noted during c1's: the stop is the answer
    (exit 130, audited as interrupted), not a 'could not start'."""
    from phoenix_compose.errors import Interrupted

    def run(line, **_kw) -> Result:
        if "c0" in line:
            raise CommandError(line, 125, "", "Error: unable to start container c0")
        raise Interrupted(2)

    with pytest.raises(Interrupted):
        start_all(run, lambda: ThreadPoolExecutor(2), [f"c{i}" for i in range(4)])


def test_both_failed_calls_are_reported_as_one_call_would_be() -> None:
    """Two failed calls: the output of both (the diagnosis looks for a port in use in it),
    as one ``podman start`` of them all printed it before the split."""
    def run(line, **_kw) -> Result:
        why = "unable to start container c0" if "c0" in line else \
            "rootlessport listen tcp 0.0.0.0:8080: bind: address already in use"
        raise CommandError(line, 125, "", f"Error: {why}")

    with pytest.raises(CommandError) as info:
        start_all(run, lambda: ThreadPoolExecutor(2), [f"c{i}" for i in range(4)])
    assert "c0" in info.value.stderr and "address already in use" in info.value.stderr
    assert info.value.argv == ("podman", "start", "--", "c0", "c1", "c2", "c3")
