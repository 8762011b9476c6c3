"""Drift rules without podman: what counts as drift in one container's inspect output (the
shapes podman 4.3 gives), and what does not."""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.runtime.fingerprint import Applied
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.watch.drift import compare, interval

DIGEST = "sha256:" + "a" * 64
RAW = {"image": f"127.0.0.1:5000/app@{DIGEST}", "environment": {"MODE": "normal", "N": 1},
       "volumes": [{"type": "volume", "source": "data", "target": "/data"}],
       "ports": [{"host_ip": "127.0.0.1", "published": "8080", "target": 80,
                  "protocol": "tcp"}, "9000:90"],
       "labels": {"team": "core"}}


def stack(raw: dict = RAW, top: dict | None = None) -> Stack:
    spec = ServiceSpec("web", "p_web_1", raw.get("image"), False,
                       ports=tuple(raw.get("ports") or ()), raw=raw)
    return Stack("p", Path("c.yaml"), {"web": spec}, top=top or {})


def container(**changes) -> dict:
    item = {"ImageDigest": DIGEST, "ImageName": f"127.0.0.1:5000/app@{DIGEST}",
            "Config": {"Env": ["MODE=normal", "N=1", "PATH=/bin", "container=podman",
                               "FROM_IMAGE=x"], "Labels": {"team": "core"}},
            "Mounts": [{"Type": "volume", "Destination": "/data"},
                       {"Type": "bind", "Destination": "/run/secrets/pw"}],
            "NetworkSettings": {"Ports": {"80/tcp": [{"HostIp": "127.0.0.1",
                                                      "HostPort": "8080"}],
                                          "90/tcp": [{"HostIp": "", "HostPort": "9000"}]}}}
    item.update(changes)
    return item


def diffs(item: dict, raw: dict = RAW) -> list[tuple]:
    found = compare(stack(raw), "web", item, {"FROM_IMAGE": "x"}, Applied(Path("/nonexistent")))
    return [(d["field"], d.get("name"), d.get("change"), d.get("expected"), d.get("actual"))
            for d in found if d["field"] != "config-hash"]


def test_a_container_as_the_config_says_has_no_drift() -> None:
    assert diffs(container()) == []


def test_each_kind_of_drift_is_named() -> None:
    item = container(ImageDigest="sha256:" + "b" * 64,
                     Config={"Env": ["MODE=debug", "EXTRA=1"], "Labels": {"team": "ops"}},
                     Mounts=[{"Type": "bind", "Destination": "/etc/app"}],
                     NetworkSettings={"Ports": {"80/tcp": [{"HostIp": "0.0.0.0",
                                                            "HostPort": "8080"}]}})
    assert diffs(item) == [
        ("image", None, None, DIGEST, "sha256:" + "b" * 64),
        ("environment", "EXTRA", "added", None, None),
        ("environment", "MODE", "changed", None, None),
        ("environment", "N", "removed", None, None),
        ("mounts", None, None, "/data", None),
        ("mounts", None, None, None, "/etc/app"),
        ("ports", None, None, "0.0.0.0:9000->90/tcp", None),
        ("ports", None, None, "127.0.0.1:8080->80/tcp", None),
        ("ports", None, None, None, "0.0.0.0:8080->80/tcp"),
        ("labels", "team", None, "core", "ops"),
    ]


def test_a_tagged_image_is_compared_by_name_and_a_container_not_made_by_phoenix_is_said() -> None:
    raw = {**RAW, "image": "busybox:1"}
    assert diffs(container(ImageName="docker.io/library/busybox:1"), raw) == []
    assert diffs(container(ImageName="busybox:2"), raw)[0][3:] == ("busybox:1", "busybox:2")
    found = compare(stack(), "web", container(), {}, Applied(Path("/nonexistent")))
    assert found[-1]["field"] == "config-hash" and found[-1]["actual"] is None


def test_the_interval_defaults_to_60_and_0_turns_it_off() -> None:
    assert interval(stack()) == 60
    assert interval(stack(top={"x-phoenix-drift-interval": 0})) == 0
    assert interval(stack(top={"x-phoenix-drift-interval": "5"})) == 5


def test_drift_is_checked_once_per_interval_on_the_watchers_clock(monkeypatch) -> None:
    """What the real-podman test's "within one interval" stands for, on a fake clock: a
    change is seen by the next check, and checks come every interval, no later."""
    from phoenix_compose.watch import drift

    from support import SyncExecutor

    found: list[dict] = [{}, {"web": [{"field": "environment"}]}, {}]
    monkeypatch.setattr(drift, "detect", lambda *args: found.pop(0))
    events: list[tuple[str, object]] = []
    watch = drift.DriftWatch(stack(top={"x-phoenix-drift-interval": 2}), run=None,
                             applied_path=Path("/nonexistent"),
                             emit=lambda kind, service, **_: events.append((kind, service)))
    for now in (0.0, 1.0, 1.9, 2.0, 3.5, 4.0, 5.9):
        watch.maybe(SyncExecutor(), now, lambda name: True)
    assert events == [("drift_checked", None),  # at 0
                      ("drift_detected", "web"), ("drift_checked", None),  # at 2
                      ("drift_resolved", "web"), ("drift_checked", None)]  # at 4
    assert found == []  # three checks, not one more


def test_a_pass_through_variable_is_no_drift_whether_the_host_had_it_or_not() -> None:
    raw = {**RAW, "environment": {**RAW["environment"], "HOST_VAR": None}}
    assert diffs(container(), raw) == []
    env = container()["Config"]["Env"] + ["HOST_VAR=from-host"]
    assert diffs(container(Config={"Env": env, "Labels": {"team": "core"}}), raw) == []
