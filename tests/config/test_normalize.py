"""One spelling per attribute, and the values compose-go decodes as strings written as
strings (its ``fmt.Sprint``), before merging."""

from __future__ import annotations

import pytest

from phoenix_compose.api import load_project
from phoenix_compose.config.normalize import normalize
from phoenix_compose.config.yamlsrc import flatten, load, plain_locator
from phoenix_compose.errors import ConfigurationError


def normalized(text: str) -> dict:
    doc = load(text, plain_locator("a.yaml"))
    assert doc is not None
    return flatten(normalize(doc))[0]


def test_booleans_and_numbers_in_keyed_sections_become_go_strings() -> None:
    svc = normalized("""
services:
  s:
    environment: {A: true, B: 8080, C: 1e6, D: ~, E: 0.5}
    labels: {a: false, b: ~, c: 010}
    annotations: [a=1, b]
    sysctls: {net.core.somaxconn: 1024}
    build: {args: [X, Y=1], labels: {z: 1}, additional_contexts: {k: 1}}
    deploy: {labels: {d: true}}
    logging: {options: {max-file: 3, tag: ~}}
""")["services"]["s"]
    assert svc["environment"] == {"A": "true", "B": "8080", "C": "1e+06", "D": None,
                                  "E": "0.5"}
    assert svc["labels"] == {"a": "false", "b": "", "c": "8"}
    assert svc["annotations"] == {"a": "1", "b": ""}
    assert svc["sysctls"] == {"net.core.somaxconn": "1024"}
    assert svc["build"] == {"args": {"X": None, "Y": "1"}, "labels": {"z": "1"},
                            "additional_contexts": {"k": "1"}}
    assert svc["deploy"] == {"labels": {"d": "true"}}
    assert svc["logging"] == {"options": {"max-file": "3", "tag": ""}}


def test_list_items_and_driver_options_become_go_strings() -> None:
    doc = normalized("""
services:
  s:
    group_add: [100, wheel]
    expose: [80, "90-91"]
    environment: [true, 1.5]
    extra_hosts: {db: [10.0.0.1]}
    networks: {n: {driver_opts: {mtu: 1400}}}
networks:
  n: {driver_opts: {mtu: 1500}, labels: {a: 1, b: ~}}
volumes:
  v: {driver_opts: {size: 10}, labels: [x]}
""")
    svc = doc["services"]["s"]
    assert svc["group_add"] == ["100", "wheel"] and svc["expose"] == ["80", "90-91"]
    assert svc["environment"] == {"true": None, "1.5": None}
    assert svc["networks"] == {"n": {"driver_opts": {"mtu": "1400"}}}
    assert doc["networks"]["n"] == {"driver_opts": {"mtu": "1500"}, "labels": {"a": "1",
                                                                              "b": ""}}
    assert doc["volumes"]["v"] == {"driver_opts": {"size": "10"}, "labels": {"x": ""}}


@pytest.mark.parametrize(("body", "where"), [
    ("networks:\n  n:\n    driver_opts: {flag: true}\n", "a.yaml:8:25"),
    ("    logging: {options: {flag: false}}\n", "a.yaml:6:31"),
])
def test_a_value_the_schema_refuses_is_left_for_the_schema(tmp_path, body, where) -> None:
    """docker compose refuses a boolean driver option or logging option: so do we, rather
    than turning it into the string 'true'."""
    file = tmp_path / "a.yaml"
    file.write_text("services:\n  s:\n    image: alpine\n"
                    "    environment: {A: true}\n    labels: {a: 1}\n" + body)
    with pytest.raises(ConfigurationError) as info:
        load_project([file], {}, validate=True)
    assert [str(p.loc).removeprefix(f"{tmp_path}/") for p in info.value.problems] == [where]
