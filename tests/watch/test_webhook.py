"""Webhook alerts against a real local HTTP server: delivery, retries, timeouts, and a bad
URL refused before the watch starts."""

from __future__ import annotations

import time

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


def origin(url: str) -> str:
    """http://127.0.0.1:PORT, without the path."""
    return url.rsplit("/", 1)[0]


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
    assert why == f"POST {origin(r2.url)}/... failed after 2 tries: HTTP 500"
    assert r2.requests == 2


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
    assert errors == [f"webhook for drift_detected failed: POST {origin(bad.url)}/... failed "
                      f"after 1 tries: HTTP 500"]


def test_a_failed_webhook_is_logged_without_its_path_or_query(receiver) -> None:
    r = receiver(fail_first=10)
    errors: list[str] = []
    runner = HookRunner({"*": [{"url": f"{r.url}/T0KEN-in-path?key=Q-s3cret", "retries": 0}]},
                        run=None, on_error=errors.append)
    runner(EVENT)
    runner.close(wait=True)
    assert errors == [f"webhook for circuit_open failed: POST {origin(r.url)}/... failed after "
                      "1 tries: HTTP 500"]
    unreachable = post({"url": "http://127.0.0.1:9/T0KEN?key=Q-s3cret", "retries": 0}, EVENT, 1)
    assert unreachable is not None and "T0KEN" not in unreachable and "Q-s3cret" not in \
        unreachable and unreachable.startswith("POST http://127.0.0.1:9/... failed")


@pytest.mark.parametrize("url", ["https://alice:pa55w0rd@alerts.example/hook",
                                 "http://pa55w0rd@127.0.0.1:9/hook"])
def test_a_webhook_url_with_userinfo_is_refused_before_the_watch_starts(url) -> None:
    with pytest.raises(ConfigurationError) as info:
        _hooks(None, EventBus(), {"oom_killed": [{"url": "http://127.0.0.1:9/ok"},
                                                 {"url": url}]}, 1)
    text = str(info.value)
    assert "phoenix.hooks.oom_killed[1].url: webhook url " in text
    assert "must not carry user:password@" in text and "pa55w0rd" not in text
    why = post({"url": url}, EVENT, 1)  # and never sent (nor resolved) by a runner either
    assert why is not None and "must not carry user:password@" in why and "pa55w0rd" not in why


def test_hooks_webhooks_and_the_log_all_get_the_same_masked_event(receiver, make_stack,
                                                                   tmp_path) -> None:
    """The bus masks once, before every subscriber: a secret a health check echoed reaches
    no webhook, command hook or log in clear (they used to get the unmasked event)."""
    from phoenix_compose.config.masking import MASK, masker_for
    from phoenix_compose.runtime import commands
    from phoenix_compose.watch.events import EventLog

    root = make_stack({"envs/t.env": "STRIPE_APIKEY=sk_live_s3cret\n",
                       "compose/a.yaml": "services: {}\n"})
    r = receiver()
    got = tmp_path / "hook.json"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\ncat > {got}\n")
    script.chmod(0o755)
    bus = EventBus(masker_for(root, "t").tree)
    runner = HookRunner({"health_changed": [{"url": r.url}, [str(script)]]}, commands.run)
    bus.subscribe(runner)
    bus.subscribe(EventLog(tmp_path / "events.jsonl"))
    bus.emit("health_changed", "web", **{"from": "healthy", "to": "unhealthy",
                                        "detail": "auth failed for key sk_live_s3cret\n"})
    runner.close(wait=True)
    (posted,) = r.wait(1)
    assert posted["detail"] == f"auth failed for key {MASK}\n"
    assert "sk_live_s3cret" not in got.read_text() and MASK in got.read_text()
    assert "sk_live_s3cret" not in (tmp_path / "events.jsonl").read_text()


@pytest.mark.podman
def test_a_secret_a_health_check_echoes_reaches_hooks_and_health_check_masked(
        make_stack, podman_project, busybox_image, up, receiver, tmp_path) -> None:
    """The real watch on real podman: the unhealthy check's output quotes the API key; the
    webhook, the command hook, the terminal and events.jsonl all get it masked."""
    from phoenix_compose.config.masking import MASK
    from phoenix_compose.runtime import commands
    from phoenix_compose.watch.service import check

    probe = "test ! -f /tmp/fail || { echo auth failed for key $$STRIPE_APIKEY; exit 1; }"
    root = make_stack({
        "envs/t.env": f"COMPOSE_PROJECT_NAME={podman_project}\nSTRIPE_APIKEY=sk_live_s3cret\n",
        "compose/app.yaml": f"""
            services:
              web:
                image: {busybox_image}
                command: ["sleep", "1d"]
                stop_grace_period: 1s
                environment: {{STRIPE_APIKEY: "${{STRIPE_APIKEY}}"}}
                healthcheck: {{test: ["CMD-SHELL", "{probe}"], interval: 1s, retries: 1}}
            """})
    r = receiver()
    got = tmp_path / "hook.json"
    script = tmp_path / "hook.sh"
    script.write_text(f"#!/bin/sh\ncat >> {got}\n")
    script.chmod(0o755)
    w = up(root, interval=1, heal=False,
           hooks={"health_changed": [{"url": r.url}, [str(script)]]})
    commands.run(("podman", "exec", f"{podman_project}_web_1", "touch", "/tmp/fail"))
    seen = w.wait_for(lambda e: e["type"] == "health_changed" and e["to"] == "unhealthy", 30)
    assert seen["detail"].strip() == f"auth failed for key {MASK}"
    (web,) = check(root, "t")[0]  # `inv health.check` prints the same output, masked too
    assert web.error_message is not None
    assert web.error_message.strip() == f"auth failed for key {MASK}"
    posted = [e for e in r.wait(2) if e.get("to") == "unhealthy"]
    assert posted and posted[0]["detail"].strip() == f"auth failed for key {MASK}", r.received
    deadline = time.monotonic() + 10  # the command hook runs in the background
    while "unhealthy" not in (got.read_text() if got.exists() else "") and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    hooked = got.read_text()
    log = (root / ".phoenix" / "t" / "events.jsonl").read_text()
    assert f"key {MASK}" in hooked and f"key {MASK}" in log
    assert not any("sk_live_s3cret" in str(x) for x in (r.received, hooked, log, w.events))
