"""One confinement rule for reads: every file the engine reads resolves, after symlinks,
inside the stack root (or an extra root the operator named); anything else is a located
error at the line that names it, and the outside file is never opened (an audit hook sees
every ``open`` of this process)."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build, prepare
from phoenix_compose.errors import ConfigurationError

MARK = "outside-value-7731"  # in every outside file (conftest.py): never in a message


def problems(root: Path, process: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", process or {}))
    out = [str(p) for p in info.value.problems]
    assert all(MARK not in line for line in out)
    return out


def errors(root: Path, process: dict[str, str] | None = None) -> list[str]:
    return [p for p in problems(root, process) if ": error: " in p]


def stack(make_stack, compose: str, files: dict[str, str] | None = None) -> Path:
    return make_stack({"envs/dev.env": "", "compose/a.yaml": compose, **(files or {})})


@pytest.mark.parametrize("written", ["ABS/other.yaml", "../../outside/other.yaml"])
def test_an_include_path_outside_the_stack_root_is_refused_unopened(
        make_stack, outside, opened, written) -> None:
    path = written.replace("ABS", str(outside))
    root = stack(make_stack, f"include:\n  - {path}\nservices: {{web: {{image: 'w:1'}}}}\n")
    out = errors(root)
    assert out == [f"compose/a.yaml:2:5: error: {outside / 'other.yaml'} is outside the stack "
                   "root; refusing to read it (hint: copy the file into the stack; or, as the "
                   "operator, allow its folder with PHOENIX_EXTRA_ROOTS or the invoke setting "
                   "phoenix.extra_roots)"]
    assert opened == []


@pytest.mark.parametrize("written", ["ABS/secret.env", "../../outside/secret.env", "/etc/passwd"])
def test_an_include_env_file_outside_is_a_located_error_at_its_line(
        make_stack, outside, opened, written) -> None:
    path = written.replace("ABS", str(outside))
    root = stack(make_stack, f"include:\n  - path: sub/b.yaml\n    env_file: {path}\n",
                 {"compose/sub/b.yaml":
                      "services: {web: {image: 'w:1', hostname: '${MARK:-no}'}}\n"})
    out = errors(root)
    assert len(out) == 1 and out[0].startswith("compose/a.yaml:3:15: error: ")
    assert "is outside the stack root; refusing to read it" in out[0]
    assert opened == []


@pytest.mark.parametrize("written", ["ABS/other.yaml", "../../outside/other.yaml"])
def test_an_extends_file_outside_is_a_located_error_at_its_line(
        make_stack, outside, opened, written) -> None:
    path = written.replace("ABS", str(outside))
    root = stack(make_stack, "services:\n  web:\n    image: 'w:1'\n"
                             f"    extends: {{file: {path}, service: leak}}\n")
    out = errors(root)
    assert len(out) == 1 and out[0].startswith("compose/a.yaml:4:21: error: ")
    assert "is outside the stack root" in out[0]
    assert opened == []


def test_a_symlink_inside_the_stack_that_leads_outside_is_refused_unopened(
        make_stack, outside, opened) -> None:
    root = stack(make_stack, "include: [parts/link.yaml]\nservices: {web: {image: 'w:1'}}\n")
    (root / "compose" / "parts").mkdir()
    (root / "compose" / "parts" / "link.yaml").symlink_to(outside / "other.yaml")
    out = errors(root)
    assert len(out) == 1 and out[0].startswith(f"compose/a.yaml:1:11: error: "
                                               f"{outside / 'other.yaml'} is outside the stack "
                                               "root; refusing to read it")
    assert opened == []


def test_a_fifo_in_the_stack_is_a_located_error_not_a_read_that_waits(make_stack) -> None:
    root = stack(make_stack, "include: [parts/pipe.yaml]\nservices: {web: {image: 'w:1'}}\n")
    fifo = root / "compose" / "parts" / "pipe.yaml"
    fifo.parent.mkdir()
    os.mkfifo(fifo)

    def feed() -> None:  # what a reader blocked in open() would get (the old code did)
        try:
            with open(fifo, "w") as pipe:
                pipe.write("services: {fed: {image: 'f:1'}}\n")
        except OSError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        out = errors(root)
    finally:
        release = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # a writer still waiting goes on
        writer.join(timeout=30)
        os.close(release)
    assert out == ["compose/a.yaml:1:11: error: cannot read compose/parts/pipe.yaml: not a "
                   "regular file"]


@pytest.mark.parametrize("written", ["/etc/passwd", "../../outside/secret.env"])
def test_a_service_env_file_outside_is_a_located_error(make_stack, outside, written) -> None:
    root = stack(make_stack, f"services:\n  web:\n    image: 'w:1'\n    env_file:\n"
                             f"      - ok.env\n      - {written}\n", {"compose/ok.env": "A=1\n"})
    out = errors(root)
    assert len(out) == 1 and out[0].startswith("compose/a.yaml:6:9: error: ")
    assert "is outside the stack root" in out[0]


def test_a_build_context_or_containerfile_outside_is_refused_unprobed(
        make_stack, outside, opened) -> None:
    root = stack(make_stack, f"services:\n  a:\n    build: {outside / 'ctx'}\n"
                             f"  b:\n    build:\n      context: .\n"
                             f"      dockerfile: {outside / 'ctx' / 'Containerfile'}\n",
                 {"compose/Containerfile": "FROM scratch\n"})
    out = errors(root)
    assert [line.split(": error: ")[0] for line in out] == ["compose/a.yaml:3:12",
                                                           "compose/a.yaml:7:19"]
    assert all("is outside the stack root" in line for line in out)
    assert opened == []


def test_a_label_file_or_additional_context_outside_is_refused_unprobed(
        make_stack, outside, opened) -> None:
    """Whether the file exists is not told either: both get the same refusal."""
    root = stack(make_stack, "services:\n  a:\n    image: 'a:1'\n    label_file:\n"
                             f"      - {outside / 'secret.env'}\n"
                             f"      - {outside / 'nothing-here.env'}\n"
                             "  b:\n    build:\n      context: .\n"
                             "      additional_contexts:\n"
                             "        up: ../../outside/ctx\n"
                             f"        abs: {outside}\n"
                             "        img: docker-image://alpine:3\n",
                 {"compose/Containerfile": "FROM scratch\n"})
    out = errors(root)
    assert [line.split(": error: ")[0] for line in out] == [
        "compose/a.yaml:5:9", "compose/a.yaml:6:9", "compose/a.yaml:11:13",
        "compose/a.yaml:12:14"]
    assert all("is outside the stack root; refusing to read it" in line for line in out)
    assert "does not exist" not in "".join(out) and opened == []


def test_an_operator_extra_root_allows_reading_there_and_only_the_operator_can_name_it(
        make_stack, outside) -> None:
    compose = f"include:\n  - {outside / 'other.yaml'}\nservices: {{web: {{image: 'w:1'}}}}\n"
    root = stack(make_stack, compose)
    (root / "envs" / "dev.env").write_text(f"PHOENIX_EXTRA_ROOTS={outside}\n")
    out = problems(root)
    assert out[1] == ("envs/dev.env:1:1: warning: PHOENIX_EXTRA_ROOTS is an operator setting: "
                      "an env file of the repository cannot set it, so this line is ignored "
                      "(hint: set it in the environment of the process that runs phoenix, or "
                      "in the invoke config (phoenix.extra_roots))")
    assert "is outside the stack root" in out[0]
    model = build(load_environment(root, "dev", {"PHOENIX_EXTRA_ROOTS": str(outside)})).model
    assert model["services"]["leak"]["hostname"] == MARK


def test_the_repository_cannot_set_passthrough_or_the_template_time_limit(make_stack) -> None:
    root = make_stack({"envs/common.env": "PHOENIX_PASSTHROUGH=HOST_TOKEN\n",
                       "compose/a.yaml": "services: {}\n",
                       "envs/dev.env": "PHOENIX_TEMPLATE_TIMEOUT=100000\n",
                       "templates/10-x.yaml.j2":
                           "services: {web: {image: 'w:1', hostname: {{ vars.HOST_TOKEN }}}}\n"})
    out = problems(root, {"HOST_TOKEN": "tok-123"})
    assert [line.split(": ")[0:2] for line in out] == [
        ["envs/common.env:1:1", "warning"], ["envs/dev.env:1:1", "warning"],
        ["templates/10-x.yaml.j2:1:1", "error"]]
    assert "variable 'HOST_TOKEN' is not defined" in out[2]
    cfg = load_environment(root, "dev", {"HOST_TOKEN": "tok-123"})
    assert cfg.variables.lookup("PHOENIX_TEMPLATE_TIMEOUT") is None
    built = build(load_environment(root, "dev", {"HOST_TOKEN": "tok-123",
                                                 "PHOENIX_PASSTHROUGH": "HOST_TOKEN"}))
    assert built.model["services"]["web"]["hostname"] == "tok-123"


@pytest.mark.parametrize("tag", ['{% include "partial.j2" %}',
                                 '{% set x %}{% include "partial.j2" %}{% endset %}{{ x }}',
                                 '{% include "partial.j2" ignore missing %}',
                                 '{% import "partial.j2" as m %}',
                                 '{% from "partial.j2" import m %}'])
def test_a_template_partial_that_leads_outside_is_refused_at_the_line_that_names_it(
        make_stack, outside, tag) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services: {}\n",
                       "templates/10-x.yaml.j2":
                       f"services:\n  web: {{image: 'w:1'}}\nx:\n  {tag}\n"})
    (root / "templates" / "partial.j2").symlink_to(outside / "partial.j2")
    out = errors(root)
    assert len(out) == 1 and out[0].startswith("templates/10-x.yaml.j2:4:1: error: template "
                                               "error: templates/partial.j2 (which leads to ")
    assert out[0].endswith("is outside the stack root; refusing to read it")


def test_a_cache_entry_that_names_an_outside_input_is_stale_and_the_input_is_not_read(
        make_stack, outside, opened) -> None:
    root = stack(make_stack, "services: {web: {image: 'w:1'}}\n")
    assert prepare(root, "dev", process={}).cached is False
    cache_file = root / ".phoenix" / "dev" / "cache.json"
    entry = json.loads(cache_file.read_text())
    target = outside / "secret.env"
    entry["inputs"] = {str(target): hashlib.sha256(target.read_bytes()).hexdigest()}
    cache_file.write_text(json.dumps(entry))
    opened.clear()
    assert prepare(root, "dev", process={}).cached is False
    assert opened == []


def test_invoke_settings_reach_the_engine_as_operator_variables(monkeypatch, outside) -> None:
    from phoenix_compose.cli.common import export_operator_settings

    for name in ("PHOENIX_EXTRA_ROOTS", "PHOENIX_PASSTHROUGH", "PHOENIX_TEMPLATE_TIMEOUT"):
        monkeypatch.setenv(name, "")  # so that the test's exports are undone after it
        monkeypatch.delenv(name)
    export_operator_settings({"extra_roots": [str(outside), "/srv/shared"],
                              "passthrough": "A,B", "template_timeout": 2})
    assert os.environ["PHOENIX_EXTRA_ROOTS"] == f"{outside}{os.pathsep}/srv/shared"
    assert os.environ["PHOENIX_PASSTHROUGH"] == "A,B"
    assert os.environ["PHOENIX_TEMPLATE_TIMEOUT"] == "2"
    export_operator_settings({"passthrough": "C"})  # the process's own value wins
    assert os.environ["PHOENIX_PASSTHROUGH"] == "A,B"


def test_the_console_script_widens_only_for_the_operator_never_for_the_stacks_invoke_yaml(
        make_stack, outside) -> None:
    root = stack(make_stack, f"include:\n  - {outside / 'other.yaml'}\n"
                             "services: {web: {image: 'w:1'}}\n")
    (root / "invoke.yaml").write_text(f"phoenix:\n  extra_roots: [{outside}]\n")
    phoenix = [str(Path(sys.executable).parent / "phoenix"), "config.validate", "-e", "dev",
               "--no-write"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("INVOKE_")}
    refused = subprocess.run(phoenix, cwd=root, capture_output=True, text=True, env=env,
                             timeout=120)
    assert refused.returncode == 1
    assert refused.stderr.startswith("compose/a.yaml:2:5: error: ")
    assert MARK not in refused.stdout + refused.stderr
    allowed = subprocess.run(phoenix, cwd=root, capture_output=True, text=True, timeout=120,
                             env={**env, "INVOKE_PHOENIX_EXTRA_ROOTS": str(outside)})
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout.strip() == "dev: valid"


def test_a_result_cached_under_an_extra_root_is_not_reused_without_it(make_stack,
                                                                      outside) -> None:
    root = stack(make_stack, f"include:\n  - {outside / 'other.yaml'}\n"
                             "services: {web: {image: 'w:1'}}\n")
    assert prepare(root, "dev", process={"PHOENIX_EXTRA_ROOTS": str(outside)}).cached is False
    assert prepare(root, "dev", process={"PHOENIX_EXTRA_ROOTS": str(outside)}).cached is True
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={})
    assert [p.message.split(" is ")[1] for p in info.value.problems] == [
        "outside the stack root; refusing to read it"]
