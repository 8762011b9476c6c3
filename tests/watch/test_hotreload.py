"""``inv config.watch``: debounced re-validation, events, and hot reload on real podman."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, podman
from phoenix_compose.runtime.lifecycle import ComposeManager
from phoenix_compose.watch.hotreload import changed_services, config_watch

DEBOUNCE_MS = 300


class ConfigWatcher:
    def __init__(self, root: Path, env: str, **kwargs) -> None:
        self.events: list[tuple[float, dict]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=config_watch, args=(root, env), kwargs=dict(
            debounce_ms=DEBOUNCE_MS, as_json=True, stop=self.stop,
            out=lambda line: self.events.append((time.monotonic(), json.loads(line))),
            **kwargs), daemon=True)
        self.thread.start()
        time.sleep(1.0)  # let the watcher settle before the first edit

    def wait_for(self, type_: str, after: float, timeout: float = 30) -> tuple[float, dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, event in list(self.events):
                if event["type"] == type_ and when >= after:
                    return when, event
            time.sleep(0.02)
        raise AssertionError(f"no {type_}: {[e['type'] for _, e in self.events]}")

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)
        assert not self.thread.is_alive()


STACK = {
    "envs/t.env": "COMPOSE_PROJECT_NAME={project}\n",
    "compose/app.yaml": """
        services:
          a:
            image: {image}
            command: ["sleep", "1d"]
            environment: {{GREETING: hello}}
            stop_grace_period: 1s
          b:
            image: {image}
            command: ["sleep", "1d"]
            stop_grace_period: 1s
        """,
}


def make(make_stack, project: str = "p", image: str = "img:1") -> Path:
    return make_stack({k: v.format(project=project, image=image) for k, v in STACK.items()})


def edit(root: Path, old: str, new: str) -> float:
    path = root / "compose" / "app.yaml"
    path.write_text(path.read_text().replace(old, new))
    return time.monotonic()


def test_changed_services_compares_final_configs() -> None:
    assert changed_services({"a": {"x": 1}, "b": {}}, {"a": {"x": 2}, "b": {}, "c": {}}) == \
        ["a", "c"]


def test_an_edit_emits_config_changed_within_a_second_of_the_debounce(make_stack) -> None:
    root = make(make_stack)
    w = ConfigWatcher(root, "t")
    try:
        edited = edit(root, "hello", "bonjour")
        when, event = w.wait_for("config_changed", edited)
        assert when - edited <= DEBOUNCE_MS / 1000 + 1.0
        assert event["services"] == ["a"] and event["files"] == ["compose/app.yaml"]
        broken = edit(root, "sleep", "sleep\"")
        _, invalid = w.wait_for("config_invalid", broken)
        assert invalid["errors"][0].startswith("compose/app.yaml:")
        assert "error: invalid YAML" in invalid["errors"][0]
    finally:
        w.close()
    logged = [json.loads(x)["type"] for x in
              (root / ".phoenix/t/events.jsonl").read_text().splitlines()]
    assert logged == ["config_changed", "config_invalid", "config_watch_stopped"]


@pytest.mark.podman
def test_apply_restarts_only_the_changed_service_and_an_invalid_edit_nothing(
        make_stack, podman_project, busybox_image) -> None:
    root = make(make_stack, podman_project, busybox_image)
    ComposeManager(root, "t").start_services(timeout=60)

    def ids() -> dict[str, tuple[str, str]]:
        items = json.loads(podman.run(argv.inspect(f"{podman_project}_a_1",
                                                     f"{podman_project}_b_1")).stdout)
        return {i["Name"]: (i["Id"], i["State"]["StartedAt"]) for i in items}

    before = ids()
    w = ConfigWatcher(root, "t", apply=True)
    try:
        edited = edit(root, "hello", "bonjour")
        w.wait_for("config_applied", edited, timeout=60)
        after = ids()
        assert after[f"{podman_project}_a_1"][0] != before[f"{podman_project}_a_1"][0]
        assert after[f"{podman_project}_b_1"] == before[f"{podman_project}_b_1"]
        env = json.loads(podman.run(argv.inspect(f"{podman_project}_a_1")).stdout)[0][
            "Config"]["Env"]
        assert "GREETING=bonjour" in env

        broken = edit(root, "bonjour", "${NOPE:?must be set}")
        w.wait_for("config_invalid", broken)
        time.sleep(1.0)
        assert ids() == after  # nothing was touched
    finally:
        w.close()


def test_every_cycle_is_framed_by_the_markers_vscode_waits_for(make_stack) -> None:
    from phoenix_compose.watch.service import BEGIN_LINE, READY_LINE

    root = make(make_stack)
    lines: list[str] = []
    stop = threading.Event()
    thread = threading.Thread(target=config_watch, args=(root, "t"), kwargs=dict(
        debounce_ms=DEBOUNCE_MS, stop=stop, out=lines.append), daemon=True)
    thread.start()
    time.sleep(1.0)
    try:
        for old, new in (("hello", "bonjour"), ("sleep", "sleep\"")):
            edit(root, old, new)
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and \
                    sum(line.startswith(READY_LINE) for line in lines) < 2 + (old == "sleep"):
                time.sleep(0.05)
    finally:
        stop.set()
        thread.join(10)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN_LINE)]
    ends = [i for i, line in enumerate(lines) if line.startswith(READY_LINE)]
    assert len(begins) == len(ends) == 3  # the start, and one pair per change
    assert all(b < e for b, e in zip(begins, ends))
    invalid = lines[begins[2]:ends[2]]
    assert any(line.startswith("compose/app.yaml:") for line in invalid)
    assert lines[ends[2]].endswith("config invalid")
