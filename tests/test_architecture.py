"""The house rules, enforced: import contracts (import-linter, from pyproject.toml), ruff's
complexity rules, and the size limits ruff has no rule for."""

from __future__ import annotations

import ast
import functools
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO

PACKAGE = REPO / "phoenix_compose"
# the size rule holds beyond the package: the project's plugins and the root modules
# (tasks.py), which the import contracts cannot name (``tasks`` is no importable package)
SIZED = (PACKAGE, REPO / "tasks", *sorted(REPO.glob("*.py")))
MAX_MODULE, MAX_CLASS, MAX_FUNCTION = 300, 150, 40


def _tool(name: str) -> str:
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: run ./dev setup")
    return found


def test_the_import_contracts_hold() -> None:
    result = subprocess.run([_tool("lint-imports"), "--no-cache"], cwd=REPO,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_ruff_finds_nothing_including_complexity() -> None:
    result = subprocess.run([_tool("ruff"), "check", "phoenix_compose", "tests", "bench",
                             "tasks.py", "tasks"], cwd=REPO, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout[-3000:]


@functools.cache
def _nodes(path: Path) -> tuple[ast.AST, ...]:
    """Every node of a module, parsed once for all the rules below (each walks the package)."""
    return tuple(ast.walk(ast.parse(path.read_text(encoding="utf-8"))))


def _sized_files() -> list[Path]:
    return sorted(p for top in SIZED for p in (top.rglob("*.py") if top.is_dir() else [top]))


def _sizes() -> list[str]:
    too_big = []
    for path in _sized_files():
        source = path.read_text(encoding="utf-8")
        rel = path.relative_to(REPO)
        if len(source.splitlines()) > MAX_MODULE:
            too_big.append(f"{rel}: {len(source.splitlines())} lines (max {MAX_MODULE})")
        for node in _nodes(path):
            limit = MAX_CLASS if isinstance(node, ast.ClassDef) else MAX_FUNCTION if \
                isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
            if limit is not None and node.end_lineno - node.lineno + 1 > limit:
                too_big.append(f"{rel}:{node.lineno}: {node.name} is "
                               f"{node.end_lineno - node.lineno + 1} lines (max {limit})")
    return too_big


def test_no_module_class_or_function_is_over_its_size() -> None:
    assert _sizes() == []


def test_the_size_rule_covers_the_plugins_and_the_root_modules() -> None:
    files = _sized_files()
    assert REPO / "tasks.py" in files and REPO / "tasks" / "db" / "restoring.py" in files


def test_the_root_modules_only_build_the_namespace() -> None:
    """The import contract of what no import-linter contract can name: the root modules
    import the standard library and ``phoenix_compose.cli`` only (the engine's layers are
    reached through it); the plugins' own contract is in tests/plugins/test_plugin_api.py."""
    imported = []
    for path in sorted(REPO.glob("*.py")):
        for node in _nodes(path):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            imported += [f"{path.name}: {n}" for n in names
                         if n.split(".")[0] not in sys.stdlib_module_names
                         and n != "phoenix_compose.cli"]
    assert imported == []


def test_only_errors_defines_exceptions() -> None:
    defined = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "errors.py":
            continue
        for node in _nodes(path):
            bases = [getattr(b, "id", getattr(b, "attr", "")) for b in getattr(node, "bases", [])]
            if isinstance(node, ast.ClassDef) and any(b.endswith(("Error", "Exception"))
                                                      for b in bases):
                defined.append(f"{path.relative_to(REPO)}: {node.name}")
    assert defined == []


# each `from MODULE import` of a file (a superset: strings and comments count too); only a
# file where one names a test module or a conftest is parsed
_FROM = re.compile(r"\bfrom[\s\\]+([\w.]+)[\s\\]+import\b")


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in sorted((REPO / "tests").rglob("*.py")):
        named = _FROM.findall(path.read_text(encoding="utf-8"))
        if not any(m.split(".")[-1].startswith(("test_", "conftest")) for m in named):
            continue
        for node in _nodes(path):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[-1] \
                    .startswith(("test_", "conftest")):
                offenders.append(f"{path.relative_to(REPO)}: {node.module}")
    assert offenders == []


def test_every_podman_command_line_is_built_in_argv() -> None:
    inline = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name in ("argv.py", "argv_deploy.py", "argv_compose.py", "argv_edge.py"):
            continue
        for node in _nodes(path):
            if isinstance(node, ast.Tuple) and node.elts and isinstance(node.elts[0],
                                                                       ast.Constant) \
                    and node.elts[0].value in ("podman", "podman-compose", "haproxy"):
                inline.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert inline == []


PROGRAMS = {"git": "argv_git.py", "gpg": "argv_gpg.py", "gpgconf": "argv_gpg.py",
            "kubectl": "argv_kubectl.py"}  # each other program: its own small module


def test_every_other_programs_command_line_is_built_in_its_module() -> None:
    """Not podman's: git's, gpg's and kubectl's command lines live in runtime/argv_<program>.py
    (a tuple of program names, like ``("kubectl", "podman")`` for a choice, is no command)."""
    misplaced = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in _nodes(path):
            names = [e.value for e in getattr(node, "elts", []) if isinstance(e, ast.Constant)]
            if isinstance(node, (ast.Tuple, ast.List)) and len(names) > 1 and \
                    names[0] in PROGRAMS and names[1] not in (*PROGRAMS, "podman") and \
                    path.name != PROGRAMS[names[0]]:
                misplaced.append(f"{path.relative_to(REPO)}:{node.lineno}: {names[0]}")
    assert misplaced == []

