"""go_split against go-shellwords v1.0.12 (compose-go's) on tricky input, and a hostile
megabyte-long command split in linear work."""

import pytest

from phoenix_compose.config import shellwords
from phoenix_compose.config.shellwords import go_split, split_operator_commands


@pytest.mark.parametrize(("line", "words"), [
    ("a\\ b c", ["a b", "c"]),
    ("'a\\b' \"c\\d\"", ["a\\b", "cd"]),          # go: \ escapes anything outside ''
    ("\"\" x", ["", "x"]),
    ("echo $(a b) `c d`", ["echo", "$(a b)", "`c d`"]),
    ("echo ${HOME} $X", ["echo", "${HOME}", "$X"]),  # no variable parsing
    ("a\nb\tc\rd", ["a", "b", "c", "d"]),
    ("a\u00a0b", ["a\u00a0b"]),                     # only ASCII space, tab, CR, LF split
    ("n 8090 2>&1", ["n", "8090"]),
    ("n 2x>f", ["n"]),                              # Go looks at the first byte only
    ("n \u00b2>f", ["n", "\u00b2"]),                # a non-ASCII digit is no redirection
    ("n \u0663>f", ["n", "\u0663"]),
    ("\"2\">f", []),
    ("a;b", ["a"]),
    ("\\$(x y)", ["$(x y)"]),
])
def test_go_split_matches_go_shellwords(line, words):
    assert go_split(line) == words


@pytest.mark.parametrize("line", ["'a", "a\\", "(a)", "a)", "$($(a))", "`a", "$(a"])
def test_go_split_refuses_what_go_shellwords_refuses(line):
    assert go_split(line) is None


@pytest.mark.parametrize("words", [200_000, pytest.param(1_000_000, marks=pytest.mark.slow)])
def test_megabyte_command_is_linear(monkeypatch, words):
    """A command of 2 bytes per one-letter word (was quadratic: a new list per word, a new
    string per character: 2*10^10 steps at 200k words, minutes instead of a fraction of a
    second) is split, and shlex is not asked about it (quadratic in a word's length): it
    becomes its word list.  The 2 MB case is in the slow tier."""
    asked = []
    monkeypatch.setattr(shellwords.shlex, "split", lambda s: asked.append(s) or s.split())
    line = "a " * words
    split = go_split(line)
    assert split is not None and len(split) == words
    svc = {"command": "x" * (2 * words)}
    split_operator_commands({"s": svc})
    assert svc["command"] == ["x" * (2 * words)] and asked == []
    small = {"command": "a b"}
    split_operator_commands({"s": small})
    assert asked == ["a b"] and small["command"] == "a b"
