"""The error family: one-line located problems whose quoted values cannot drive a terminal,
and a next step named by each error class (the doctor only for podman)."""

from __future__ import annotations

import inspect

import pytest

from phoenix_compose import errors
from phoenix_compose.errors import (
    CommandError,
    ComposeRuntimeError,
    ConfigurationError,
    Loc,
    PhoenixError,
    Problem,
    shown,
)

FAKE = "\x1b[2K\rdev: valid"


def test_a_problem_is_one_line_whatever_its_message_quotes() -> None:
    """A ``${VAR:?message}`` with \\r or ANSI escapes could print ``dev: valid`` over the
    error, and a line break would split the line the VS Code matcher reads."""
    problem = Problem(Loc("compose/a.yaml", 3, 12), f"required variable X: {FAKE}\nnext",
                      hint="a\tb\x07")
    assert str(problem) == ("compose/a.yaml:3:12: error: required variable X: "
                            "\\x1b[2K\\rdev: valid\\nnext (hint: a\\tb\\x07)")


def test_c1_controls_line_separators_and_bidi_overrides_are_escaped() -> None:
    assert shown("a\x9b31mb\u2028c\u202ed\x7f") == "a\\x9b31mb\\u2028c\\u202ed\\x7f"
    assert shown("plain: ü, 漢字, tab\tend") == "plain: ü, 漢字, tab\\tend"


def test_a_multi_line_error_keeps_its_lines_but_not_their_controls() -> None:
    error = ComposeRuntimeError(f"first\n{FAKE}", hint="x")
    assert str(error) == "first\n\\x1b[2K\\rdev: valid\nhint: x"
    assert str(ConfigurationError(f"bad {FAKE}")) == "bad \\x1b[2K\\rdev: valid"
    many = ConfigurationError([Problem(Loc("a", 1, 1), FAKE), Problem(Loc("b", 2, 1), "ok")])
    assert str(many).splitlines() == ["a:1:1: error: \\x1b[2K\\rdev: valid",
                                      "b:2:1: error: ok"]


@pytest.mark.parametrize("program", ["podman", "podman-compose", "/usr/bin/podman"])
def test_a_failed_podman_suggests_the_doctor(program: str) -> None:
    assert CommandError([program, "ps"], 125).hint == \
        "run `inv doctor` to check the podman installation"


@pytest.mark.parametrize(("program", "step"), [
    ("git", "is git installed and the stack a checkout?"),
    ("gpg", "GnuPG home"), ("gpgconf", "GnuPG home"), ("pass", "its store"),
    ("bao", "`bao status`"), ("kubectl", "`kubectl cluster-info`"),
    ("systemd-analyze", "`inv deploy.quadlet --check`"),
    ("mmdebstrap", "run the command above yourself to see why mmdebstrap failed"),
])
def test_other_programs_name_their_own_next_step_not_the_doctor(program: str,
                                                                step: str) -> None:
    error = CommandError([program, "x"], 1, stderr="boom")
    assert step in error.hint and "doctor" not in error.hint
    assert "doctor" not in str(error)


def test_every_error_class_names_a_next_step_and_only_podman_the_doctor() -> None:
    classes = [c for _, c in inspect.getmembers(errors, inspect.isclass)
               if issubclass(c, PhoenixError) and c is not PhoenixError]
    assert len(classes) >= 10
    for cls in classes:
        assert cls.hint, f"{cls.__name__} names no next step"
        assert "doctor" not in cls.hint, f"{cls.__name__} suggests the doctor"
