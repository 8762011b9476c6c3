"""The ``phoenix`` program answers ``config.show`` of a valid config without invoke (from
the cache, or built), and prints what invoke's path prints; everything else goes to invoke
(phoenix_compose/cli/quick.py).

Which path ran is told by what the process imported (``python -X importtime``), never by
a clock; the bench (bench/cli.py) measures the time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from phoenix_compose.cli.quick import parse

from support import REPO

SHOW = ("config.show",)
COMPOSE = """services:
  web:
    image: docker.io/library/nginx:1.27
    ports: ["127.0.0.1:8080:80"]
    depends_on: {db: {condition: service_healthy}}
  db:
    image: docker.io/library/postgres:${PG:-16}
    environment: {POSTGRES_PASSWORD: "${DB_PASSWORD}"}
    healthcheck: {test: [CMD, pg_isready], interval: 5s, retries: 3}
"""


def stack(root: Path) -> Path:
    (root / "compose").mkdir(parents=True)
    (root / "compose" / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    (root / "envs").mkdir()
    (root / "envs" / "dev.env").write_text("DB_PASSWORD=not-a-real-one\n", encoding="utf-8")
    return root


def phoenix(root: Path, *args: str, home: Path,
            extra: dict[str, str] | None = None) -> tuple[set[str], str, str, int]:
    """Run the program in a fresh interpreter: (modules imported, stdout, stderr, code)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update({"PYTHONPATH": str(REPO), "HOME": str(home),
                "XDG_CACHE_HOME": str(home / "cache"), **(extra or {})})
    done = subprocess.run([sys.executable, "-X", "importtime", "-m",
                           "phoenix_compose.cli.program", *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)
    modules = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
               if line.startswith("import time:") and "|" in line}
    stderr = "".join(line + "\n" for line in done.stderr.splitlines()
                     if not line.startswith("import time:"))
    return modules, done.stdout, stderr, done.returncode


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "home").mkdir()
    return tmp_path / "home"


FORMS = [("--env", "dev"), ("--env=dev", "--format=json"), ("-e", "dev", "-f", "json"),
         ("-e", "dev", "--services"), ("-e", "dev", "-i"), ("--env", "dev", "--quiet")]


@pytest.mark.parametrize("form", FORMS, ids=" ".join)
def test_config_show_is_answered_without_invoke_and_as_invoke_answers(
        tmp_path: Path, home: Path, form: tuple[str, ...]) -> None:
    root = stack(tmp_path / "stack")
    first, built, _, code = phoenix(root, *SHOW, *form, home=home)
    assert code == 0 and "invoke" not in first  # a cold cache: built, without invoke
    assert "phoenix_compose.config.building" in first
    assert (root / ".phoenix" / "dev" / "compose.yaml").is_file()
    quick, text, stderr, code = phoenix(root, *SHOW, *form, home=home)
    assert (code, stderr) == (0, "")
    assert "invoke" not in quick and "phoenix_compose.config.show" in quick
    assert "phoenix_compose.config.building" not in quick  # the cache answered
    # an INVOKE_ variable (here the default, unchanged) sends it to invoke: the same text
    through, expected, _, _ = phoenix(root, *SHOW, *form, home=home,
                                      extra={"INVOKE_PHOENIX_LOG_KEEP": "3"})
    assert "invoke" in through
    assert text == expected == built
    assert ("--quiet" in form) == (text == "")
    assert "not-a-real-one" not in text  # masked, as ever


def test_the_default_env_is_invokes_unless_configured(tmp_path: Path, home: Path) -> None:
    """No --env: a stack root's default is ``development``; an operator's ~/.invoke.yaml
    naming another env is invoke's to read, so the program leaves the answer to it."""
    root = stack(tmp_path / "stack")
    (root / "envs" / "development.env").write_text("DB_PASSWORD=x\nPG=15\n", encoding="utf-8")
    phoenix(root, *SHOW, "--images", home=home)
    modules, text, _, code = phoenix(root, *SHOW, "--images", home=home)
    assert "invoke" not in modules
    assert (code, text) == (0, "docker.io/library/nginx:1.27\ndocker.io/library/postgres:15\n")
    phoenix(root, *SHOW, "-e", "dev", home=home)  # dev's cache is fresh too
    (home / ".invoke.yaml").write_text("phoenix:\n  env: dev\n", encoding="utf-8")
    modules, text, _, code = phoenix(root, *SHOW, "--images", home=home)
    assert "invoke" in modules
    assert (code, text) == (0, "docker.io/library/nginx:1.27\ndocker.io/library/postgres:16\n")


def test_a_stale_cache_is_built_again_and_an_error_goes_to_invoke(
        tmp_path: Path, home: Path) -> None:
    root = stack(tmp_path / "stack")
    phoenix(root, *SHOW, "-e", "dev", home=home)
    compose = root / "compose" / "compose.yaml"
    compose.write_text(compose.read_text().replace("${PG:-16}", "17"))
    modules, text, _, code = phoenix(root, *SHOW, "-e", "dev", home=home)
    assert code == 0 and "invoke" not in modules and "postgres:17" in text
    assert "phoenix_compose.config.building" in modules
    compose.write_text("services:\n  web: [\n")
    modules, text, stderr, code = phoenix(root, *SHOW, "-e", "dev", home=home)
    assert code != 0 and text == "" and "invoke" in modules
    assert stderr.startswith("compose/compose.yaml:") and "Traceback" not in stderr


def test_plugins_and_an_unknown_env_go_to_invoke(tmp_path: Path, home: Path) -> None:
    root = stack(tmp_path / "stack")
    phoenix(root, *SHOW, "-e", "dev", home=home)
    modules, _, _, code = phoenix(root, "--plugins", *SHOW, "-e", "dev", home=home)
    assert code == 0 and "invoke" in modules
    modules, text, stderr, code = phoenix(root, *SHOW, "-e", "../dev", home=home)
    assert code == 2 and text == "" and "invoke" in modules
    assert "is not an environment name" in stderr


@pytest.mark.parametrize("args", [
    [], ["config.validate"], ["config.show", "--help"], ["config.show", "-h"],
    ["config.show", "-e"], ["config.show", "--env", "--services"],
    ["config.show", "--env", "a", "-e", "b"], ["config.show", "-f=json"],
    ["config.show", "-edev"], ["config.show", "--no-such"], ["config.show", "x"],
    ["config.show", "-e", "dev", "up"], ["--echo", "config.show"],
])
def test_other_arguments_are_invokes_to_parse(args: list[str]) -> None:
    assert parse(args) is None


def test_the_forms_it_answers() -> None:
    assert parse(["config.show", "--env=prod", "-f", "json", "-q", "--images"]) == {
        "env": "prod", "format": "json", "quiet": "", "images": ""}
    assert parse(["config.show"]) == {}



COLLECTOR = """import gc, sys
from phoenix_compose.cli import program
try:
    own = sys.argv[1] == "own"
    sys.argv = ["phoenix", *sys.argv[2:]]
    program.main(None if own else sys.argv)
except SystemExit as exc:
    code = exc.code
print(f"collector: {code} {gc.isenabled()} {gc.get_freeze_count() > 0}", file=sys.stderr)
"""


@pytest.mark.parametrize(("how", "args", "after"), [
    ("own", ["config.show", "-e", "dev"], "0 False True"),  # off to the exit, all frozen
    ("own", ["--list"], "0 True True"),  # invoke runs the task: on again, start-up frozen
    ("given", ["config.show", "-e", "dev"], "0 True False"),  # a caller's: left as it is
])
def test_the_collector_is_off_only_in_the_programs_own_process(
        tmp_path: Path, home: Path, how: str, args: list[str], after: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    env.update({"PYTHONPATH": str(REPO), "HOME": str(home),
                "XDG_CACHE_HOME": str(home / "cache")})
    done = subprocess.run([sys.executable, "-c", COLLECTOR, how, *args],
                          cwd=stack(tmp_path / "s"), env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.stderr.splitlines()[-1] == f"collector: {after}", done.stderr[-2000:]
