"""Hostile YAML gets a located error, within 200 MB, never a traceback.  (How long it takes
is a figure for bench/validate.py, not an assertion: a wall-clock bound fails on a busy
machine.  Recursion limits and memory bounds are what these tests pin down.)"""

from __future__ import annotations

import re
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build, prepare
from phoenix_compose.errors import ConfigurationError

from support import REPO, inv

LAUGHS = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}, "
    f"*a{i - 1}, *a{i - 1}, *a{i - 1}, *a{i - 1}]\n" for i in range(1, 9))


def _build(root) -> list[str]:
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def problems(make_stack, compose: str, measure: bool = True) -> list[str]:
    """The problems of a one-file stack; its peak memory measured (tracemalloc, which slows
    things down) in a second run."""
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose})
    found = _build(root)
    if not measure:
        return found
    tracemalloc.start()
    try:
        assert _build(root) == found
        assert tracemalloc.get_traced_memory()[1] < 200 * 2**20
    finally:
        tracemalloc.stop()
    return found


def test_a_self_referencing_anchor_is_a_located_error(make_stack) -> None:
    out = problems(make_stack, "services:\n  web: &web\n    image: w:1\n    labels: *web\n")
    assert out == ["compose/a.yaml:2:8: error: this anchor's value contains an alias to itself "
                   "(a recursive anchor)"]


def test_a_self_referencing_sequence_is_a_located_error(make_stack) -> None:
    out = problems(make_stack, "x-loop: &l [*l]\nservices: {web: {image: w:1}}\n")
    assert len(out) == 1 and "recursive anchor" in out[0] and out[0].startswith(
        "compose/a.yaml:1:")


@pytest.mark.parametrize("measure", [
    False, pytest.param(True, marks=pytest.mark.slow)],  # tracemalloc: 2 s of the fast tier
    ids=["refused", "within-200MB"])
def test_an_alias_bomb_is_refused_before_it_grows(make_stack, measure) -> None:
    out = problems(make_stack, "x-bomb:\n" + "".join("  " + line + "\n"
                                                     for line in LAUGHS.splitlines()),
                   measure=measure)
    assert len(out) == 1 and "expands to more than 100000 values (an alias bomb?)" in out[0]
    assert out[0].startswith("compose/a.yaml:")


def test_nesting_past_the_limit_is_a_located_error(make_stack) -> None:
    out = problems(make_stack, "x-deep: " + "[" * 150 + "]" * 150 + "\n")
    assert len(out) == 1 and "nested deeper than 100 levels" in out[0]


def test_a_merge_key_with_a_non_mapping_is_an_error(make_stack) -> None:
    out = problems(make_stack, "x-list: &l [a, b]\nservices:\n  web:\n    <<: *l\n"
                               "    image: w:1\n")
    assert out == ["compose/a.yaml:4:5: error: '<<' merges a mapping or a list of mappings, "
                   "not this value"]


def test_a_1500_deep_dependency_chain_validates_without_recursion(make_stack) -> None:
    lines = ["services:\n"] + [
        f"  s{i}: {{image: 'w:1'" + (f", depends_on: [s{i - 1}]" if i else "") + "}\n"
        for i in range(1500)]
    assert problems(make_stack, "".join(lines), measure=False) == []


def test_a_1500_long_dependency_cycle_is_named_without_recursion(make_stack) -> None:
    lines = ["services:\n"] + [
        f"  s{i}: {{image: 'w:1', depends_on: [s{(i - 1) % 1500}]}}\n" for i in range(1500)]
    out = problems(make_stack, "".join(lines), measure=False)
    assert len(out) == 1 and "dependency cycle: s0 -> s1499 -> s1498" in out[0]


@pytest.mark.parametrize("text", [
    "services:\n  web: &w\n    image: w:1\n    labels: *w\n",
    "x-deep: " + "[" * 150 + "]" * 150 + "\n",
])
def test_hostile_input_leaves_the_previous_output_byte_for_byte(make_stack, text) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services: {web: {image: 'w:1'}}\n"})
    first = prepare(root, "dev", process={})
    before = first.compose_file.read_bytes()
    (root / "compose" / "a.yaml").write_text(text)
    with pytest.raises(ConfigurationError):
        prepare(root, "dev", process={})
    assert first.compose_file.read_bytes() == before


@pytest.mark.parametrize(("lines", "expected"), [
    ('    image: "busybox:1\\n[Service]\\nExecStartPre=/x"\n',
     "compose/a.yaml:3:13: error: image of service 'web' holds a control character ('\\n')"),
    ('    image: busybox:1\n    volumes: ["./a\\tb:/data"]\n',
     "compose/a.yaml:4:16: error: volumes.0 of service 'web' holds a control character "
     "('\\t')"),
    ('    image: busybox:1\n    hostname: "a\\nb"\n',
     "compose/a.yaml:4:16: error: hostname of service 'web' holds a control character "
     "('\\n')"),
    ('    image: busybox:1\n    networks: {"front\\nend": {}}\nnetworks:\n  "front\\nend": {}\n',
     "compose/a.yaml:4:16: error: networks.'front\\nend' of service 'web' holds a control "
     "character ('\\n')"),
])
def test_a_line_break_in_an_image_path_or_name_is_a_located_error(make_stack, lines,
                                                                  expected) -> None:
    """Injection through a value: a line break would start a line of its own in a unit
    file (Quadlet), a log or a terminal."""
    out = problems(make_stack, "services:\n  web:\n" + lines, measure=False)
    assert [p for p in out if p.startswith(expected)], out


def test_a_line_break_in_a_script_a_variable_or_a_label_is_fine(make_stack) -> None:
    assert problems(make_stack, (
        "services:\n  web:\n    image: busybox:1\n"
        '    command: ["sh", "-c", "echo a\\necho b"]\n'
        '    environment: {NOTE: "two\\nlines"}\n'
        '    labels: {note: "two\\nlines"}\n'
        '    healthcheck: {test: ["CMD-SHELL", "true\\ntrue"]}\n'), measure=False) == []


def test_a_line_break_from_an_env_file_is_located_on_its_line(make_stack) -> None:
    root = make_stack({"envs/dev.env": 'TAG="busybox:1\\nExecStartPre=/x"\n',
                       "compose/a.yaml": "services:\n  web:\n    image: ${TAG}\n"})
    assert _build(root) == [
        "envs/dev.env:1:1: error: image of service 'web' holds a control character ('\\n') "
        "(used at compose/a.yaml:3:12) (hint: a line break here is never meant: remove it)"]


# -- values that cannot become flags or lines (issue 23) ------------------------------------
HEX = "0123456789abcdef" * 4
MOUNT_ROOT = f"--mount=type=bind,source=/,target=/h@sha256:{HEX}"


def _env_problems(root, env: str, process: dict[str, str] | None = None) -> list[str]:
    try:
        build(load_environment(root, env, process or {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_an_image_that_is_an_option_is_refused_even_by_the_production_policy(
        make_stack) -> None:
    """Pinned by a digest, it passed the policy, and the Quadlet unit's `podman run` read
    it as an option that mounts the host's /."""
    root = make_stack({"envs/prod.env": "",
                       "compose/a.yaml": f'services:\n  app:\n    image: "{MOUNT_ROOT}"\n'})
    assert _env_problems(root, "prod") == [
        f"compose/a.yaml:3:13: error: invalid image '{MOUNT_ROOT}' of service 'app': it is "
        "not an image reference ([registry[:port]/]name[:tag][@digest]) (hint: write a "
        "reference such as docker.io/library/postgres:16 or "
        "registry.example:5000/team/app@sha256:<64 hex digits>)"]


def test_an_image_from_an_env_file_that_is_a_flag_is_located_on_its_line(make_stack) -> None:
    root = make_stack({"envs/dev.env": "APP_IMAGE=--privileged\n",
                       "compose/a.yaml": "services:\n  app:\n    image: ${APP_IMAGE}\n"})
    out = _env_problems(root, "dev")
    assert len(out) == 1 and out[0].startswith(
        "envs/dev.env:1:1: error: invalid image '--privileged' of service 'app': it is not an "
        "image reference ([registry[:port]/]name[:tag][@digest]) (used at compose/a.yaml:3:12)")


def test_a_network_or_volume_name_that_is_an_option_is_refused(make_stack) -> None:
    """podman-compose passes these names positionally (`podman network create NAME`)."""
    out = problems(make_stack, "services:\n  app: {image: 'w:1', networks: [n]}\n"
                               "networks:\n  n: {name: '--internal'}\n"
                               "volumes:\n  -v: {external: true}\n", measure=False)
    assert out == [
        "compose/a.yaml:4:14: error: invalid network name '--internal' (hint: use letters, "
        "digits, '_', '.' and '-', starting with a letter or digit)",
        "compose/a.yaml:6:3: error: invalid volume name '-v' (hint: use letters, digits, "
        "'_', '.' and '-', starting with a letter or digit)"]


NUL_HINT = "(hint: no command line, file or environment variable can carry a NUL byte: " \
           "remove it)"


def test_a_nul_byte_in_free_text_is_a_located_error(make_stack) -> None:
    """It validated, then podman-compose failed on it."""
    out = problems(make_stack, 'services:\n  app:\n    image: w:1\n'
                               '    environment: {A: "a\\0b"}\nx-note: "\\0"\n', measure=False)
    assert out == [
        f"compose/a.yaml:4:23: error: environment.A of service 'app' holds a control "
        f"character ('\\x00') {NUL_HINT}",
        f"compose/a.yaml:5:10: error: x-note holds a NUL byte {NUL_HINT}"]


def test_a_nul_byte_in_an_env_file_is_a_located_error(make_stack) -> None:
    root = make_stack({"envs/dev.env": "A=1\nB=x\x00y\n",
                       "compose/a.yaml": "services:\n  app: {image: 'w:1'}\n"})
    assert _env_problems(root, "dev") == [
        "envs/dev.env:2:4: error: a NUL byte, which no variable can carry (hint: remove it)"]


def test_a_nul_byte_from_the_process_is_located_where_it_is_used(make_stack) -> None:
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": "services:\n  app:\n    image: w:1\n"
                                         "    environment: {A: '${X}'}\n"})
    assert _env_problems(root, "dev", {"X": "a\x00b"}) == [
        f"compose/a.yaml:4:23: error: environment.A of service 'app' holds a control "
        f"character ('\\x00') {NUL_HINT}"]


@pytest.mark.parametrize(("raw", "expected"), [
    ("\x00", "compose/a.yaml:3:16: error: invalid YAML: the control character '\\x00' is "
             "not allowed here"),
    ("\x1b", "compose/a.yaml:3:16: error: invalid YAML: the control character '\\x1b' is "
             "not allowed here"),
])
def test_a_raw_control_character_in_a_compose_file_is_located(make_stack, raw,
                                                              expected) -> None:
    """PyYAML's reader refuses it with an error that carries no mark: it was a traceback."""
    out = problems(make_stack, f'services:\n  app:\n    image: "w:1{raw}"\n', measure=False)
    assert out == [expected]


def test_a_nul_byte_from_a_template_is_located_in_the_template(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services:\n  app: {image: w:1}\n",
                       "templates/b.yaml.j2": 'services:\n  app:\n'
                                              "    labels: {a: {{ '\\x00' }} }\n"})
    out = _env_problems(root, "dev")
    assert len(out) == 1 and out[0].startswith("templates/b.yaml.j2:3:")
    assert "'\\x00'" in out[0]


def test_control_characters_of_a_required_variable_message_never_reach_the_terminal(
        make_stack) -> None:
    """``${VAR:?message}`` with \\r and an ANSI escape displayed ``dev: valid`` over the
    error, and split the one-line ``FILE:LINE:COL`` format the VS Code matcher reads."""
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": 'services:\n  app:\n'
                                         '    image: "${NOPE:?\\e[2K\\rdev: valid\\nx}"\n'})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    done = inv(root, "config.validate", "--env", "dev")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", done.stderr + done.stdout)
    assert done.stderr.splitlines() == [
        "compose/a.yaml:3:13: error: required variable NOPE is missing a value: "
        "\\x1b[2K\\rdev: valid\\nx",
        "hint: fix the files named above, then run `inv config.validate` again"]


def test_the_phoenix_program_names_its_own_tasks_in_hints(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "services:\n  app: {}\n"})
    phoenix = Path(sys.executable).with_name("phoenix")
    done = subprocess.run([str(phoenix), "config.validate", "--env", "dev"], cwd=root,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == \
        "hint: fix the files named above, then run `phoenix config.validate` again"
