from __future__ import annotations

import pytest

from phoenix_compose.watch.restart_policy import Circuit, RestartPolicy
from phoenix_compose.watch.state import ServiceRecord

POLICY = RestartPolicy(max_restarts=3, window_s=100, backoff_initial_s=2, backoff_max_s=10)


def test_policy_from_the_compose_extension_and_cli_overrides() -> None:
    policy = RestartPolicy.from_config({"max_restarts": "7", "window_s": 30, "enabled": "false",
                                        "unknown": 1}, {"window_s": 45, "backoff_max_s": None})
    assert policy == RestartPolicy(enabled=False, max_restarts=7, window_s=45.0)


@pytest.mark.parametrize(("attempt", "low", "high"), [(1, 1, 2), (2, 2, 4), (3, 4, 8),
                                                       (4, 5, 10), (9, 5, 10)])
def test_backoff_doubles_up_to_the_cap_with_equal_jitter(attempt, low, high) -> None:
    assert POLICY.backoff(attempt, lambda: 0.0) == low
    assert POLICY.backoff(attempt, lambda: 1.0) == high


def test_records_round_trip_through_json_shapes() -> None:
    rec = ServiceRecord(restart_times=[1.0], restart_count=2, circuit=Circuit.OPEN,
                        opened_at=3.0, paused=True, seen=True)
    assert ServiceRecord.from_dict({**rec.as_dict(), "future_field": 1}) == rec
