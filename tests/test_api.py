"""The public API of the config engine (phoenix_compose.api)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phoenix_compose import api


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def test_interpolate_substitutes_every_operator() -> None:
    variables = {"A": "x", "EMPTY": ""}
    assert api.interpolate("${A}-${B:-d}-${EMPTY:-e}-${A:+alt}-$$A", variables) == "x-d-e-alt-$A"


def test_interpolate_raises_located_problems() -> None:
    with pytest.raises(api.ConfigurationError) as info:
        api.interpolate("ab ${NEED:?set it}", {})
    problem = info.value.problems[0]
    assert (problem.file, problem.line, problem.column) == ("<string>", 1, 4)
    assert "required variable NEED is missing a value: set it" in problem.message


def test_load_project_merges_files_in_order_with_paths_resolved(tmp_path: Path) -> None:
    base = write(tmp_path, "a.yaml", """
        services:
          web:
            image: web:${TAG}
            environment: [A=1]
            build: ./web
          admin:
            image: admin:1
            profiles: [debug]
        """)
    over = write(tmp_path, "b.yaml", """
        services:
          web:
            environment: {B: "2"}
        """)
    model = api.load_project([base, over], {"TAG": "3"})
    web = model["services"]["web"]
    assert web["image"] == "web:3"
    assert web["environment"] == {"A": "1", "B": "2"}
    assert web["build"] == {"context": str(tmp_path / "web")}
    assert "admin" not in model["services"]
    assert "admin" in api.load_project([base], {"TAG": "3"}, profiles=["debug"])["services"]


def test_load_project_resolves_against_the_given_project_dir(tmp_path: Path) -> None:
    path = write(tmp_path, "c.yaml", "services: {web: {image: w, build: ./x}}\n")
    model = api.load_project([path], {}, project_dir="/srv/app")
    assert model["services"]["web"]["build"] == {"context": "/srv/app/x"}


def test_load_project_validates_on_request_with_located_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", """
        services:
          web:
            image: w
            depends_on: [db]
        """)
    assert "web" in api.load_project([path], {})["services"]
    with pytest.raises(api.ConfigurationError) as info:
        api.load_project([path], {}, validate=True)
    problem = info.value.problems[0]
    assert (problem.file, problem.line) == (str(path), 4)
    assert "depends on undefined service 'db'" in problem.message


def test_load_project_reports_yaml_and_interpolation_errors(tmp_path: Path) -> None:
    broken = write(tmp_path, "x.yaml", "services: {web: {image: ${X:?needed}}}\n")
    with pytest.raises(api.ConfigurationError) as info:
        api.load_project([broken], {})
    assert info.value.problems[0].file == str(broken)


def test_load_project_masks_the_secrets_it_was_given_in_its_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "a.yaml", """
        services:
          web:
            image: w
            privileged: ${API_TOKEN}
            read_only: ${DATABASE_URL}
        """)
    with pytest.raises(api.ConfigurationError) as info:
        api.load_project([path], {"API_TOKEN": "tok-s3cret-1", "DATABASE_URL": "pg://u:pw@h/x"})
    text = str(info.value)
    assert "tok-s3cret-1" not in text and ":pw@" not in text, text
    assert "invalid boolean: ********" in text and "pg://u:********@h/x" in text
