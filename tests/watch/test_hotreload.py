"""``inv config.watch``: debounced re-validation, events, and hot reload on real podman."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands
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
        self.settle(root)

    def settle(self, root: Path) -> None:
        """Rewrite a file, unchanged, until the watcher reports it: from then on it sees
        every edit (an edit made before its watch is set up would be missed)."""
        app = root / "compose" / "app.yaml"
        for _ in range(100):  # a hang guard: it answers within one debounce
            app.write_text(app.read_text())
            try:
                self.wait_for("config_changed", 0, timeout=1)
                return
            except AssertionError:
                continue
        raise AssertionError(f"config.watch never saw an edit: {self.events}")

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


class Edits:
    """Stands in for watchfiles.watch: each batch it yields is an edit it made first, so
    the watch runs in line, with no waiting (the real file watching is the podman test
    below)."""

    def __init__(self, root: Path, *edits: tuple[str, str]) -> None:
        self.root, self.edits = root, edits
        self.options: dict = {}

    def __call__(self, *folders: Path, **options):
        self.folders, self.options = folders, options
        for old, new in self.edits:
            edit(self.root, old, new)
            yield {(2, str(self.root / "compose" / "app.yaml"))}  # 2: modified


def test_each_edit_emits_config_changed_or_config_invalid(make_stack, monkeypatch) -> None:
    import watchfiles

    root = make(make_stack)
    edits = Edits(root, ("hello", "bonjour"), ("sleep", "sleep\""))
    monkeypatch.setattr(watchfiles, "watch", edits)
    events: list[dict] = []
    config_watch(root, "t", debounce_ms=DEBOUNCE_MS, as_json=True,
                 out=lambda line: events.append(json.loads(line)))
    assert edits.options["debounce"] == DEBOUNCE_MS  # batched by watchfiles' debounce
    assert {f.name for f in edits.folders} == {"compose", "envs"}  # no templates/ here
    changed, invalid, stopped = events
    assert changed["type"] == "config_changed"
    assert changed["services"] == ["a"] and changed["files"] == ["compose/app.yaml"]
    assert invalid["type"] == "config_invalid"
    assert invalid["errors"][0].startswith("compose/app.yaml:")
    assert "error: invalid YAML" in invalid["errors"][0]
    assert stopped["type"] == "config_watch_stopped"
    logged = [json.loads(x)["type"] for x in
              (root / ".phoenix/t/events.jsonl").read_text().splitlines()]
    assert logged == ["config_changed", "config_invalid", "config_watch_stopped"]


@pytest.mark.podman
def test_apply_restarts_only_the_changed_service_and_an_invalid_edit_nothing(
        make_stack, podman_project, busybox_image) -> None:
    root = make(make_stack, podman_project, busybox_image)
    ComposeManager(root, "t").start_services(timeout=60)

    def ids() -> dict[str, tuple[str, str]]:
        items = json.loads(commands.run(argv.inspect(f"{podman_project}_a_1",
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
        env = json.loads(commands.run(argv.inspect(f"{podman_project}_a_1")).stdout)[0][
            "Config"]["Env"]
        assert "GREETING=bonjour" in env

        broken = edit(root, "bonjour", "${NOPE:?must be set}")
        w.wait_for("config_invalid", broken)  # that batch is done: nothing runs after it
        assert ids() == after  # nothing was touched
    finally:
        w.close()


def test_every_cycle_is_framed_by_the_markers_vscode_waits_for(make_stack,
                                                              monkeypatch) -> None:
    import watchfiles

    from phoenix_compose.watch.service import BEGIN_LINE, READY_LINE

    root = make(make_stack)
    monkeypatch.setattr(watchfiles, "watch", Edits(root, ("hello", "bonjour"),
                                                   ("sleep", "sleep\"")))
    lines: list[str] = []
    config_watch(root, "t", debounce_ms=DEBOUNCE_MS, out=lines.append)
    begins = [i for i, line in enumerate(lines) if line.startswith(BEGIN_LINE)]
    ends = [i for i, line in enumerate(lines) if line.startswith(READY_LINE)]
    assert len(begins) == len(ends) == 3  # the start, and one pair per change
    assert all(b < e for b, e in zip(begins, ends))
    invalid = lines[begins[2]:ends[2]]
    assert any(line.startswith("compose/app.yaml:") for line in invalid)
    assert lines[ends[2]].endswith("config invalid")
