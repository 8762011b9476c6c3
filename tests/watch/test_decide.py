"""The watcher's decisions, without podman: a pure function of the observation, the policy,
the persisted record and a fake clock."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from phoenix_compose.runtime.containers import ContainerState, ServiceState
from phoenix_compose.watch.decide import Action, Verdict, charge, decide
from phoenix_compose.watch.observe import Observation
from phoenix_compose.watch.oom import OomKill
from phoenix_compose.watch.restart_policy import Circuit, RestartPolicy
from phoenix_compose.watch.state import ServiceRecord

from support import FakeClock

POLICY = RestartPolicy(max_restarts=3, window_s=100, backoff_initial_s=2, backoff_max_s=10)
STARTED = datetime(2026, 11, 28, tzinfo=timezone.utc)


def container(status: str = "running", health: str = "unhealthy", exit_code: int = 0,
              oom: bool = False) -> ContainerState:
    return ContainerState("p_db_1", "db", status, health, exit_code, STARTED, 0, 0, "", (),
                          oom_killed=oom)


UNHEALTHY = Observation(container(), ServiceState.UNHEALTHY, error="connection refused")
HEALTHY = Observation(container(health="healthy"), ServiceState.HEALTHY)
CRASHED = Observation(container("exited", exit_code=2), ServiceState.STOPPED)
MISSING = Observation(None, ServiceState.MISSING)


class Watcher:
    """Feeds observations to ``decide`` the way the monitor does: it keeps the returned
    record, and the clock moves only when the test says so."""

    def __init__(self, record: ServiceRecord | None = None, policy: RestartPolicy = POLICY,
                 rand: float = 0.5) -> None:
        self.record = record or ServiceRecord(seen=True)
        self.policy = policy
        self.rand = rand
        self.clock = FakeClock()

    def see(self, obs: Observation, at: float | None = None, **flags: bool) -> Verdict:
        if at is not None:
            self.clock.now = at
        verdict = decide(obs, self.policy, self.record, self.clock(), lambda: self.rand,
                         **flags)
        self.record = verdict.record
        return verdict


def test_decide_never_changes_the_record_it_is_given() -> None:
    record = ServiceRecord(seen=True, restart_times=[1.0])
    before = record.as_dict()
    verdict = decide(UNHEALTHY, POLICY, record, 50.0, lambda: 0.5)
    assert record.as_dict() == before
    assert verdict.record.restart_times == [1.0, 50.0] and verdict.record is not record


def test_a_healthy_service_is_left_alone() -> None:
    verdict = Watcher().see(HEALTHY)
    assert (verdict.action, verdict.events) == (Action.NONE, ())


def test_first_restart_is_immediate_then_backoff_applies() -> None:
    w = Watcher()
    assert w.see(UNHEALTHY, 0).action is Action.RESTART
    assert w.record.next_restart_at == 1.5  # 2 s * (0.5 + 0.5 * 0.5)
    assert w.see(UNHEALTHY, 1.0).action is Action.WAIT
    assert w.see(UNHEALTHY, 1.5).action is Action.RESTART
    assert w.record.next_restart_at == 1.5 + 3.0


def test_backoff_intervals_grow_whatever_the_jitter() -> None:
    w = Watcher(policy=RestartPolicy(max_restarts=99, window_s=1000, backoff_initial_s=1,
                                     backoff_max_s=64))
    gaps = []
    for rand in (1.0, 0.0, 1.0, 0.0, 0.3):
        w.rand = rand
        assert w.see(UNHEALTHY).action is Action.RESTART
        gaps.append(w.record.next_restart_at - w.clock.now)
        w.clock.now = w.record.next_restart_at
    assert all(b >= a for a, b in zip(gaps, gaps[1:])) and gaps[-1] > gaps[0]


def test_the_circuit_opens_after_exactly_max_restarts() -> None:
    w, actions = Watcher(), []
    for step in range(5):
        verdict = w.see(UNHEALTHY, step * 20.0)
        actions.append(verdict.action)
        if verdict.events:
            assert verdict.events == ({"type": "circuit_open"},)
    assert actions == [Action.RESTART] * 3 + [Action.BLOCKED] * 2
    assert w.record.circuit is Circuit.OPEN and w.record.restart_count == 3


def test_a_crash_loop_opens_the_circuit_and_stops_restarting() -> None:
    w = Watcher(policy=RestartPolicy(max_restarts=2, window_s=60, backoff_initial_s=1,
                                     backoff_max_s=1))
    actions = [w.see(CRASHED, t).action for t in (0.0, 1.0, 2.0, 3.0, 30.0)]
    assert actions == [Action.RESTART, Action.RESTART, Action.BLOCKED, Action.BLOCKED,
                       Action.BLOCKED]
    assert w.record.restart_count == 2


def test_after_the_window_one_trial_restart_then_open_again_on_failure() -> None:
    w = Watcher(ServiceRecord(circuit=Circuit.OPEN, opened_at=0.0, restart_times=[0.0],
                              attempt=3, seen=True))
    assert w.see(UNHEALTHY, 50).action is Action.BLOCKED
    assert w.see(UNHEALTHY, 100).action is Action.RESTART
    assert w.record.circuit is Circuit.HALF_OPEN
    verdict = w.see(UNHEALTHY, 120)
    assert verdict.action is Action.BLOCKED and verdict.events == ({"type": "circuit_open"},)
    assert w.record.opened_at == 120


def test_a_success_while_half_open_closes_the_circuit() -> None:
    w = Watcher(ServiceRecord(circuit=Circuit.HALF_OPEN, opened_at=0.0,
                              restart_times=[100.0], attempt=4, seen=True))
    assert w.see(HEALTHY, 130).events == ({"type": "circuit_closed"},)
    assert (w.record.circuit, w.record.attempt, w.record.restart_times) == (
        Circuit.CLOSED, 0, [])


def test_a_service_healthy_again_after_the_window_closes_an_open_circuit() -> None:
    w = Watcher(ServiceRecord(circuit=Circuit.OPEN, opened_at=0.0, seen=True))
    assert w.see(HEALTHY, 50).events == ()
    assert w.record.circuit is Circuit.OPEN
    assert w.see(HEALTHY, 100).events == ({"type": "circuit_closed"},)


def test_old_restarts_leave_the_window() -> None:
    w = Watcher(ServiceRecord(restart_times=[0.0, 10.0, 20.0], attempt=3, restart_count=3,
                              seen=True))
    assert w.see(UNHEALTHY, 150).action is Action.RESTART
    assert w.record.restart_times == [150.0]


def test_staying_healthy_for_the_window_resets_the_backoff() -> None:
    w = Watcher(ServiceRecord(attempt=4, seen=True))
    w.see(HEALTHY, 0)
    w.see(HEALTHY, 99)
    assert w.record.attempt == 4
    w.see(HEALTHY, 100)
    assert w.record.attempt == 0


@pytest.mark.parametrize(("record", "policy", "reason"), [
    (ServiceRecord(paused=True, seen=True), POLICY, "paused"),
    (ServiceRecord(seen=True), RestartPolicy(enabled=False), "restarts disabled"),
])
def test_paused_or_disabled_services_are_left_alone(record, policy, reason) -> None:
    verdict = Watcher(record, policy).see(UNHEALTHY)
    assert (verdict.action, verdict.reason) == (Action.BLOCKED, reason)
    assert verdict.record.restart_count == 0


def test_a_user_stop_is_respected() -> None:
    stopped = Observation(container("exited", exit_code=143), ServiceState.STOPPED,
                          deliberate=True)
    verdict = Watcher().see(stopped)
    assert (verdict.action, verdict.reason) == (Action.NONE, "stopped by the user")


def test_a_crash_is_restarted_in_place() -> None:
    assert Watcher().see(CRASHED).action is Action.RESTART


def test_a_created_but_never_started_container_is_not_a_crash() -> None:
    created = Observation(container("created"), ServiceState.STOPPED)
    assert Watcher().see(created).action is Action.NONE


def test_a_missing_container_that_existed_is_recreated() -> None:
    verdict = Watcher().see(MISSING)
    assert verdict.action is Action.RECREATE and verdict.record.restart_count == 1


def test_a_container_never_seen_is_not_ours_to_create() -> None:
    verdict = Watcher(ServiceRecord()).see(MISSING)
    assert (verdict.action, verdict.reason) == (Action.NONE, "never created")
    assert Watcher(ServiceRecord()).see(HEALTHY).record.seen


def test_a_starting_service_is_given_its_time() -> None:
    starting = Observation(container(health="starting"), ServiceState.STARTING)
    assert Watcher().see(starting).action is Action.NONE


def test_nothing_is_healed_while_the_stack_is_down_or_administered() -> None:
    verdict = Watcher().see(CRASHED, stack_down=True)
    assert (verdict.action, verdict.reason) == (Action.NONE, "stack down")
    assert verdict.record.restart_count == 0


def failing(streak: int, health: str = "healthy") -> Observation:
    state = ContainerState("p_db_1", "db", "running", health, 0, STARTED, 0, streak, "", ())
    return Observation(state, ServiceState(health))


def test_unhealthy_for_s_counts_from_the_first_failed_check_and_waits_that_long() -> None:
    w = Watcher(policy=RestartPolicy(unhealthy_for_s=10, backoff_initial_s=1))
    assert w.see(failing(1), at=100).action is Action.NONE
    assert w.record.failing_since == 100
    verdict = w.see(failing(3, "unhealthy"), at=109)
    assert (verdict.action, verdict.reason) == (Action.NONE, "unhealthy for 9.0 of 10 s")
    assert w.see(failing(4, "unhealthy"), at=110).action is Action.RESTART
    assert w.see(HEALTHY, at=111).record.failing_since is None


def test_unhealthy_for_s_may_act_before_podman_retries_run_out() -> None:
    w = Watcher(policy=RestartPolicy(unhealthy_for_s=2))
    w.see(failing(1), at=0)
    assert w.see(failing(2), at=2).action is Action.RESTART  # podman still says healthy


def test_without_unhealthy_for_s_podman_retries_decide_as_before() -> None:
    w = Watcher()
    assert w.see(failing(2), at=0).action is Action.NONE
    assert w.see(failing(3, "unhealthy"), at=1).action is Action.RESTART


def test_no_restart_exit_codes_mean_done_but_an_oom_kill_is_a_crash() -> None:
    policy = RestartPolicy(no_restart_exit_codes=(3, 137))
    done = Observation(container("exited", exit_code=3), ServiceState.STOPPED)
    verdict = Watcher(policy=policy).see(done)
    assert (verdict.action, verdict.reason) == (Action.NONE, "done (exit code 3)")
    assert verdict.record.last_exit == "exit code 3"
    oom = Observation(container("exited", exit_code=137), ServiceState.STOPPED,
                      oom=OomKill(source="kernel log"))
    verdict = Watcher(policy=policy).see(oom)
    assert verdict.action is Action.RESTART and verdict.record.last_exit == "oom-killed"


def test_restart_mode_recreate_makes_a_new_container() -> None:
    assert Watcher(policy=RestartPolicy(restart_mode="recreate")).see(CRASHED).action \
        is Action.RECREATE


def test_a_cascade_restart_skips_the_backoff_but_counts_and_obeys_the_circuit() -> None:
    record = ServiceRecord(seen=True, next_restart_at=1e9)
    verdict = charge(record, POLICY, 10.0, lambda: 0.5)
    assert verdict.action is Action.RESTART and verdict.record.restart_count == 1
    full = ServiceRecord(seen=True, restart_times=[5.0, 6.0, 7.0])
    verdict = charge(full, POLICY, 10.0, lambda: 0.5)
    assert verdict.action is Action.BLOCKED and verdict.record.circuit is Circuit.OPEN
    assert verdict.events == ({"type": "circuit_open"},)


@pytest.mark.parametrize("status, expected", [
    ("exited", ServiceState.EXITED),
    ("stopped", ServiceState.EXITED),  # exited, podman's cleanup not run yet (rootless)
    ("created", ServiceState.STOPPED), ("paused", ServiceState.STOPPED),
    ("running", ServiceState.UNHEALTHY)])
def test_what_a_podman_state_means_for_the_service(status, expected) -> None:
    assert container(status).service_state is expected
