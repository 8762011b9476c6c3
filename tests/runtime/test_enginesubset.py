"""A podman-compose call that names services reads a copy of the engine file with those
services and the ones they name, each entry as the engine file has it; the copy is the
call's alone and goes after it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import yaml

from phoenix_compose.runtime import enginesubset
from phoenix_compose.statedir import engine_file

ENGINE = {
    "name": "p",
    "services": {
        "db": {"image": "db:1", "environment": {"PRICE": "5$$"}},
        "vpn": {"image": "vpn:1"},
        "web": {"image": "web:1", "network_mode": "service:vpn",
                "x-phoenix-depends-on": "0123456789abcdef"},
        "side": {"image": "side:1", "volumes_from": ["web:ro", "container:other"]},
        "old": {"image": "old:1", "links": ["db:database"]},
        "cli": {"image": "cli:1", "ipc": "service:db", "pid": "host"},
        "img": {"build": {"context": ".", "additional_contexts": {"base": "service:db"}}},
    },
    "networks": {"default": {}, "back": {}},
    "volumes": {"data": {}},
}


def write(tmp_path: Path) -> Path:
    """The engine file of ``tmp_path/compose.yaml`` (the final file subset_file is given)."""
    path = engine_file(tmp_path / "compose.yaml")
    path.write_text(yaml.safe_dump(ENGINE, sort_keys=False))
    return path


FINAL = "compose.yaml"


def test_the_closure_follows_every_reference_podman_compose_resolves() -> None:
    services = ENGINE["services"]
    assert enginesubset.closure(services, ["side"]) == ["vpn", "web", "side"]
    assert enginesubset.closure(services, ["old"]) == ["db", "old"]
    # db's alias "database" is given by old's link: old comes with db, and what it names
    assert enginesubset.closure(services, ["db"]) == ["db", "old"]
    assert enginesubset.closure(services, ["cli"]) == ["db", "old", "cli"]
    assert enginesubset.closure(services, ["img"]) == ["db", "old", "img"]
    assert enginesubset.closure(services, ["vpn", "missing"]) == ["vpn"]


def test_the_copy_keeps_each_entry_and_every_top_level_section(tmp_path: Path) -> None:
    engine = write(tmp_path)
    with enginesubset.subset_file(tmp_path / FINAL, ["web"]) as path:
        assert path != engine and path.parent == engine.parent  # the same working dir
        copy = yaml.safe_load(path.read_text())
    assert list(copy["services"]) == ["vpn", "web"]
    for name, entry in copy["services"].items():  # so podman-compose's hash is the same
        assert entry == ENGINE["services"][name]
    assert {k: v for k, v in copy.items() if k != "services"} == \
        {k: v for k, v in ENGINE.items() if k != "services"}
    assert not path.exists()  # the call's alone: gone after it


def test_every_service_named_or_an_unreadable_file_gives_the_engine_file(
        tmp_path: Path) -> None:
    engine = write(tmp_path)
    with enginesubset.subset_file(tmp_path / FINAL, list(ENGINE["services"])) as path:
        assert path == engine
    engine.write_text("services: [unclosed\n")
    with enginesubset.subset_file(tmp_path / FINAL, ["db"]) as path:
        assert path == engine  # podman-compose reads it and says what is wrong
    link = engine_file(tmp_path / "other.yaml")
    link.symlink_to(write(tmp_path))
    with enginesubset.subset_file(tmp_path / "other.yaml", ["db"]) as path:
        assert path == link  # never read through a link


def test_two_calls_at_once_get_two_copies(tmp_path: Path) -> None:
    write(tmp_path)
    with enginesubset.subset_file(tmp_path / FINAL, ["db"]) as one, \
            enginesubset.subset_file(tmp_path / FINAL, ["db"]) as two:
        assert one != two and one.exists() and two.exists()
    assert not one.exists() and not two.exists()


def test_a_copy_a_killed_call_left_is_removed_once_stale(tmp_path: Path) -> None:
    write(tmp_path)
    stale = tmp_path / f"{enginesubset.PREFIX}1-dead.yaml"
    fresh = tmp_path / f"{enginesubset.PREFIX}2-live.yaml"
    for path in (stale, fresh):
        path.write_text("services: {}\n")
    old = time.time() - enginesubset.STALE_S - 1
    os.utime(stale, (old, old))
    with enginesubset.subset_file(tmp_path / FINAL, ["db"]):
        pass
    assert not stale.exists() and fresh.exists()  # a running call's copy stays


def test_each_creation_call_reads_a_copy_of_its_own_batch(make_stack) -> None:
    from phoenix_compose.config.pipeline import prepare
    from phoenix_compose.runtime.startup.creation import Creator, levels

    root = make_stack({"envs/t.env": "", "compose/a.yaml": """
        services:
          db: {image: d:1}
          cache: {image: c:1}
          web: {image: w:1, depends_on: [db, cache]}
        """})
    stack = prepare(root, "t", process={}).stack
    seen: list[tuple[list[str], set[str]]] = []

    def run(line, **_kw):  # noqa: ANN001, ANN003, ANN202
        read = yaml.safe_load(Path(line[line.index("-f") + 1]).read_text())
        seen.append((list(line[line.index("--") + 1:]), set(read["services"])))

    creator = Creator(stack, levels(stack, ["db", "cache", "web"]), run, ())
    creator()
    assert creator.error is None
    assert seen == [(["db", "cache"], {"db", "cache"}), (["web"], {"web"})]
    assert not list((root / ".phoenix" / "t").glob(f"{enginesubset.PREFIX}*"))
