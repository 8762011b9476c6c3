"""The folders of a stack and the cache key: compose/ or templates/ that is a symlink leading
outside, or a ``COMPOSE_FILE`` through such a folder, is a located error before anything
under it is opened (the validation cache key used to read it all, even ``templates -> /``),
and the walk of templates/ for partials never follows a symlinked folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import check, prepare
from phoenix_compose.errors import ConfigurationError


def refused(root: Path, process: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        load_environment(root, "dev" if (root / "envs" / "dev.env").exists() else "default",
                         process or {})
    return [str(p) for p in info.value.problems if p.severity == "error"]


@pytest.mark.parametrize("folder", ["templates", "compose"])
def test_a_stack_folder_linked_outside_is_a_located_error_and_nothing_under_it_is_read(
        make_stack, outside, opened, folder) -> None:
    (outside / "a.yaml").write_text("services: {web: {image: 'w:1'}}\n")
    (outside / "a.yaml.j2").write_text("services: {web: {image: 'w:1'}}\n")
    files = {"envs/dev.env": "", "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"}
    root = make_stack({k: v for k, v in files.items() if not k.startswith(folder)})
    (root / folder).symlink_to(outside, target_is_directory=True)
    opened.clear()  # (the two writes above)
    found = refused(root)
    assert [p.split(": error: ")[0] for p in found] == [f"{folder}:0:0"], found
    assert "outside the stack root" in found[0]
    with pytest.raises(ConfigurationError):
        check(root, "dev", use_cache=True)
    with pytest.raises(ConfigurationError):
        prepare(root, "dev", process={})
    assert opened == []


def test_a_compose_file_through_a_linked_folder_of_a_compose_project_is_refused_unopened(
        make_stack, outside, opened) -> None:
    root = make_stack({"compose.yaml": "services: {web: {image: 'w:1'}}\n",
                       ".env": "COMPOSE_FILE=compose.yaml:sub/other.yaml\n"})
    (root / "envs").rmdir()
    (root / "sub").symlink_to(outside, target_is_directory=True)
    found = refused(root)
    assert len(found) == 1 and found[0].startswith(".env:1:1: error: sub/other.yaml "), found
    assert opened == []


def test_the_partials_walk_does_not_follow_a_linked_folder_under_templates(
        make_stack, outside, opened) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services: {}\n",
                       "templates/b.yaml.j2": "services: {web: {image: 'w:1'}}\n",
                       "templates/parts/p.j2": "x: 1\n"})
    (root / "templates" / "linked").symlink_to(outside, target_is_directory=True)
    assert check(root, "dev").cached is False
    prepare(root, "dev", process={})
    assert check(root, "dev").cached is True  # the key was computed: and read nothing outside
    assert opened == []


def test_a_partial_change_still_misses_the_cache(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services: {}\n",
                       "templates/b.yaml.j2": "services: {web: {image: 'w:1'}}\n",
                       "templates/parts/p.j2": "x: 1\n"})
    prepare(root, "dev", process={})
    assert check(root, "dev").cached is True
    (root / "templates" / "parts" / "p.j2").write_text("x: 2\n")
    assert check(root, "dev").cached is False
