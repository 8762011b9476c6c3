"""Webhook alerts against a real local HTTP server: delivery, retries, timeouts, and a bad
URL refused before the watch starts."""

from __future__ import annotations

import pytest

from phoenix_compose.errors import ConfigurationError
from phoenix_compose.watch.events import EventBus, HookRunner, make_event
from phoenix_compose.watch.service import _hooks
from phoenix_compose.watch.webhook import post

from support.webhooks import Receiver


@pytest.fixture
def receiver(request):
    made: list[Receiver] = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


EVENT = make_event("circuit_open", "web")


def test_an_event_is_posted_as_json(receiver) -> None:
    r = receiver()
    assert post({"url": r.url}, EVENT, 5) is None
    assert r.received == [EVENT]


def test_a_failing_endpoint_is_retried(receiver) -> None:
    r = receiver(fail_first=2)
    assert post({"url": r.url, "retries": 2}, EVENT, 5, sleep=lambda s: None) is None
    assert r.requests == 3 and r.received == [EVENT]
    r2 = receiver(fail_first=5)
    why = post({"url": r2.url, "retries": 1}, EVENT, 5, sleep=lambda s: None)
    assert why == f"POST {r2.url} failed after 2 tries: HTTP 500" and r2.requests == 2


def test_a_slow_endpoint_times_out(receiver) -> None:
    r = receiver(delay=2)
    why = post({"url": r.url, "retries": 0, "timeout": 0.3}, EVENT, 5)
    assert why is not None and "timed out" in why


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://x/y", "http://", None])
def test_only_http_urls_with_a_host_are_accepted(url) -> None:
    assert "must be http:// or https://" in post({"url": url}, EVENT, 5)
    with pytest.raises(ConfigurationError, match="phoenix.hooks.oom_killed"):
        _hooks(None, EventBus(), {"oom_killed": [{"url": url}]}, 1)


def test_the_hook_runner_posts_per_event_type_and_reports_failures(receiver) -> None:
    good, bad = receiver(), receiver(fail_first=10)
    errors: list[str] = []
    runner = HookRunner({"oom_killed": [{"url": good.url}],
                         "drift_detected": [{"url": bad.url, "retries": 0}]},
                        run=None, on_error=errors.append)
    runner(make_event("oom_killed", "web", limit="64m"))
    runner(make_event("drift_detected", "web"))
    runner(make_event("health_changed", "web"))
    runner.close(wait=True)
    assert [e["type"] for e in good.received] == ["oom_killed"]
    assert errors == [f"webhook for drift_detected failed: POST {bad.url} failed after 1 "
                      f"tries: HTTP 500"]
