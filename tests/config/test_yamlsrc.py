from __future__ import annotations

import pytest

from phoenix_compose.config.yamlsrc import OVERRIDE, RESET, flatten, load, plain_locator
from phoenix_compose.errors import ConfigurationError, Loc

DOC = """\
services:
  web:
    image: "nginx:1.25"
    ports:
      - 8080:80
    healthcheck: &hc
      retries: 3
  api:
    healthcheck: *hc
    x-base: &base {a: 1, b: 2}
    merged:
      <<: *base
      b: 3
"""


def test_every_value_and_key_remembers_its_line_and_column() -> None:
    data, where = flatten(load(DOC, plain_locator("compose/a.yaml")))
    assert data["services"]["web"]["image"] == "nginx:1.25"
    assert where[("services", "web", "image")].loc == Loc("compose/a.yaml", 3, 13)
    assert where[("services", "web", "image")].kloc == Loc("compose/a.yaml", 3, 5)
    assert where[("services", "web", "ports", 0)].loc == Loc("compose/a.yaml", 5, 9)


def test_anchors_aliases_and_merge_keys_resolve() -> None:
    data, _ = flatten(load(DOC, plain_locator("a.yaml")))
    assert data["services"]["api"]["healthcheck"] == {"retries": 3}
    assert data["services"]["api"]["merged"] == {"a": 1, "b": 3}


def test_scalars_are_typed_like_yaml() -> None:
    data, _ = flatten(load("a: 1\nb: true\nc: null\nd: '1'\ne: 1.5\n", plain_locator("f")))
    assert data == {"a": 1, "b": True, "c": None, "d": "1", "e": 1.5}


def test_reset_and_override_tags_are_kept_for_the_merge() -> None:
    tree = load("a: !reset []\nb: !override {x: 1}\n", plain_locator("f"))
    assert tree is not None
    assert tree.value["a"].tag == RESET
    assert tree.value["b"].tag == OVERRIDE


def test_a_syntax_error_is_located() -> None:
    with pytest.raises(ConfigurationError) as info:
        load("services:\n  web:\n    image: [unclosed\n", plain_locator("compose/x.yaml"))
    (problem,) = info.value.problems
    assert problem.loc.file == "compose/x.yaml"
    assert problem.loc.line == 4
    assert "invalid YAML" in problem.message


def test_duplicate_keys_are_errors_naming_both_places() -> None:
    with pytest.raises(ConfigurationError) as info:
        load("a: 1\nb: 2\na: 3\n", plain_locator("f.yaml"))
    (problem,) = info.value.problems
    assert problem.loc == Loc("f.yaml", 3, 1)
    assert "duplicate key 'a' (first at f.yaml:1:1)" in problem.message


def test_an_empty_document_is_none() -> None:
    assert load("# nothing\n", plain_locator("f")) is None
