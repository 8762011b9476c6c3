"""``images.promote`` pins the variable each service's ``image:`` reads (issue 25, item 6),
and refuses, located, before anything is pushed, when the image is not one variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.config.interpolate import whole_variable
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.runtime.promote import image_variables


def _stack(make_stack, compose: str) -> Path:
    return make_stack({"envs/common.env": "FRONT=localhost/front:1\nTAG=1\n",
                       "envs/development.env": "", "envs/staging.env": "",
                       "compose/a.yaml": compose})


def test_the_pinned_variable_is_the_one_image_reads_not_the_service_name(make_stack) -> None:
    root = _stack(make_stack, "services:\n  web: {image: '${FRONT}'}\n"
                              "  api: {image: '${API_BUILD:-localhost/api:dev}'}\n")
    assert image_variables(root, "staging", "development", ["web", "api"]) == \
        {"web": "FRONT", "api": "API_BUILD"}


@pytest.mark.parametrize(("image", "why"), [
    ("localhost/web:1", "is not one variable"),
    ("localhost/web:${TAG}", "is not one variable"),
    ("${FRONT}${TAG}", "is not one variable"),
])
def test_an_image_that_is_not_one_variable_is_refused_where_it_is_written(
        make_stack, image: str, why: str) -> None:
    root = _stack(make_stack, f"services:\n  ok: {{image: '${{FRONT}}'}}\n"
                              f"  web:\n    image: '{image}'\n")
    with pytest.raises(ConfigurationError) as raised:
        image_variables(root, "staging", "development", ["ok", "web"])
    [problem] = raised.value.problems
    assert (problem.loc.file, problem.loc.line) == ("compose/a.yaml", 4)
    assert why in problem.message and "services.web" in problem.message


def test_a_service_that_is_only_built_is_refused(make_stack) -> None:
    root = _stack(make_stack, "services:\n  web:\n    build: {dockerfile_inline: 'FROM x'}\n")
    with pytest.raises(ConfigurationError, match="has no image: key"):
        image_variables(root, "staging", "development", ["web"])


@pytest.mark.parametrize(("text", "name"), [
    ("$X", "X"), ("${X}", "X"), ("${X:-a/b:1}", "X"), ("${X:?set X}", "X"),
    ("${X:+alt}", None), ("a/${X}", None), ("${X}${Y}", None), ("a/b:1", None)])
def test_whole_variable(text: str, name: str | None) -> None:
    assert whole_variable(text) == name


def test_a_production_target_that_refuses_its_unpinned_images_is_read_as_the_source(
        make_stack) -> None:
    """prod refuses every image not pinned by digest: the very thing promote is pinning."""
    root = _stack(make_stack, "services:\n  web: {image: '${FRONT}'}\n")
    (root / "envs" / "prod.env").write_text("")
    assert image_variables(root, "prod", "staging", ["web"]) == {"web": "FRONT"}
