"""Interpolation against compose-go's own cases, ported from
github.com/compose-spec/compose-go, template/template_test.go (the test named in each
case); the variables are that file's ``defaults``."""

from __future__ import annotations

import pytest

from phoenix_compose import api

DEFAULTS = {"FOO": "first", "BAR": "", "JSON": '{"json":2}'}


@pytest.mark.parametrize(("template", "expected"), [
    ("$${foo}", "${foo}"),  # TestEscaped
    ("foo", "foo"),  # TestSubstituteNoMatch
    ("a $ string", "a $ string"),  # TestUnescaped
    ("^REGEX$", "^REGEX$"),
    ("$}", "$}"),
    ("$", "$"),
    ("$FOO-bar", "first-bar"),  # TestNonBraced
    ("This ${missing} var", "This  var"),  # TestNoValueNoDefault
    ("This ${BAR} var", "This  var"),
    ("This $FOO var", "This first var"),  # TestValueNoDefault
    ("This ${FOO} var", "This first var"),
    ("ok ${missing:-def}", "ok def"),  # TestNoValueWithDefault
    ("ok ${missing-def}", "ok def"),
    ("${A:+${A},}B", "B"),  # TestLazyDefaultDoesNotWarn
    ("${A:-${B}}", ""),  # TestLazyDefaultWarnsWhenUsed
    ("ok ${BAR:-def}", "ok def"),  # TestEmptyValueWithSoftDefault
    ("ok ${FOO:-def}", "ok first"),  # TestValueWithSoftDefault
    ("ok ${BAR-def}", "ok "),  # TestEmptyValueWithHardDefault
    ("ok ${UNSET_VAR:+presence_value}", "ok "),  # TestPresentValueWithUnset
    ("ok ${UNSET_VAR+presence_value}", "ok "),  # TestPresentValueWithUnset2
    ("ok ${FOO:+presence_value}", "ok presence_value"),  # TestPresentValueWithNonEmpty
    ("ok ${FOO+presence_value}", "ok presence_value"),  # ...AndNonEmptyWithNonEmpty
    ("ok ${BAR+presence_value}", "ok presence_value"),  # TestPresentValueWithSet
    ("ok ${BAR:+presence_value}", "ok "),  # TestPresentValueAndNotEmptyWithSet
    ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),  # TestNonAlphanumericDefault
    ("ok ${UNSET_VAR-$FOO}", "ok first"),  # TestDefaultsWithNestedExpansion
    ("ok ${UNSET_VAR-${FOO}}", "ok first"),
    ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
    ("ok ${BAR:-$FOO}", "ok first"),
    ("ok ${BAR:-${FOO}}", "ok first"),
    ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
    ("ok ${BAR+$FOO}", "ok first"),
    ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
    ('ok ${missing:-{"json":1}}', 'ok {"json":1}'),  # TestNoValueWithCurlyBracesDefault
    ('ok ${missing-{"json":1}}', 'ok {"json":1}'),
    ('ok ${JSON:-{"json":1}}', 'ok {"json":2}'),  # TestValueWithCurlyBracesDefault
    ('ok ${JSON-{"json":1}}', 'ok {"json":2}'),
])
def test_substitution_agrees_with_compose_go(template: str, expected: str) -> None:
    assert api.interpolate(template, DEFAULTS) == expected


@pytest.mark.parametrize("template", ["${", "${}", "${ }", "${ foo}", "${foo }", "${foo!}"])
def test_invalid_templates_are_errors(template: str) -> None:  # TestInvalid
    with pytest.raises(api.ConfigurationError, match="invalid interpolation format"):
        api.interpolate(template, DEFAULTS)


@pytest.mark.parametrize(("template", "message"), [  # TestMandatoryVariableErrors
    ("not ok ${UNSET_VAR:?Mandatory Variable Unset}",
     "required variable UNSET_VAR is missing a value: Mandatory Variable Unset"),
    ("not ok ${BAR:?Mandatory Variable Empty}",
     "required variable BAR is missing a value: Mandatory Variable Empty"),
    ("not ok ${UNSET_VAR:?}", "required variable UNSET_VAR is missing a value"),
    ("not ok ${UNSET_VAR?Mandatory Variable Unset}",
     "required variable UNSET_VAR is missing a value: Mandatory Variable Unset"),
    ("not ok ${UNSET_VAR?}", "required variable UNSET_VAR is missing a value"),
])
def test_mandatory_variables(template: str, message: str) -> None:
    with pytest.raises(api.ConfigurationError, match=message):
        api.interpolate(template, DEFAULTS)


def test_a_lazy_required_message_is_not_evaluated() -> None:  # TestLazyRequiredMessage...
    assert api.interpolate("${A?${B}}", {"A": "value"}) == "value"
