"""The non-public library APIs we rely on (phoenix_compose/_upstream.py), checked so that
an incompatible upgrade fails here, loudly and by name, not somewhere in a located error;
and that nothing else in the package imports them."""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
from pathlib import Path

import pytest

from phoenix_compose import _upstream

from support import REPO

PRIVATE = {"dotenv.parser", "jinja2.compiler"}


def test_only_the_upstream_module_imports_a_private_api() -> None:
    offenders = []
    for path in sorted((REPO / "phoenix_compose").rglob("*.py")):
        if path.name == "_upstream.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [node.module] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n in PRIVATE]
    assert offenders == []


def test_python_dotenv_still_parses_with_lines_and_errors() -> None:
    version = importlib.metadata.version("python-dotenv")
    text = "# comment\nA=1\nexport B='two words'\nC\nnot a binding\nD=\"x\ny\"\nE=5\n"
    try:
        got = [(b.key, b.value, b.line, b.error) for b in _upstream.env_bindings(text)]
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"python-dotenv {version} changed dotenv.parser.parse_stream or its "
                    f"Binding (see phoenix_compose/_upstream.py): {exc}")
    assert got == [(None, None, 1, False), ("A", "1", 2, False), ("B", "two words", 3, False),
                   ("C", None, 4, False), (None, None, 5, True), ("D", "x\ny", 6, False),
                   ("E", "5", 8, False)], \
        f"python-dotenv {version}: dotenv.parser.parse_stream answers differently"


def test_jinja_code_generator_hooks_still_exist_and_map_lines() -> None:
    from jinja2.compiler import CodeGenerator

    version = importlib.metadata.version("Jinja2")
    for name in ("_output_child_to_const", "_output_child_pre", "_output_child_post"):
        method = getattr(CodeGenerator, name, None)
        assert method is not None, f"Jinja2 {version} has no CodeGenerator.{name}"
        assert list(inspect.signature(method).parameters) == ["self", "node", "frame",
                                                              "finalize"], \
            f"Jinja2 {version} changed CodeGenerator.{name}'s signature"


def test_template_output_still_maps_to_its_lines(tmp_path: Path) -> None:
    """The behaviour the hooks give: each chunk of output knows its template line."""
    import time

    from phoenix_compose.config.templates import _environment, _render_tracked

    (tmp_path / "t.yaml.j2").write_text("a: 1\n{% if true %}\nb: {{ 2 }}\n{% endif %}\nc: 3\n")
    template = _environment(tmp_path).get_template("t.yaml.j2")
    text, lines = _render_tracked(template, {}, time.monotonic() + 10)
    assert text == "a: 1\nb: 2\nc: 3\n"
    assert lines[:3] == (1, 3, 5)
