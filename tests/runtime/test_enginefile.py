"""podman-compose reads a copy of the final file without ``depends_on`` (its start-up walks
every dependency path with no memo), written with the final file; every podman-compose
command line names that copy, so every call sees the same config hashes."""

from __future__ import annotations

from pathlib import Path

import yaml

from phoenix_compose import fileio
from phoenix_compose.config import enginefile
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.runtime import argv, argv_compose
from phoenix_compose.runtime.lastvalid import last_valid
from phoenix_compose.runtime.startup.creation import start_lines
from phoenix_compose.statedir import StateDir, engine_file

STACK = {
    "envs/t.env": "",
    "compose/a.yaml": """
        services:
          db:
            image: d:1
            healthcheck: {test: [CMD, 'true'], interval: 1s}
            environment: {PRICE: "5$$"}
          cache: {image: c:1}
          web:
            image: w:1
            depends_on:
              db: {condition: service_healthy}
              cache: {condition: service_started, restart: true}
            links: ['cache:kv']
        """,
}


def test_the_copy_is_the_final_file_without_depends_on(make_stack) -> None:
    root = make_stack(STACK)
    project = prepare(root, "t", process={})
    final = yaml.safe_load(project.compose_file.read_text())
    copy = yaml.safe_load(StateDir(root, "t").engine_file.read_text())
    assert final["services"]["web"]["depends_on"]  # the user-visible output keeps it
    assert all("depends_on" not in svc for svc in copy["services"].values())
    for svc in final["services"].values():  # kept where podman-compose resolves nothing
        if "depends_on" in svc:
            svc[enginefile.KEPT_AS] = enginefile.depends_digest(svc.pop("depends_on"))
    assert copy == final  # all else equal: links, the escaped '$$', the top level
    assert copy["services"]["web"]["links"] == ["cache:kv"]
    assert copy["services"]["db"]["environment"]["PRICE"] == "5$$"
    assert project.stack.services["web"].depends_on  # phoenix's own ordering reads the final


def test_the_copy_is_written_in_the_same_atomic_write_as_the_final_file(
        make_stack, monkeypatch) -> None:
    root = make_stack(STACK)
    state = StateDir(root, "t")
    writes: list[set[Path]] = []
    real = fileio.write_files

    def spy(files, *args, **kwargs):
        writes.append(set(files))
        return real(files, *args, **kwargs)

    monkeypatch.setattr(fileio, "write_files", spy)
    prepare(root, "t", process={})
    assert [w for w in writes if state.compose_file in w] == \
        [w for w in writes if state.engine_file in w]
    assert any({state.compose_file, state.engine_file} <= w for w in writes)


def test_a_deleted_copy_makes_the_cache_stale_and_is_written_again(make_stack) -> None:
    root = make_stack(STACK)
    state = StateDir(root, "t")
    assert not prepare(root, "t", process={}).cached
    expected = state.engine_file.read_text()
    state.engine_file.unlink()
    assert not prepare(root, "t", process={}).cached  # the copy is one of its outputs
    assert state.engine_file.read_text() == expected
    assert prepare(root, "t", process={}).cached


def test_a_fresh_cache_of_an_older_phoenix_gets_its_copy(make_stack, monkeypatch) -> None:
    root = make_stack(STACK)
    state = StateDir(root, "t")
    with monkeypatch.context() as older:  # an older phoenix wrote no copy
        older.setattr(enginefile, "files", lambda path, text, model=None: {path: text})
        prepare(root, "t", process={})
    assert not state.engine_file.exists()
    assert prepare(root, "t", process={}).cached
    assert state.engine_file.read_text() == \
        enginefile.engine_text(state.compose_file.read_text())


def test_the_last_valid_file_rewrites_an_edited_copy_from_its_verified_text(
        make_stack) -> None:
    root = make_stack(STACK)
    state = StateDir(root, "t")
    prepare(root, "t", process={})
    expected = state.engine_file.read_text()
    state.engine_file.write_text(expected.replace("image: w:1", "image: evil:1"))
    last_valid(root, "t")
    assert state.engine_file.read_text() == expected


def test_every_podman_compose_command_line_reads_the_copy(make_stack) -> None:
    root = make_stack(STACK)
    project = prepare(root, "t", process={})
    stack, final = project.stack, project.compose_file
    lines = [argv.create(final, "p", ["web"]), argv.recreate(final, "p", ["web"]),
             argv.down(final, "p"), argv_compose.run_once(final, "p", "web", ["true"]),
             argv_compose.create_scaled(final, "p", "web", 2),
             *[line for line in start_lines(stack, ["db", "cache", "web"], [])
               if line[0] == "podman-compose"]]
    assert len(lines) == 5 + 2  # two levels: db and cache, then web (level by level)
    for line in lines:
        assert line[line.index("-f") + 1] == str(StateDir(root, "t").engine_file)
    release = StateDir(root, "t").releases / "1" / "compose.yaml"  # a rollback's
    assert argv.down(release, "p")[4] == str(release.with_name("compose.podman-compose.yaml"))
    assert engine_file(Path("/s/rollback.yaml")) == Path("/s/rollback.podman-compose.yaml")


def test_a_release_keeps_its_copy_and_a_rollback_derives_it_from_the_verified_text(
        make_stack) -> None:
    from phoenix_compose.runtime.deploy import Deployer
    from phoenix_compose.runtime.releases import record
    from phoenix_compose.runtime.startup import Clock

    from support import FakePodman

    root = make_stack(STACK)
    project = prepare(root, "t", process={})
    state = StateDir(root, "t")
    record(state, project.stack, ["web"], FakePodman({}))
    release = state.releases / "1" / "compose.yaml"
    expected = enginefile.engine_text(release.read_text())
    assert engine_file(release).read_text() == expected  # recorded with it
    engine_file(release).write_text(expected.replace("image: w:1", "image: evil:1"))
    stack = Deployer(state, FakePodman({}), lambda *r: None, Clock()).verified(1)
    assert engine_file(stack.compose_file).read_text() == expected


def test_a_build_writes_the_copy_from_the_json_twin_without_parsing_the_yaml_again(
        make_stack, monkeypatch) -> None:
    root = make_stack(STACK)
    parses: list[str] = []
    real = fileio.load_own_yaml
    monkeypatch.setattr(fileio, "load_own_yaml", lambda text: parses.append(text) or real(text))
    project = prepare(root, "t", process={})
    assert parses == []  # the copy came from the final data prepare had already read back
    state = StateDir(root, "t")
    assert state.engine_file.read_text() == \
        enginefile.engine_text(project.compose_file.read_text())  # as parsing gives it
    assert parses  # (the seam counted: engine_text parses the text)


def test_the_copy_of_data_leaves_the_data_as_it_was() -> None:
    model = {"services": {"a": {"image": "i", "depends_on": {"b": {}}, "x": 1},
                          "b": {"image": "j"}}}
    copy = enginefile.engine_model(model)
    assert model["services"]["a"]["depends_on"] == {"b": {}}
    assert list(copy["services"]["a"]) == ["image", "x", enginefile.KEPT_AS]
    assert copy["services"]["b"] is model["services"]["b"]
