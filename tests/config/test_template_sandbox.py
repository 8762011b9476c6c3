"""Templates are untrusted: sandboxed, time-limited, and values are one YAML scalar each."""

from __future__ import annotations

import pytest

from phoenix_compose.config import templates
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError


def _own(labels: dict) -> dict:
    """The labels the files wrote: the owner label phoenix adds is there, and left out."""
    assert OWNER_LABEL in labels
    return {k: v for k, v in labels.items() if k != OWNER_LABEL}


def render(make_stack, template: str, env_text: str = "", process=None):
    root = make_stack({"envs/dev.env": env_text, "templates/10-x.yaml.j2": template,
                       "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    return build(load_environment(root, "dev", process or {}))


def errors(make_stack, template: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        render(make_stack, template, **kwargs)
    return [str(p) for p in info.value.problems]


def test_a_template_cannot_reach_python_internals(make_stack) -> None:
    out = errors(make_stack, "x: {{ cycler.__init__.__globals__.os.popen('id').read() }}\n")
    assert len(out) == 1 and out[0].startswith("templates/10-x.yaml.j2:1:1: error: template "
                                               "error:")
    assert "unsafe" in out[0] or "undefined" in out[0]


def test_a_value_cannot_inject_structure(make_stack) -> None:
    built = render(make_stack, "services:\n  web:\n    labels:\n      note: {{ vars.NOTE }}\n",
                   env_text='NOTE="hi\\n    privileged: true"\n')
    web = built.model["services"]["web"]
    assert "privileged" not in web
    assert web["labels"]["note"] == "hi\n    privileged: true"


def test_structure_is_emitted_only_through_the_yaml_filter(make_stack) -> None:
    built = render(make_stack, "services:\n  web:\n    labels: {{ {'a': 'x: y'} | yaml }}\n")
    assert _own(built.model["services"]["web"]["labels"]) == {"a": "x: y"}


def test_a_template_that_runs_too_long_is_a_located_error(make_stack) -> None:
    out = errors(make_stack, "x:\n{% for i in range(100000) %}{% for j in range(100000) %}"
                             "{% endfor %}{% endfor %}\n",
                 process={"PHOENIX_TEMPLATE_TIMEOUT": "0.3"})
    assert len(out) == 1 and "rendering took longer than 0.3 s" in out[0]
    assert out[0].startswith("templates/10-x.yaml.j2:")


def test_templates_see_only_declared_or_passed_through_process_variables(make_stack) -> None:
    template = "services:\n  web:\n    labels: {k: {{ vars.HOST_SECRET | default('none') }}}\n"
    built = render(make_stack, template, process={"HOST_SECRET": "leak"})
    assert _own(built.model["services"]["web"]["labels"]) == {"k": "none"}
    built = render(make_stack, template,
                   process={"PHOENIX_PASSTHROUGH": "HOST_SECRET,OTHER", "HOST_SECRET": "visible"})
    assert _own(built.model["services"]["web"]["labels"]) == {"k": "visible"}


def test_a_process_value_still_overrides_a_declared_variable(make_stack) -> None:
    template = "services:\n  web:\n    labels: {k: {{ vars.MODE }}}\n"
    built = render(make_stack, template, env_text="MODE=file\n", process={"MODE": "shell"})
    assert _own(built.model["services"]["web"]["labels"]) == {"k": "shell"}


def test_the_time_limit_defaults_to_5_s_and_must_be_a_number(make_stack) -> None:
    assert templates.RENDER_SECONDS == 5.0
    out = errors(make_stack, "x: 1\n", process={"PHOENIX_TEMPLATE_TIMEOUT": "soon"})
    assert out == ["<environment>:0:0: error: PHOENIX_TEMPLATE_TIMEOUT must be a positive "
                   "number of seconds, not 'soon'"]


@pytest.fixture
def quick_kill(monkeypatch) -> None:
    """A child still busy 0.1 s past the limit is killed (the default grace is 0.5 s)."""
    import importlib

    try:
        isolate = importlib.import_module("phoenix_compose.config.isolate")
    except ImportError:  # before the child process: the test then shows the bug itself
        return
    monkeypatch.setattr(isolate, "GRACE", 0.1)


def test_a_constant_folded_at_compile_time_is_stopped_at_the_limit(make_stack,
                                                                    quick_kill) -> None:
    """Jinja computes ``7 ** 10000000`` while compiling (12 s here), in one C call that no
    signal interrupts: the child that compiles it is killed at the limit."""
    out = errors(make_stack, "x: {{ (7 ** 10000000) % 10 }}\n",
                 process={"PHOENIX_TEMPLATE_TIMEOUT": "0.2"})
    assert out == ["templates/10-x.yaml.j2:1:1: error: template error: compiling and rendering "
                   "took longer than 0.2 s; stopped (hint: simplify it)"]


def test_a_template_that_needs_too_much_memory_is_a_located_error(make_stack,
                                                                  monkeypatch) -> None:
    monkeypatch.setattr(templates, "MEMORY_BYTES", 64 << 20)
    out = errors(make_stack, "{% set big = 'x' * 300000000 %}\nx: {{ big | length }}\n")
    assert out == ["templates/10-x.yaml.j2:1:1: error: template error: it needs more than 64 MB "
                   "of memory; stopped (hint: build smaller values)"]


def test_the_templates_after_a_stopped_one_still_render_and_report(make_stack,
                                                                  quick_kill) -> None:
    root = make_stack({"envs/dev.env": "MODE=file\n", "compose/a.yaml": "services: {}\n",
                       "templates/10-slow.yaml.j2": "x: {{ 9 ** 9999999 }}\n",
                       "templates/20-ok.yaml.j2": "services: {web: {image: 'w:{{ vars.MODE }}'"
                                                  "}}\n",
                       "templates/30-bad.yaml.j2": "a: 1\nb: {{ vars.NOPE }}\n"})
    cfg = load_environment(root, "dev", {"PHOENIX_TEMPLATE_TIMEOUT": "0.2"})
    rendered, problems = templates.render_templates(cfg)
    assert [r.name for r in rendered] == ["20-ok.yaml"]
    assert rendered[0].text == "services: {web: {image: 'w:file'}}\n"
    assert [str(p) for p in problems] == [
        "templates/10-slow.yaml.j2:1:1: error: template error: compiling and rendering took "
        "longer than 0.2 s; stopped (hint: simplify it)",
        "templates/30-bad.yaml.j2:2:1: error: template error: variable 'NOPE' is not defined "
        "(hint: set it in envs/common.env or envs/dev.env, or use `vars.NOPE | default(...)`)"]
    assert "MODE" in cfg.variables.used  # read in the child, counted for the cache
