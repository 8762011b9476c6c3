"""The ``phoenix`` program on a repository that may not be trusted (a pre-commit hook)."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
    (phoenix_stack / "tasks" / "greet.py").write_text(PLUGIN)
    listing = phoenix(phoenix_stack, "--list")
    assert listing.returncode == 0, listing.stderr
    assert "greet.hello" not in listing.stdout
    assert not (phoenix_stack / "imported-marker").exists()
    with_plugins = phoenix(phoenix_stack, "--plugins", "greet.hello")
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
    # a stack's compose/ may hold a compose.yaml, and is no compose project of its own
    (phoenix_stack / "compose" / "compose.yaml").write_text("services: {}\n")
    found = phoenix(phoenix_stack / "compose", "envs")
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


COMPOSE_VARIABLES = ("COMPOSE_FILE", "COMPOSE_PATH_SEPARATOR", "COMPOSE_PROJECT_NAME",
                     "COMPOSE_PROFILES")


@pytest.fixture
def clean_compose_env(monkeypatch):
    """The program sets docker compose's variables in its process: undone after the test."""
    for name in COMPOSE_VARIABLES:
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


def test_docker_compose_global_flags_select_files_name_and_directory(
        tmp_path: Path, clean_compose_env) -> None:
    """``-f`` (repeated, in order; the project directory is the first file's folder),
    ``-p`` and ``--project-directory`` as docker compose takes them, before the task;
    invoke would read ``-f`` as its config file and ``-p`` as --pty."""
    app = tmp_path / "app"
    app.mkdir()
    (app / "base.yml").write_text("services: {web: {image: 'w:1'}}\n")
    (app / "more.yml").write_text("services: {web: {labels: {x: '1'}}, db: {image: 'd:1'}}\n")
    shown = phoenix(tmp_path, "-f", "app/base.yml", "--file=app/more.yml", "-p", "shop",
                    "config.show")
    assert shown.returncode == 0, shown.stderr
    model = yaml.safe_load(shown.stdout)
    assert model["name"] == "shop" and sorted(model["services"]) == ["db", "web"]
    assert model["services"]["web"]["labels"]["x"] == "1"
    assert (app / ".phoenix" / "default").is_dir()  # the first file's folder is the project
    for name in COMPOSE_VARIABLES:  # a new process would start without them
        os.environ.pop(name, None)
    named = phoenix(tmp_path, "--project-directory", "app", "-f", "app/base.yml",
                    "config.show")
    assert named.returncode == 0 and yaml.safe_load(named.stdout)["name"] == "app"


def test_f_is_refused_in_a_stack_root_and_a_flag_without_value_in_one_line(
        phoenix_stack: Path, clean_compose_env) -> None:
    refused = phoenix(phoenix_stack, "-f", "other.yaml", "up")
    assert refused.returncode == 2 and len(refused.stderr.splitlines()) == 1
    assert "is a stack root, whose files are compose/*.yaml" in refused.stderr
    bare = phoenix(phoenix_stack, "-p")
    assert (bare.returncode, bare.stderr.strip()) == (2, "error: -p needs a value")
    assert phoenix(phoenix_stack, "envs", "-h").returncode == 0  # a task's own flags pass


def test_profile_before_the_task_is_compose_profiles(tmp_path: Path) -> None:
    from phoenix_compose.cli.globalflags import take

    flags, rest = take(["--profile", "debug", "--profile=tools,x", "up", "-d"], {"up"})
    assert rest == ["up", "-d"]
    assert flags.environment(tmp_path)["COMPOSE_PROFILES"] == "debug,tools,x"
    flags, rest = take(["up", "-p", "x"], {"up"})  # after the task: the task's own
    assert (flags.name, rest) == (None, ["up", "-p", "x"])


def test_a_parse_shares_the_task_table_and_copies_only_the_context_it_uses() -> None:
    """cli/parsing.py: invoke's parse machine no longer deep-copies every task's context up
    front; the table stays as it was and each use of a task gets its own values."""
    from invoke.parser import Argument, Parser, ParserContext

    from phoenix_compose.cli import parsing

    parsing.install()
    parser = Parser(contexts=[ParserContext(name="t", args=[Argument(names=("num",), kind=str)])])
    parsed = parser.parse_argv(["t", "--num", "1", "t", "--num", "2"])
    assert [c.args["num"].value for c in parsed] == ["1", "2"]
    assert parser.contexts["t"].args["num"].value is None
    assert [c.args["num"].value for c in parser.parse_argv(["t"])] == [None]
