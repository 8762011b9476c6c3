"""The invoke layer, run as a user runs it: ``inv`` in a subprocess where the process
matters (finding tasks.py, plugins, the stack root, exit codes), else invoke's own program
in this process (the same parsing, namespace and exit codes, without a Python start-up)."""

from __future__ import annotations

from pathlib import Path

import yaml
from invoke import Program

from phoenix_compose.cli import build_namespace

from support import REPO, inv


def inv_here(root: Path, capsys, *args: str) -> tuple[int, str, str]:
    """``inv ARGS`` in this process, on the namespace tasks.py builds: (code, out, err)."""
    try:
        Program(namespace=build_namespace(root)).run(["inv", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_inv_list_shows_built_in_and_plugin_tasks(phoenix_stack: Path) -> None:
    (phoenix_stack / "tasks").mkdir(exist_ok=True)
    (phoenix_stack / "tasks" / "extra.py").write_text(
        "from invoke import task\n\n@task\ndef hello(c):\n    '''Say hello.'''\n"
        "    print('hello from', c.config.phoenix.root)\n")
    listing = inv(phoenix_stack, "--list")
    assert listing.returncode == 0, listing.stderr
    for name in ("envs", "config.validate", "config.render", "config.show", "extra.hello"):
        assert name in listing.stdout
    hello = inv(phoenix_stack, "extra.hello")
    assert hello.stdout.strip() == f"hello from {phoenix_stack}"


def test_a_broken_plugin_is_reported_and_the_rest_still_works(phoenix_stack: Path) -> None:
    (phoenix_stack / "tasks").mkdir(exist_ok=True)
    (phoenix_stack / "tasks" / "broken.py").write_text("x = 1\ndef f(:\n")
    result = inv(phoenix_stack, "envs")
    assert result.returncode == 0
    assert result.stderr.startswith("tasks/broken.py:2:")
    assert "plugin not loaded: SyntaxError" in result.stderr


def _pack(root: Path, imports: str, shown: str, word: str) -> Path:
    """The plugin package ``tasks/pack`` whose task ``hello`` prints ``shown``, with its
    module ``words`` (``WORD = word``)."""
    package = root / "tasks" / "pack"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        f"from invoke import task\n\n{imports}\n\n\n@task\ndef hello(c):\n    print({shown})\n")
    (package / "words.py").write_text(f"WORD = {word!r}\n")
    return package


def test_a_plugin_package_is_one_collection_and_a_broken_module_is_named(
        phoenix_stack: Path, capsys) -> None:
    """``tasks/NAME/__init__.py`` is the plugin NAME; its modules import each other
    relatively, are loaded afresh each time, and an error names the module it is in."""
    package = _pack(phoenix_stack, "from .words import WORD", "WORD", "packed")
    code, out, err = inv_here(phoenix_stack, capsys, "pack.hello")
    assert (code, out.strip()) == (0, "packed"), err
    (package / "words.py").write_text("WORD = 'again'\n")
    code, out, err = inv_here(phoenix_stack, capsys, "pack.hello")
    assert (code, out.strip()) == (0, "again"), err
    (package / "words.py").write_text("WORD = 1 / 0\n")
    code, out, err = inv_here(phoenix_stack, capsys, "--list")
    assert code == 0 and "pack.hello" not in out
    assert err.startswith("tasks/pack/words.py:1:1: error: plugin not loaded: "
                          "ZeroDivisionError"), err


def test_envs_lists_environments_and_marks_production(phoenix_stack: Path, capsys) -> None:
    _, out, _ = inv_here(phoenix_stack, capsys, "envs")
    assert out.split("\n")[:3] == ["development", "prod  (production)", "staging"]


def test_validate_all_environments(phoenix_stack: Path, capsys) -> None:
    code, out, err = inv_here(phoenix_stack, capsys, "config.validate", "--all")
    assert code == 0, err
    assert "prod: valid -> .phoenix/prod/compose.yaml" in out
    assert (phoenix_stack / ".phoenix/staging/compose.yaml").is_file()
    _, again, _ = inv_here(phoenix_stack, capsys, "config.validate", "--env", "prod")
    assert again.strip() == "prod: valid (cached) -> .phoenix/prod/compose.yaml"


def test_invalid_config_prints_located_errors_and_exits_1(phoenix_stack: Path) -> None:
    lock = phoenix_stack / "envs/prod.lock"
    lines = lock.read_text().splitlines()
    lock.write_text("\n".join(line if not line.startswith("PHOENIX_CORE_IMAGE=") else
                              "PHOENIX_CORE_IMAGE=ghcr.io/phoenix-hydra/phoenix-core:latest"
                              for line in lines) + "\n")
    result = inv(phoenix_stack, "config.validate", "--env", "prod")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[0].startswith(  # a lock file holds digest pins only
        "envs/prod.lock:4:1: error: 'PHOENIX_CORE_IMAGE=ghcr.io/phoenix-hydra/phoenix-core:"
        "latest' is not an image pin")
    assert not (phoenix_stack / ".phoenix/prod/compose.yaml").exists()


def test_validate_all_reports_every_broken_environment(phoenix_stack: Path, capsys) -> None:
    (phoenix_stack / "envs/staging.env").write_text("oops not valid\n")
    code, out, err = inv_here(phoenix_stack, capsys, "config.validate", "--all")
    assert code == 1
    assert "envs/staging.env:1:1: error: cannot parse 'oops not valid'" in err
    assert "development: valid" in out and "prod: valid" in out
    assert "invalid: staging: 1 error(s)" in err


def test_an_unknown_env_lists_the_valid_ones(phoenix_stack: Path, capsys) -> None:
    code, _, err = inv_here(phoenix_stack, capsys, "config.validate", "--env", "qa")
    assert code == 1
    assert "unknown environment 'qa'; valid environments: development, prod, staging" in err


def test_show_prints_the_final_config_masked(phoenix_stack: Path, capsys) -> None:
    code, out, err = inv_here(phoenix_stack, capsys, "config.show", "--env", "development",
                              "--format", "json")
    assert code == 0, err
    assert "phoenix-dev-only" not in out
    assert '"POSTGRES_PASSWORD": "********"' in out


def test_render_writes_overlays(phoenix_stack: Path, capsys) -> None:
    code, _, err = inv_here(phoenix_stack, capsys, "config.render", "--env", "staging")
    assert code == 0, err
    overlay = phoenix_stack / ".phoenix/staging/overlays/10-credentials.yaml"
    assert yaml.safe_load(overlay.read_text())["secrets"]


def test_the_stack_root_follows_the_invoke_env_var(phoenix_stack: Path, tmp_path: Path) -> None:
    result = inv(REPO, "config.validate", "--env", "development",
                 env={"INVOKE_PHOENIX_ROOT": str(phoenix_stack)})
    assert result.returncode == 0, result.stderr
    assert (phoenix_stack / ".phoenix/development/compose.yaml").is_file()


def test_the_stack_root_follows_invoke_yaml(phoenix_stack: Path, tmp_path: Path) -> None:
    entry = tmp_path / "entry"
    entry.mkdir()
    (entry / "tasks.py").write_text((REPO / "tasks.py").read_text())
    (entry / "invoke.yaml").write_text(f"phoenix:\n  root: {phoenix_stack}\n")
    result = inv(entry, "config.validate", "--env", "prod")
    assert result.returncode == 0, result.stderr
    assert (phoenix_stack / ".phoenix/prod/compose.yaml").is_file()


def test_a_plugin_package_may_import_its_modules_with_from_dot_import(
        phoenix_stack: Path, capsys, monkeypatch) -> None:
    """``from . import words`` in a package's ``__init__`` looks up the package's parent
    (phoenix_plugins) while the package runs: it was never in sys.modules
    (ModuleNotFoundError: No module named 'phoenix_plugins')."""
    import sys

    monkeypatch.delitem(sys.modules, "phoenix_plugins", raising=False)
    _pack(phoenix_stack, "from . import words", "words.WORD", "dotted")
    code, out, err = inv_here(phoenix_stack, capsys, "pack.hello")
    assert (code, out.strip()) == (0, "dotted"), err


def test_a_plugin_that_resolves_outside_the_stack_root_is_not_loaded(
        phoenix_stack: Path, tmp_path: Path, capsys) -> None:
    """A linked plugin module, package or module of a package that resolves outside the
    root is never run (every read stays inside the root), each named at its place; a
    package beside a module of its name is refused too (one module name, one collection)."""
    outside = tmp_path / "outside"
    (outside / "pkg").mkdir(parents=True)
    marker = tmp_path / "ran"
    body = f"open({str(marker)!r}, 'a').write('x')\n"
    (outside / "pkg" / "__init__.py").write_text(body)
    (outside / "mod.py").write_text(body)
    tasks = phoenix_stack / "tasks"
    (tasks / "inner").mkdir(parents=True)
    (tasks / "inner" / "__init__.py").write_text("from .mod import X\n")
    (tasks / "inner" / "mod.py").symlink_to(outside / "mod.py")
    (tasks / "linked").symlink_to(outside / "pkg")
    (tasks / "lone.py").symlink_to(outside / "mod.py")
    (tasks / "twice").mkdir()
    (tasks / "twice" / "__init__.py").write_text("")
    (tasks / "twice.py").write_text("")
    code, _, err = inv_here(phoenix_stack, capsys, "--list")
    assert code == 0 and not marker.exists(), err
    for line in ("tasks/inner/__init__.py:1:1: error: plugin not loaded: tasks/inner/mod.py "
                 "resolves outside the stack root",
                 "tasks/linked/__init__.py:1:1: error: plugin not loaded: tasks/linked "
                 "resolves outside the stack root",
                 "tasks/lone.py:1:1: error: plugin not loaded: tasks/lone.py resolves "
                 "outside the stack root",
                 "tasks/twice/__init__.py:1:1: error: plugin not loaded: tasks/twice.py is a "
                 "plugin of the same name"):
        assert line in err.splitlines(), err


def test_a_plugin_error_shows_no_control_character(phoenix_stack: Path, capsys) -> None:
    """A plugin's file name and its exception's text come from the repository: an escape
    or a carriage return in them is written as its escape, one line per error."""
    tasks = phoenix_stack / "tasks"
    tasks.mkdir(exist_ok=True)
    (tasks / "bad\x1b[2J.py").write_text("raise ValueError('x\\rforged: ok\\x1b[31m')\n")
    code, _, err = inv_here(phoenix_stack, capsys, "--list")
    assert code == 0
    assert err.splitlines() == ["tasks/bad\\x1b[2J.py:1:1: error: plugin not loaded: "
                                "ValueError: x\\rforged: ok\\x1b[31m"], err
