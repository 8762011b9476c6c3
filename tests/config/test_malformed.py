"""Malformed and hostile files: a located error, never a traceback, earlier outputs kept."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from invoke import Exit

from phoenix_compose.cli import config as config_tasks
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.errors import ConfigurationError

from support import mock_context

GOOD = {"envs/dev.env": "", "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"}


def located(root: Path) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={})
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(("rel", "data", "expected"), [
    ("compose/a.yaml", b"services: {web: {image: '\xff'}}\n",
     "compose/a.yaml:1:26: error: not UTF-8: byte 0xff cannot be decoded"),
    ("envs/dev.env", b"A=1\nB=\xfe\n", "envs/dev.env:2:3: error: not UTF-8: byte 0xfe"),
    ("templates/10-x.yaml.j2", b"x:\n  y: \xff\n", "templates/10-x.yaml.j2:2:6: error: not "
                                                  "UTF-8: byte 0xff"),
])
def test_bytes_that_are_not_utf8_are_located(make_stack, rel, data, expected) -> None:
    root = make_stack(GOOD)
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / rel).write_bytes(data)
    out = located(root)
    assert len(out) == 1 and out[0].startswith(expected)


@pytest.mark.parametrize("rel", ["compose/b.yaml", "templates/b.yaml.j2", "envs/dev.env"])
def test_dangling_symlinks_are_located(make_stack, rel) -> None:
    root = make_stack({k: v for k, v in GOOD.items() if k != rel})
    (root / rel).parent.mkdir(parents=True, exist_ok=True)
    os.symlink("/nonexistent/file", root / rel)
    assert located(root) == [f"{rel}:0:0: error: dangling symlink: {rel} points to "
                             "/nonexistent/file, which does not exist"]


def test_a_symlink_out_of_the_stack_root_is_refused(make_stack, tmp_path) -> None:
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text("services: {evil: {image: 'e:1'}}\n")
    root = make_stack(GOOD)
    os.symlink(outside, root / "compose" / "b.yaml")
    out = located(root)
    assert len(out) == 1 and out[0].startswith("compose/b.yaml:0:0: error: symlink "
                                               "compose/b.yaml points outside the stack root")


def test_a_symlinked_overlays_folder_is_never_written_or_pruned(make_stack, tmp_path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "precious.yaml").write_text("keep me\n")
    root = make_stack({**GOOD, "templates/10-x.yaml.j2": "services: {web: {labels: {a: b}}}\n"})
    (root / ".phoenix" / "dev").mkdir(parents=True)
    os.symlink(victim, root / ".phoenix" / "dev" / "overlays")
    out = located(root)
    assert len(out) == 1 and "leads outside the stack root" in out[0]
    assert sorted(p.name for p in victim.iterdir()) == ["precious.yaml"]
    assert (victim / "precious.yaml").read_text() == "keep me\n"


@pytest.mark.parametrize("text", ["[1, 2]", '{"key": 5, "vars": [1]}', "{trunc", "",
                                  '{"key": "x", "outputs": {"a": 1}}', "null"])
def test_a_damaged_cache_is_only_stale(make_stack, text) -> None:
    root = make_stack(GOOD)
    prepare(root, "dev", process={})
    (root / ".phoenix" / "dev" / "cache.json").write_text(text)
    outcome = prepare(root, "dev", process={})
    assert not outcome.cached and outcome.compose_file.is_file()
    assert prepare(root, "dev", process={}).cached


def test_the_cache_sees_template_partials(make_stack) -> None:
    root = make_stack({**GOOD, "templates/_labels.j2": "{a: one}",
                       "templates/10-x.yaml.j2": "services:\n  web:\n    labels: "
                                                 "{% include '_labels.j2' %}\n"})
    assert "a: one" in prepare(root, "dev", process={}).compose_file.read_text()
    (root / "templates" / "_labels.j2").write_text("{a: two}")
    outcome = prepare(root, "dev", process={})
    assert not outcome.cached and "a: two" in outcome.compose_file.read_text()


def test_the_cache_sees_included_and_extended_files(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "include: [../parts/b.yaml]\n",
                       "parts/b.yaml": "services: {web: {image: 'w:1'}}\n"})
    prepare(root, "dev", process={})
    (root / "parts" / "b.yaml").write_text("services: {web: {image: 'w:2'}}\n")
    outcome = prepare(root, "dev", process={})
    assert not outcome.cached and "image: w:2" in outcome.compose_file.read_text()


def test_env_file_warnings_are_shown(make_stack) -> None:
    root = make_stack({**GOOD, "envs/dev.env": "# x\nURL=http://${HOST}/\n"})
    outcome = prepare(root, "dev", process={})
    assert any(w.startswith("envs/dev.env:2:1: warning: variable HOST is not set")
               for w in outcome.warnings)


def test_a_broken_env_line_never_prints_a_secret(make_stack) -> None:
    root = make_stack({**GOOD, "envs/dev.env": 'DB_PASSWORD="hunter2-secret\n'})
    out = located(root)
    assert out and all("hunter2" not in line for line in out)
    assert "DB_PASSWORD=********" in out[0]


def test_the_task_prints_located_lines_and_exits_1_without_a_traceback(make_stack,
                                                                          capsys) -> None:
    root = make_stack(GOOD)
    (root / "compose" / "a.yaml").write_bytes(b"\xff")
    with pytest.raises(Exit) as info:
        config_tasks.validate(mock_context(root), env="dev")
    err = capsys.readouterr().err
    assert info.value.code == 1 and "Traceback" not in err
    assert err.startswith("compose/a.yaml:1:1: error: not UTF-8")
    assert json.dumps(err)  # printable
