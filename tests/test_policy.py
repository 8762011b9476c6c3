from __future__ import annotations

import pytest

from phoenix_compose.policy import (
    CLOSED,
    HALF_OPEN,
    OPEN,
    RestartPolicy,
    ServiceRecord,
    on_failing,
    on_healthy,
)

POLICY = RestartPolicy(max_restarts=3, window_s=100, backoff_initial_s=2, backoff_max_s=10)


def fail(rec: ServiceRecord, now: float, policy: RestartPolicy = POLICY, rand: float = 0.5):
    return on_failing(rec, policy, now, lambda: rand)


def test_policy_from_the_compose_extension_and_cli_overrides() -> None:
    policy = RestartPolicy.from_config({"max_restarts": "7", "window_s": 30, "enabled": "false",
                                        "unknown": 1}, {"window_s": 45, "backoff_max_s": None})
    assert policy == RestartPolicy(enabled=False, max_restarts=7, window_s=45.0)


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1, 2), (2, 2, 4), (3, 4, 8),
                                                       (4, 5, 10), (9, 5, 10)])
def test_backoff_doubles_up_to_the_cap_with_equal_jitter(attempt, low, high) -> None:
    assert POLICY.backoff(attempt, lambda: 0.0) == low
    assert POLICY.backoff(attempt, lambda: 1.0) == high


def test_first_restart_is_immediate_then_backoff_applies() -> None:
    rec = ServiceRecord()
    assert fail(rec, 0).action == "restart"
    assert rec.next_restart_at == 1.5  # 2 s * (0.5 + 0.5 * 0.5)
    assert fail(rec, 1.0).action == "wait"
    assert fail(rec, 1.5).action == "restart"
    assert rec.next_restart_at == 1.5 + 3.0


def test_backoff_intervals_grow_whatever_the_jitter() -> None:
    rec, now, gaps = ServiceRecord(), 0.0, []
    policy = RestartPolicy(max_restarts=99, window_s=1000, backoff_initial_s=1,
                           backoff_max_s=64)
    for rand in (1.0, 0.0, 1.0, 0.0, 0.3):
        assert fail(rec, now, policy, rand).action == "restart"
        gaps.append(rec.next_restart_at - now)
        now = rec.next_restart_at
    assert all(b >= a for a, b in zip(gaps, gaps[1:])) and gaps[-1] > gaps[0]


def test_the_circuit_opens_after_exactly_max_restarts() -> None:
    rec, now, actions = ServiceRecord(), 0.0, []
    for _ in range(5):
        decision = fail(rec, now)
        actions.append(decision.action)
        if decision.events:
            assert decision.events == ({"type": "circuit_open"},)
        now += 20
    assert actions == ["restart", "restart", "restart", "blocked", "blocked"]
    assert rec.circuit == OPEN and rec.restart_count == 3


def test_after_the_window_one_trial_restart_then_open_again_on_failure() -> None:
    rec = ServiceRecord(circuit=OPEN, opened_at=0.0, restart_times=[0.0], attempt=3)
    assert fail(rec, 50).action == "blocked"
    assert fail(rec, 100).action == "restart"
    assert rec.circuit == HALF_OPEN
    decision = fail(rec, 120)
    assert decision.action == "blocked" and decision.events == ({"type": "circuit_open"},)
    assert rec.opened_at == 120


def test_a_success_while_half_open_closes_the_circuit() -> None:
    rec = ServiceRecord(circuit=HALF_OPEN, opened_at=0.0, restart_times=[100.0], attempt=4)
    assert on_healthy(rec, POLICY, 130) == [{"type": "circuit_closed"}]
    assert (rec.circuit, rec.attempt, rec.restart_times) == (CLOSED, 0, [])


def test_a_service_healthy_again_after_the_window_closes_an_open_circuit() -> None:
    rec = ServiceRecord(circuit=OPEN, opened_at=0.0)
    assert on_healthy(rec, POLICY, 50) == []
    assert rec.circuit == OPEN
    assert on_healthy(rec, POLICY, 100) == [{"type": "circuit_closed"}]


def test_old_restarts_leave_the_window() -> None:
    rec = ServiceRecord(restart_times=[0.0, 10.0, 20.0], attempt=3, restart_count=3)
    assert fail(rec, 150).action == "restart"
    assert rec.restart_times == [150.0]


def test_staying_healthy_for_the_window_resets_the_backoff() -> None:
    rec = ServiceRecord(attempt=4)
    on_healthy(rec, POLICY, 0)
    on_healthy(rec, POLICY, 99)
    assert rec.attempt == 4
    on_healthy(rec, POLICY, 100)
    assert rec.attempt == 0


@pytest.mark.parametrize(("rec", "policy", "reason"), [
    (ServiceRecord(paused=True), POLICY, "paused"),
    (ServiceRecord(), RestartPolicy(enabled=False), "restarts disabled"),
])
def test_paused_or_disabled_services_are_left_alone(rec, policy, reason) -> None:
    decision = fail(rec, 0, policy)
    assert (decision.action, decision.reason) == ("blocked", reason)
    assert rec.restart_count == 0


def test_records_round_trip_through_json_shapes() -> None:
    rec = ServiceRecord(restart_times=[1.0], restart_count=2, circuit=OPEN, opened_at=3.0,
                        paused=True, seen=True)
    assert ServiceRecord.from_dict({**rec.as_dict(), "future_field": 1}) == rec
