from __future__ import annotations

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.templates import render_templates
from phoenix_compose.errors import Loc

LOOP = """\
{# a comment line #}
services:
{% for name in ["a", "b"] %}
  {{ name }}:
    image: "img-{{ name }}:{{ vars.TAG }}"
{% endfor %}
  last:
    image: {{ env }}
"""


def render(make_stack, template: str, env_text: str = "TAG=1\n"):
    root = make_stack({"templates/10-x.yaml.j2": template, "envs/dev.env": env_text})
    return render_templates(load_environment(root, "dev", {}))


def test_templates_render_with_env_and_vars(make_stack) -> None:
    (rendered,), problems = render(make_stack, LOOP)
    assert problems == []
    assert rendered.name == "10-x.yaml"
    assert 'image: "img-b:1"' in rendered.text
    assert "image: dev" in rendered.text


def test_each_output_line_maps_to_the_template_line_that_wrote_it(make_stack) -> None:
    (rendered,), _ = render(make_stack, LOOP)
    lines = rendered.text.splitlines()
    locate = rendered.locator()
    mapping = {text.strip(): locate(i, 0).line for i, text in enumerate(lines)}
    assert mapping["services:"] == 2
    assert mapping["a:"] == 4 and mapping["b:"] == 4
    assert mapping['image: "img-b:1"'] == 5
    assert mapping["last:"] == 7
    assert mapping["image: dev"] == 8
    assert locate(lines.index("  b:"), 2) == Loc("templates/10-x.yaml.j2", 4, 3)


def test_a_syntax_error_points_at_the_template_line(make_stack) -> None:
    rendered, (problem,) = render(make_stack, "services:\n  a:\n    image: {{ x }\n")
    assert rendered == []
    assert problem.loc.file == "templates/10-x.yaml.j2" and problem.loc.line == 3
    assert "template syntax error" in problem.message


def test_an_undefined_variable_points_at_the_line_that_used_it(make_stack) -> None:
    _, (problem,) = render(make_stack, "services:\n\n  a:\n    image: {{ vars.MISSING }}\n")
    assert problem.loc == Loc("templates/10-x.yaml.j2", 4, 1)
    assert "variable 'MISSING' is not defined" in problem.message


def test_an_error_inside_a_loop_points_at_the_loop_body(make_stack) -> None:
    text = "x:\n{% for i in [1, 0] %}\n  v{{ i }}: {{ 1 // i }}\n{% endfor %}\n"
    _, (problem,) = render(make_stack, text)
    assert problem.loc.line == 3
    assert "division" in problem.message
