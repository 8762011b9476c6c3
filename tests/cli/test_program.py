"""The ``phoenix`` program on a repository that may not be trusted (a pre-commit hook)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

from phoenix_compose.cli import program

from support import tree


def phoenix(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``phoenix ARGS`` in ``root``: the program's own ``main`` in this process (its
    parsing, plugins and exit codes, without a Python start-up)."""
    out, err, here = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(root)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            program.main(["phoenix", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(args, code, out.getvalue(), err.getvalue())


PLUGIN = ("from pathlib import Path\nfrom invoke import task\n"
          "Path('imported-marker').write_text('ran')\n\n"
          "@task\ndef hello(c):\n    '''Say hello.'''\n    print('hello')\n")


def test_plugins_are_imported_only_when_asked(phoenix_stack: Path) -> None:
    (phoenix_stack / "tasks").mkdir(exist_ok=True)
    (phoenix_stack / "tasks" / "db.py").write_text(PLUGIN)
    listing = phoenix(phoenix_stack, "--list")
    assert listing.returncode == 0, listing.stderr
    assert "db.hello" not in listing.stdout
    assert not (phoenix_stack / "imported-marker").exists()
    with_plugins = phoenix(phoenix_stack, "--plugins", "db.hello")
    assert with_plugins.stdout.strip() == "hello"
    assert (phoenix_stack / "imported-marker").exists()


def test_a_plugin_never_replaces_a_built_in_collection(phoenix_stack: Path) -> None:
    (phoenix_stack / "tasks").mkdir(exist_ok=True)
    (phoenix_stack / "tasks" / "config.py").write_text(
        "from invoke import task\n\n@task\ndef validate(c):\n    print('hijacked')\n")
    result = phoenix(phoenix_stack, "--plugins", "config.validate", "--all", "--no-write")
    assert result.returncode == 0, result.stderr
    assert "hijacked" not in result.stdout and "development: valid" in result.stdout
    assert result.stderr.startswith("tasks/config.py:1:1: error: plugin 'config' would "
                                    "replace the built-in 'config'")


def test_the_hooks_leave_nothing_behind(phoenix_stack: Path) -> None:
    before = tree(phoenix_stack)
    result = phoenix(phoenix_stack, "config.validate", "--all", "--no-write")
    assert result.returncode == 0, result.stderr
    assert "prod: valid" in result.stdout
    assert tree(phoenix_stack) == before and not (phoenix_stack / ".phoenix").exists()


def test_phoenix_finds_the_stack_upward_or_says_none_was_found(phoenix_stack: Path,
                                                               tmp_path: Path) -> None:
    inner = phoenix_stack / "compose" / "deeper"
    inner.mkdir()
    found = phoenix(inner, "envs")
    assert found.returncode == 0 and "development" in found.stdout
    nowhere = tmp_path / "empty"
    nowhere.mkdir()
    lost = phoenix(nowhere, "envs")
    assert lost.returncode == 2
    assert lost.stderr.strip() == (f"error: no stack found (looked for envs/, compose/ and "
                                   f"compose.yaml from {nowhere} upward)")


def test_every_task_shows_its_help_even_with_positional_arguments(
        phoenix_stack: Path, monkeypatch, capsys) -> None:
    """``exec --help``, ``port --help``, ``secrets.set --help``... took ``--help`` as the
    value of their positional argument."""
    from invoke import Program

    from phoenix_compose.cli import build_namespace

    monkeypatch.chdir(phoenix_stack)
    failed = {}
    namespace = build_namespace(phoenix_stack)  # once: a --help run leaves it as it was
    for name in sorted(namespace.task_names):
        program = Program(namespace=namespace, binary="phoenix")
        try:
            program.run(["phoenix", name, "--help"])
        except SystemExit as exc:
            code = exc.code
        else:
            code = 0
        out = capsys.readouterr()
        if code != 0 or not out.out.startswith(f"Usage: phoenix [--core-opts] {name} "):
            failed[name] = (code, out.err.strip()[:200])
    assert failed == {}


def test_logs_takes_its_services_by_flag_too(phoenix_stack: Path) -> None:
    from invoke import Program

    from phoenix_compose.cli import build_namespace

    program = Program(namespace=build_namespace(phoenix_stack), binary="phoenix")
    program.create_config()
    program.parse_core(["phoenix", "logs", "--services", "revenue-db", "--tail", "3"])
    program.parse_collection()
    program.parse_tasks()
    call = program.tasks[0]
    assert (call.name, call.args["services"].value, call.args["tail"].value) == \
        ("logs", "revenue-db", 3)


def test_a_closed_stdout_never_gives_a_traceback(phoenix_stack: Path) -> None:
    # stdout buffered, as in a user's shell: PYTHONUNBUFFERED (set on some hosts) made the
    # output fail at once, inside the program; buffered, it fails in the flush at exit
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for args in (["--help"], ["--list"], ["up", "--help"]):
        proc = subprocess.Popen([sys.executable, "-m", "phoenix_compose.cli.program", *args],
                                cwd=phoenix_stack, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE,
                                env={**env, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first line (`| head -0`)
        err = proc.stderr.read().decode()
        proc.wait(timeout=60)
        assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_docker_compose_global_flags_are_refused_in_one_line_never_taken_silently(
        phoenix_stack: Path) -> None:
    """``-f`` would be invoke's config file and ``-p`` its --pty."""
    for args, flag in ((["-f", "other.yaml", "up"], "-f"), (["-p", "x", "ps"], "-p"),
                       (["--file=a.yaml", "config.show"], "--file")):
        result = phoenix(phoenix_stack, *args)
        assert result.returncode == 2 and len(result.stderr.splitlines()) == 1, result
        assert result.stderr.startswith(f"error: {flag} is docker compose's; phoenix does "
                                        "not take it yet: ")
        assert "`inv " not in result.stderr
    assert phoenix(phoenix_stack, "envs", "-h").returncode == 0  # a task's own flags pass
