"""The non-public library APIs we rely on (phoenix_compose/_upstream.py), checked so that
an incompatible upgrade fails here, loudly and by name, not somewhere in a located error;
and that nothing else in the package imports them."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from phoenix_compose import _upstream

from support import REPO

PRIVATE = {"dotenv.parser", "jinja2.compiler"}


# any spelling of a private module's dotted name (``a . b`` too): only a file that has one
# is parsed
_NAMED = re.compile("|".join(r"[\s\\]*\.[\s\\]*".join(map(re.escape, name.split(".")))
                             for name in sorted(PRIVATE)))


def test_only_the_upstream_module_imports_a_private_api() -> None:
    offenders = []
    for path in sorted((REPO / "phoenix_compose").rglob("*.py")):
        if path.name == "_upstream.py" or not _NAMED.search(path.read_text(encoding="utf-8")):
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


def test_the_dotenv_parser_is_read_without_its_package_and_the_package_is_untouched(
) -> None:
    """Reading an env file imports neither ``dotenv`` (its ``__init__``) nor ``logging``
    (its ``main``'s); a later ``import dotenv`` loads the package's own parser."""
    script = (
        "import sys\n"
        "from phoenix_compose._upstream import env_bindings\n"
        "before = [b.key for b in env_bindings('A=1\\nB=2\\n')]\n"
        "assert 'dotenv' not in sys.modules and 'logging' not in sys.modules, sorted(\n"
        "    m for m in sys.modules if m.startswith(('dotenv', 'logging')))\n"
        "import dotenv.parser\n"
        "assert dotenv.parser is not sys.modules['phoenix_compose._upstream.dotenv_parser']\n"
        "assert before == [b.key for b in env_bindings('A=1\\nB=2\\n')] == ['A', 'B']\n"
        "print('ok')\n")
    version = importlib.metadata.version("python-dotenv")
    assert _python(script, f"(python-dotenv {version})").stdout == "ok\n"


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


def test_invoke_imports_unittest_mock_for_mock_alone_and_works_with_it_deferred() -> None:
    """``_upstream.deferred_mock``: invoke.context's ``from unittest.mock import Mock`` is
    the only use; with it deferred, invoke imports without unittest.mock and MockContext
    still wraps ``run`` in a real Mock."""
    version = importlib.metadata.version("invoke")
    spec = importlib.util.find_spec("invoke.context")
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    uses = [(n.module, [a.name for a in n.names]) for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module and n.module.startswith("unittest")]
    assert uses == [("unittest.mock", ["Mock"])], \
        f"invoke {version} changed what it imports from unittest (see _upstream.py): {uses}"
    script = (
        "import sys\n"
        "from phoenix_compose._upstream import deferred_mock\n"
        "with deferred_mock():\n"
        "    import invoke\n"
        "assert 'unittest.mock' not in sys.modules, 'loaded at import'\n"
        "c = invoke.MockContext(run=invoke.Result('out'))\n"
        "assert c.run('true').stdout == 'out'\n"
        "c.run.assert_called_once_with('true')\n"
        "import unittest.mock\n"
        "assert isinstance(c.run, unittest.mock.Mock)\n"
        "assert 'unittest.mock' in sys.modules\n")
    _python(script, version)


def test_invoke_asks_importlib_metadata_its_version_alone_and_gets_it_deferred() -> None:
    """``_upstream.deferred_metadata``: invoke/__init__'s ``metadata.version("invoke")`` is
    its only use; deferred, invoke imports without importlib.metadata and has the version
    importlib.metadata gives, and the real module is what is imported afterwards."""
    version = importlib.metadata.version("invoke")
    spec = importlib.util.find_spec("invoke")
    assert spec is not None and spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    uses = [ast.unparse(n) for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            and isinstance(n.value, ast.Name) and n.value.id == "metadata"]
    assert uses == ["metadata.version"], \
        f"invoke {version} changed what it asks importlib.metadata (see _upstream.py): {uses}"
    script = (
        "import sys\n"
        "from phoenix_compose._upstream import deferred_metadata\n"
        "with deferred_metadata():\n"
        "    import invoke\n"
        "assert 'importlib.metadata' not in sys.modules, 'loaded at import'\n"
        "import importlib\n"
        "assert not hasattr(importlib, 'metadata')\n"
        "import importlib.metadata\n"
        "assert type(importlib.metadata).__name__ == 'module'\n"
        "print(invoke.__version__, importlib.metadata.version('invoke'))\n")
    done = _python(script, version)
    assert done.stdout.split() == [version, version]


def test_a_version_not_found_in_a_dist_info_is_asked_of_importlib_metadata(
        tmp_path, monkeypatch) -> None:
    from phoenix_compose import _upstream

    (tmp_path / "demo_pkg-1.2.dist-info").mkdir()
    (tmp_path / "demo_pkg-1.2.dist-info" / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.2.post3\n\nVersion: 9\n")
    monkeypatch.setattr(sys, "path", [str(tmp_path / "missing"), str(tmp_path)])
    assert _upstream._dist_version("demo-pkg") == "1.2.post3"
    assert _upstream._dist_version("other") is None


def _python(script: str, version: str) -> subprocess.CompletedProcess[str]:
    """``script`` run by a fresh interpreter of this venv, which must succeed."""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert done.returncode == 0, f"invoke {version}: {done.stderr[-1500:]}"
    return done
