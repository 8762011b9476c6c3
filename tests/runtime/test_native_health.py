"""The health phoenix keeps for the checks it runs itself: podman's rules (retries, start
period, a pass resets), per container run, persisted; and how a native check falls back
(a stale process is asked anew, a namespace it may not enter makes it exec)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from phoenix_compose.config.probes import NativeProbe
from phoenix_compose.runtime import checks
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.containers import CHECK_TIMED_OUT, ContainerState
from phoenix_compose.runtime.nativehealth import NativeHealth
from phoenix_compose.runtime.stack import Health, ServiceSpec, Stack
from phoenix_compose.runtime.startup import Clock, Startup

from support import FakeClock, FakePodman, SyncExecutor

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
PROBE = NativeProbe("http", "127.0.0.1", 8080, "/")


def state(pid: int = 10, started: datetime = T0) -> ContainerState:
    return ContainerState("c", "web", "running", "starting", 0, started, 0, 0, "", (),
                          id="abc", pid=pid)


def tracker(path: Path | None = None, retries: int = 3, start_period: float = 0.0
            ) -> NativeHealth:
    return NativeHealth({"c": (Health(retries=retries, start_period=start_period), PROBE)},
                        path)


def test_retries_failures_in_a_row_make_it_unhealthy_and_a_pass_heals() -> None:
    health = tracker(retries=2)
    at = T0 + timedelta(seconds=60)
    assert health.record("c", (10, "abc"), False, "HTTP 500", T0, at).status == "starting"
    assert health.record("c", (10, "abc"), False, "HTTP 500", T0, at).status == "unhealthy"
    assert health.apply(state()).health == "unhealthy"
    assert health.apply(state()).failing_streak == 2
    assert health.apply(state()).last_output == "HTTP 500"
    passed = health.record("c", (10, "abc"), True, "HTTP 200 OK", T0, at)
    assert (passed.status, passed.streak) == ("healthy", 0)
    assert health.record("c", (10, "abc"), False, "refused", T0, at).status == "healthy"


def test_failures_in_the_start_period_do_not_count_until_it_passed_once() -> None:
    health = tracker(retries=1, start_period=30)
    early = T0 + timedelta(seconds=10)
    assert health.record("c", (10, "abc"), False, "refused", T0, early).streak == 0
    assert health.record("c", (10, "abc"), False, "refused", None, early).streak == 0
    late = T0 + timedelta(seconds=31)
    assert health.record("c", (10, "abc"), False, "refused", T0, late).status == "unhealthy"
    health = tracker(retries=1, start_period=30)
    health.record("c", (10, "abc"), True, "ok", T0, early)
    assert health.record("c", (10, "abc"), False, "refused", T0, early).status == "unhealthy"


def test_a_new_run_of_the_container_starts_afresh() -> None:
    health = tracker(retries=1)
    health.record("c", (10, "abc"), False, "refused", T0, T0 + timedelta(seconds=5))
    assert health.apply(state(pid=10)).health == "unhealthy"
    restarted = state(pid=11)  # a new process, not checked natively yet: podman's own
    assert health.apply(restarted) is restarted
    health.record("c", (11, "abc"), False, "refused", T0, T0 + timedelta(seconds=5))
    assert health.apply(restarted).health == "unhealthy"


def test_the_record_is_kept_for_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "probe-health.json"
    health = tracker(path)
    health.record("c", (10, "abc"), True, "HTTP 200 OK", T0)
    health.save()
    assert tracker(path).apply(state()).health == "healthy"
    path.write_text("{broken")
    assert tracker(path).apply(state()).health == "starting"
    path.write_text(json.dumps({"containers": {"c": {"id": "abc"}, "d": 5}}))
    assert tracker(path).tracked == {}


def test_the_time_of_the_last_native_check_reaches_the_plan(tmp_path: Path) -> None:
    """podman's own health log never sees a native check: the plan's "checked lately"
    (runtime.plan: unknown health is converge-health) reads the time we kept."""
    path = tmp_path / "probe-health.json"
    at = T0 + timedelta(seconds=42)
    health = tracker(path)
    health.record("c", (10, "abc"), True, "HTTP 200 OK", T0, at)
    health.save()
    seen = tracker(path).apply(state())
    assert (seen.health, seen.checked_at) == ("healthy", at)
    assert tracker(path).apply(state(pid=11)).checked_at is None  # another run: podman's


def test_up_and_the_watcher_each_write_only_their_own_news(tmp_path: Path) -> None:
    path = tmp_path / "probe-health.json"
    probes = {n: (Health(), PROBE) for n in ("c", "d")}
    up, watcher = NativeHealth(probes, path), NativeHealth(probes, path)  # both read first
    up.record("c", (10, "abc"), True, "HTTP 200 OK", T0)
    up.save()
    watcher.record("d", (11, "def"), True, "HTTP 200 OK", T0)
    watcher.save()
    assert set(json.loads(path.read_text())["containers"]) == {"c", "d"}


def test_podmans_health_stays_for_a_container_checked_by_exec() -> None:
    exec_state = ContainerState("other", "db", "running", "healthy", 0, T0, 0, 0, "", ())
    assert tracker().apply(exec_state) is exec_state


class Runs:
    """A seam that answers inspect with one process and the helper with given codes."""

    def __init__(self, *codes: int) -> None:
        self.codes = list(codes)
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv, **_kwargs) -> Result:
        argv = tuple(argv)
        self.calls.append(argv)
        if argv[:3] == ("podman", "container", "inspect"):
            item = {"Name": "c", "Id": "abc", "State": {"Status": "running", "Pid": 77}}
            return Result(argv, 0, json.dumps([item]), "")
        if argv[:3] == ("podman", "healthcheck", "run"):
            return Result(argv, 0, "", "")
        return Result(argv, self.codes.pop(0), "said\n", "")


def test_a_stale_process_is_asked_of_podman_once_more() -> None:
    run = Runs(checks.STALE, checks.PASSED)
    result, probed = checks.run_check(run, "c", 5.0, PROBE, (10, "abc"))
    assert (result.code, probed) == (0, (77, "abc"))
    assert [c[:3] for c in run.calls if c[0] == "podman"] == [("podman", "container",
                                                               "inspect")]
    assert run.calls[-1][-7:] == ("77", "abc", "http", "127.0.0.1", "8080", "/", "5")


def test_the_commands_own_shorter_timeout_holds_and_a_timeout_is_named() -> None:
    run = Runs(checks.TIMED_OUT)
    result, _ = checks.run_check(run, "c", 30.0, NativeProbe("tcp", "localhost", 5, "", 2.0),
                                 (10, "abc"))
    assert result.code == CHECK_TIMED_OUT
    assert result.stderr == "health check timed out after 2 s (its timeout:)"


def test_a_namespace_it_may_not_enter_makes_the_check_exec(monkeypatch) -> None:
    monkeypatch.setattr(checks, "EXEC_ONLY", set())
    run = Runs(checks.NO_NAMESPACE)
    result, probed = checks.run_check(run, "c", 5.0, PROBE, (10, "abc"))
    assert probed is None and result.argv[:3] == ("podman", "healthcheck", "run")
    assert not tracker().native("c")  # podman's own health counts for it from now on
    checks.run_check(run, "c", 5.0, PROBE, (10, "abc"))
    assert run.calls[-1][:3] == ("podman", "healthcheck", "run")  # the helper not tried again


@pytest.mark.parametrize("missing", [[], [{"Name": "c", "Id": "abc",
                                            "State": {"Status": "exited", "Pid": 0}}]])
def test_a_container_that_is_not_running_fails_its_check(missing) -> None:
    def run(argv, **_kwargs) -> Result:
        return Result(tuple(argv), 0, json.dumps(missing), "")

    result, probed = checks.run_check(run, "c", 5.0, PROBE)
    assert (result.code, probed) == (1, None)


class NativeFake(FakePodman):
    """podman for the start loop, and the helper: it fails ``fails`` times, then passes."""

    def __init__(self, fails: int) -> None:
        super().__init__({})
        self.fails = fails

    def __call__(self, argv, **kwargs) -> Result:
        argv = tuple(argv)
        if argv[0] == sys.executable:
            self.calls.append(argv)
            self.fails -= 1
            return Result(argv, 1 if self.fails >= 0 else 0,
                          "refused\n" if self.fails >= 0 else "HTTP 200 OK\n", "")
        return super().__call__(argv, **kwargs)

    def _inspect(self, name: str) -> dict:
        return {**super()._inspect(name), "Id": "abc", "State": {
            "Status": "running", "Pid": 42, "Health": {"Status": "starting"}}}


def test_ups_health_gate_runs_the_native_probe_and_keeps_its_result(tmp_path: Path) -> None:
    check = {"test": ["CMD-SHELL", "wget -q -O- http://127.0.0.1:8080/ || exit 1"],
             "interval": "1s", "retries": 5}
    web = ServiceSpec("web", "p_web_1", "img/web:1", False, health=Health(interval=1,
                      retries=5), raw={"healthcheck": check})
    fake, clock = NativeFake(fails=2), FakeClock()
    path = tmp_path / "probe-health.json"
    Startup(Stack("p", Path("/x/compose.yaml"), {"web": web}), ["web"], run=fake,
            report=lambda *_: None, clock=Clock(clock, clock.sleep_after_creation),
            executor=SyncExecutor, health_file=path).execute()
    probes = [c for c in fake.calls if c[0] == sys.executable]
    assert len(probes) == 3 and probes[0][-7:] == ("42", "abc", "http", "127.0.0.1", "8080",
                                                   "/", "30")
    assert not [c for c in fake.calls if c[:3] == ("podman", "healthcheck", "run")]
    kept = json.loads(path.read_text())["containers"]["p_web_1"]
    assert (kept["status"], kept["pid"], kept["output"]) == ("healthy", 42, "HTTP 200 OK")


def test_every_replica_is_probed_natively() -> None:
    check = {"test": ["CMD", "wget", "-q", "-O-", "http://127.0.0.1:8080/"]}
    web = ServiceSpec("web", "p_web_1", "img/web:1", False, health=Health(),
                      raw={"healthcheck": check}, replicas=3)
    native = NativeHealth.for_stack(Stack("p", Path("/x/compose.yaml"), {"web": web}))
    assert sorted(native.probes) == ["p_web_1", "p_web_2", "p_web_3"]
