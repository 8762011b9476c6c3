from __future__ import annotations

import re

import pytest

from phoenix_compose.config.interpolate import _reference, interpolate

VARS = {"SET": "value", "EMPTY": "", "OTHER": "other"}


def run(text: str) -> str:
    result, findings = interpolate(text, VARS.get)
    assert [f for f in findings if f.severity == "error"] == []
    return result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SET}", "value"),
        ("$SET", "value"),
        ("a-$SET-b", "a-value-b"),
        ("${SET:-d}", "value"),
        ("${EMPTY:-d}", "d"),
        ("${UNSET:-d}", "d"),
        ("${SET-d}", "value"),
        ("${EMPTY-d}", ""),
        ("${UNSET-d}", "d"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${UNSET:+alt}", ""),
        ("${SET+alt}", "alt"),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${SET:?boom}", "value"),
        ("${EMPTY?boom}", ""),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$", "cost: 5$"),
        ("$ 1", "$ 1"),
        ("${UNSET:-${OTHER}}", "other"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("${SET:+${OTHER}-x}", "other-x"),
        ("${UNSET:-a:b}", "a:b"),
        ("${UNSET:-$$literal}", "$literal"),
    ],
)
def test_every_operator_substitutes_like_compose(text: str, expected: str) -> None:
    assert run(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${UNSET:?set it please}", "required variable UNSET is missing a value: set it please"),
        ("${EMPTY:?}", "required variable EMPTY is missing a value: is empty"),
        ("${UNSET?}", "required variable UNSET is missing a value: is not set"),
    ],
)
def test_required_variables_fail_with_their_message(text: str, message: str) -> None:
    result, findings = interpolate(text, VARS.get)
    assert [(f.severity, f.message) for f in findings] == [("error", message)]
    assert result == text


def test_the_error_part_is_evaluated_only_when_needed() -> None:
    assert run("${SET:-${UNSET:?never evaluated}}") == "value"


def test_error_offset_points_at_the_dollar() -> None:
    _, findings = interpolate("abc ${UNSET:?x}", VARS.get)
    assert findings[0].offset == 4


def test_unset_plain_variable_warns_and_becomes_empty() -> None:
    result, findings = interpolate("x${UNSET}y", VARS.get)
    assert result == "xy"
    assert [(f.severity, f.offset) for f in findings] == [("warning", 1)]
    assert "UNSET is not set" in findings[0].message


@pytest.mark.parametrize("text", ["${", "${SET", "${1BAD}", "${SET:x}", "${SET!}"])
def test_malformed_substitutions_are_errors(text: str) -> None:
    _, findings = interpolate(text, VARS.get)
    assert findings and findings[-1].severity == "error"
    assert "invalid interpolation format" in findings[-1].message


@pytest.mark.parametrize("text", ["$A", "${A}", "x $A y", "$$A $A", "$AB $A", "${AB} ${A}",
                                  "$$$A", "${A:-x}", "$ {A}", "no reference", "$A_1 $A",
                                  "${{A}", "a$", "$"])
def test_a_reference_is_found_where_the_regex_finds_it(text: str) -> None:
    """A used variable's ``$`` (for the secret rule's locations), found without a regex
    compiled per name."""
    for name in ("A", "AB", "A_1"):
        at = re.search(r"(?<!\$)\$\{?" + re.escape(name) + r"(?![_A-Za-z0-9])", text)
        assert _reference(text, name) == (at.start() if at else 0)
