"""One JSON vocabulary for every ``--json`` output (issue 24): the same thing has the same
name everywhere (``service``, ``status``, ``restarts``, durations in ``*_s``)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from phoenix_compose.runtime.containers import ServiceState
from phoenix_compose.runtime.status import ServiceStatus
from phoenix_compose.watch.observe import HealthStatus

SHARED = {"service", "status", "restarts", "uptime_s"}


def test_status_and_health_check_name_the_same_fields_alike() -> None:
    row = ServiceStatus("web", "p_web_1", "running", ServiceState.HEALTHY, 12.5, 2, ())
    health = HealthStatus("web", ServiceState.HEALTHY, datetime(2026, 1, 1, tzinfo=timezone.utc),
                          0.0123, None, 2, timedelta(seconds=12.5))
    status, checked = row.as_dict(), health.as_dict()
    assert SHARED <= set(status) and SHARED <= set(checked)
    assert {k: status[k] for k in SHARED} == {k: checked[k] for k in SHARED}
    assert checked["response_time_s"] == 0.012 and checked["last_check"].startswith("2026")


def test_every_duration_field_is_in_seconds_and_says_so() -> None:
    health = HealthStatus("web", ServiceState.RUNNING, datetime(2026, 1, 1, tzinfo=timezone.utc),
                          None, "boom", 0, None)
    assert not {"uptime", "response_time", "service_name", "restart_count",
                "error_message"} & set(health.as_dict())
