"""Every unknown key is a located error with a "did you mean", wherever it is."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.schema import unexpected_keys
from phoenix_compose.errors import ConfigurationError


def problems(make_stack, compose: str) -> list[str]:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": compose})
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


@pytest.mark.parametrize(("compose", "expected"), [
    ("services: {web: {image: w, healthcheck: {test: [CMD, 'true'], intervl: 5s}}}\n",
     "compose/a.yaml:1:63: error: unknown key 'intervl' in services.web.healthcheck "
     "(hint: did you mean 'interval'?)"),
    ("services:\n  web: {image: w, depends_on: {db: {conditon: service_healthy}}}\n"
     "  db: {image: d}\n",
     "compose/a.yaml:2:37: error: unknown key 'conditon' in services.web.depends_on.db "
     "(hint: did you mean 'condition'?)"),
    ("services: {web: {image: w, deploy: {replicaz: 2}}}\n",
     "compose/a.yaml:1:37: error: unknown key 'replicaz' in services.web.deploy "
     "(hint: did you mean 'replicas'?)"),
    ("services: {web: {image: w, ports: [{target: 80, publishd: 8080}]}}\n",
     "compose/a.yaml:1:49: error: unknown key 'publishd' in services.web.ports.0 "
     "(hint: did you mean 'published'?)"),
    ("services: {web: {image: w}}\nnetwrks: {}\n",
     "compose/a.yaml:2:1: error: unknown key 'netwrks' in (top level) "
     "(hint: did you mean 'networks'?)"),
    ("services: {web: {image: w}}\nnetworks: {n: {drivr: bridge}}\n",
     "compose/a.yaml:2:16: error: unknown key 'drivr' in networks.n "
     "(hint: did you mean 'driver'?)"),
    ("services: {web: {image: w}}\nsecrets: {s: {fil: x}}\n",
     "compose/a.yaml:2:15: error: unknown key 'fil' in secrets.s (hint: did you mean 'file'?)"),
])
def test_unknown_keys_everywhere(make_stack, compose, expected) -> None:
    assert problems(make_stack, compose) == [expected]


def test_a_typo_in_a_condition_no_longer_becomes_service_started(make_stack) -> None:
    out = problems(make_stack, "services:\n  web: {image: w, depends_on: {db: "
                               "{conditon: service_healthy}}}\n  db: {image: d}\n")
    assert len(out) == 1 and "conditon" in out[0]


def test_extension_keys_are_allowed_everywhere(make_stack) -> None:
    assert problems(make_stack, "x-top: 1\nservices: {web: {image: w, x-mine: 2, "
                                "healthcheck: {test: [CMD, 'true'], x-h: 3}}}\n") == []


@pytest.mark.parametrize(("message", "keys"), [
    ("Additional properties are not allowed ('a', 'b' were unexpected)", ["a", "b"]),
    ("'intervl' does not match any of the regexes: '^x-'", ["intervl"]),
    ("'a', 'b' do not match any of the regexes: '^x-'", ["a", "b"]),
    ("Unevaluated properties are not allowed ('c' was unexpected)", ["c"]),
])
def test_both_of_jsonschemas_messages_are_read(message, keys) -> None:
    assert unexpected_keys(message) == keys
