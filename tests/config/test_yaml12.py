"""YAML 1.2 as compose-go's go-yaml reads it (the expected values are docker compose's,
see test_compose_oracle.py for the same cases against the real binary)."""

from __future__ import annotations

import math
from datetime import date, datetime, timezone

import pytest
import yaml

from phoenix_compose.config.templates import to_yaml
from phoenix_compose.config.yaml12 import go_string
from phoenix_compose.config.yamlsrc import flatten, load, plain_locator
from phoenix_compose.errors import ConfigurationError


def value(text: str):
    return flatten(load(f"v: {text}\n", plain_locator("f.yaml")))[0]["v"]


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigurationError) as info:
        load(text, plain_locator("f.yaml"))
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize("text", ["25:25", "2222:22", "12:30", "1:2:3", "190:20:30.15"])
def test_colon_numbers_are_strings_not_base_60(text: str) -> None:
    assert value(text) == text


@pytest.mark.parametrize("text", ["yes", "Yes", "YES", "no", "No", "on", "On", "ON", "off",
                                  "Off", "OFF", "y", "Y", "n", "N", "tRUE", "nULL"])
def test_yaml_1_1_booleans_and_odd_spellings_are_strings(text: str) -> None:
    assert value(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False),
    ("FALSE", False), ("~", None), ("null", None), ("Null", None), ("NULL", None), ("", None),
])
def test_booleans_and_nulls_are_the_core_schema_spellings(text: str, expected) -> None:
    assert value(text) is expected


@pytest.mark.parametrize(("text", "expected"), [
    ("0", 0), ("010", 8), ("0_10", 8), ("0o10", 8), ("0O10", 8), ("-0o10", -8), ("0x10", 16),
    ("0X1F", 31), ("+0x10", 16), ("0b101", 5), ("-0b101", -5), ("+12", 12), ("1_000", 1000),
    ("0x_1_F", 31), ("9223372036854775807", 2**63 - 1), ("9223372036854775808", 2**63),
])
def test_integers_read_as_go_yaml_reads_them(text: str, expected: int) -> None:
    got = value(text)
    assert got == expected and type(got) is int


@pytest.mark.parametrize(("text", "expected"), [
    ("08", 8.0), ("09", 9.0), ("1e3", 1000.0), ("1E3", 1000.0), ("1.", 1.0), ("0.", 0.0),
    (".5", 0.5), ("-.5", -0.5), ("1.5e3", 1500.0), ("1_000.5", 1000.5), (".5_0", 0.5),
    ("18446744073709551616", 2.0**64), ("-9223372036854775809", -(2.0**63)),
    (".inf", math.inf), ("-.Inf", -math.inf), ("+.INF", math.inf), ("1e-400", 0.0),
])
def test_floats_read_as_go_yaml_reads_them(text: str, expected: float) -> None:
    got = value(text)
    assert got == expected and type(got) is float


def test_nan_is_a_float() -> None:
    assert math.isnan(value(".NaN"))


@pytest.mark.parametrize("text", ["1e400", "0o8", "0x", "0xG", "1e", "1.5.5", "0x1.8p1",
                                  "+", ".", "1-2", "1.2.3.4", "::1", "2001-2-30",
                                  "2001-12-14T21:59:43", "2001-12-14 21:59:43.10 -5"])
def test_near_numbers_and_impossible_dates_are_strings(text: str) -> None:
    assert value(text) == text


@pytest.mark.parametrize(("text", "expected"), [
    ("2001-12-14", date(2001, 12, 14)),
    ("2002-1-2", date(2002, 1, 2)),
    ("2001-12-15T02:59:43.1Z", datetime(2001, 12, 15, 2, 59, 43, 100000, timezone.utc)),
    ("2001-12-14 21:59:43,5", datetime(2001, 12, 14, 21, 59, 43, 500000)),
])
def test_go_yaml_timestamps_are_dates(text: str, expected) -> None:
    assert value(text) == expected


def test_quoted_and_tagged_scalars_keep_their_type() -> None:
    assert value("'010'") == "010" and value("!!str 1e3") == "1e3"
    assert value("!!int '0x10'") == 16 and value("!!float 1") == 1.0


@pytest.mark.parametrize(("text", "message"), [
    ("v: !!bool yes\n", "f.yaml:1:4: error: cannot decode `yes` as a !!bool"),
    ("v: !!int 1.5\n", "f.yaml:1:4: error: cannot decode `1.5` as a !!int"),
    ("010: a\n", "f.yaml:1:1: error: non-string key '010': docker compose reads it as a "
                 "number (hint: quote it: '010')"),
    ("a: 1\ntrue: b\n", "f.yaml:2:1: error: non-string key 'true': docker compose reads it "
                        "as a boolean (hint: quote it: 'true')"),
    ("~: a\n", "f.yaml:1:1: error: non-string key '~': docker compose reads it as null "
               "(hint: quote it: '~')"),
    ("? [a]\n: b\n", "f.yaml:1:3: error: a mapping key must be a string, not a list"),
    ("<<: {a: 1}\n<<: {b: 2}\n", "f.yaml:2:1: error: duplicate key '<<' (first at f.yaml:1:1)"),
])
def test_what_docker_compose_refuses_is_a_located_error(text: str, message: str) -> None:
    assert problems(text) == [message]


def test_quoted_keys_that_look_like_numbers_are_strings() -> None:
    assert flatten(load("'010': a\n!!str 1: b\n", plain_locator("f")))[0] == \
        {"010": "a", "1": "b"}


def test_pyyaml_keeps_its_own_yaml_1_1_resolver() -> None:
    assert yaml.safe_load("a: yes\nb: 25:25\n") == {"a": True, "b": 1525}
    assert value("yes") == "yes"


@pytest.mark.parametrize("text", ["0o10", "1e3", "08", "010", "1_000", "12:30", "true",
                                  "2001-12-14", "-.inf", "~", "", ".5"])
def test_the_yaml_filter_quotes_strings_the_loader_would_read_as_something_else(
        text: str) -> None:
    assert flatten(load(f"v: {to_yaml(text)}\n", plain_locator("f")))[0]["v"] == text


@pytest.mark.parametrize(("data", "expected"), [
    (True, "true"), (False, "false"), (8, "8"), (-5, "-5"), (2**63, "9223372036854775808"),
    (1.0, "1"), (1000.0, "1000"), (100000.0, "100000"), (1e6, "1e+06"), (1e20, "1e+20"),
    (1e21, "1e+21"), (123456789.0, "1.23456789e+08"), (0.1, "0.1"), (0.0001, "0.0001"),
    (1e-05, "1e-05"), (-1e-07, "-1e-07"), (2.5e-05, "2.5e-05"), (685230.15, "685230.15"),
    (2.0**64, "1.8446744073709552e+19"), (1.2345678901234569e23, "1.2345678901234569e+23"),
    (0.0, "0"), (-0.0, "-0"), (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"),
    ("as is", "as is"), (None, None),
])
def test_go_string_writes_values_as_go_fmt_sprint(data, expected) -> None:
    assert go_string(data) == expected


def test_a_date_where_compose_wants_a_string_is_located_with_a_hint(tmp_path) -> None:
    from phoenix_compose.api import load_project

    file = tmp_path / "a.yaml"
    file.write_text("services:\n  s:\n    image: alpine\n    command: [echo, 2001-12-14]\n")
    with pytest.raises(ConfigurationError) as info:
        load_project([file], {}, validate=True)
    (problem,) = info.value.problems
    assert (problem.loc.line, problem.loc.col) == (4, 21)
    assert problem.hint == "an unquoted date is a timestamp to docker compose: quote it"


def test_unquoted_port_pairs_validate_and_publish_the_ports_written(tmp_path) -> None:
    """Issue 25: ``[2222:22]`` was refused as "container port 133342" and ``25:25`` was
    silently port 1525 (base-60 numbers of YAML 1.1)."""
    from phoenix_compose.api import load_project

    file = tmp_path / "compose.yaml"
    file.write_text("services:\n  ssh:\n    image: alpine\n    ports: [2222:22]\n"
                    "  mail:\n    image: alpine\n    ports:\n      - 25:25\n")
    model = load_project([file], {}, validate=True)
    assert model["services"]["ssh"]["ports"] == ["2222:22"]
    assert model["services"]["mail"]["ports"] == ["25:25"]
