"""Typed values after interpolation.  Cases follow compose-go's loader/interpolate.go
(interpolateTypeCastMapping, toBoolean, toInt) and loader/loader_test.go
(TestLoadWithInterpolationCastFull)."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.typecast import caster, to_bool
from phoenix_compose.errors import ConfigurationError


def _own(labels: dict) -> dict:
    """The labels the files wrote: the owner label phoenix adds is there, and left out."""
    assert OWNER_LABEL in labels
    return {k: v for k, v in labels.items() if k != OWNER_LABEL}


def model(make_stack, compose: str, env_text: str = "") -> dict:
    root = make_stack({"envs/dev.env": env_text, "compose/a.yaml": compose})
    return build(load_environment(root, "dev", {})).model


def test_interpolated_fields_take_the_type_the_spec_gives_them(make_stack) -> None:
    svc = model(make_stack, """
        services:
          web:
            image: w:1
            privileged: ${PRIV:-false}
            read_only: "TRUE"
            scale: ${N}
            cpus: "0.5"
            pids_limit: "100"
            healthcheck: {test: [CMD, "true"], retries: "${RETRIES}", disable: "no"}
            ports: [{target: "${PORT}", published: "8080"}]
            ulimits: {nproc: "65535", nofile: {soft: "20000", hard: "40000"}}
            depends_on: {db: {condition: service_started, required: "false"}}
          db: {image: d:1}
        networks: {back: {internal: "true"}}
        volumes: {data: {external: "yes"}}
        """, "N=2\nRETRIES=4\nPORT=80\n")["services"]["web"]
    assert svc["privileged"] is False and svc["read_only"] is True
    assert svc["scale"] == 2 and svc["cpus"] == 0.5 and svc["pids_limit"] == 100
    assert svc["healthcheck"]["retries"] == 4 and svc["healthcheck"]["disable"] is False
    # scale 2: the edge owns the published port, as written (typed); the replicas publish
    # the container port on an ephemeral loopback port (config/edgeports.py)
    assert svc["x-phoenix-edge-ports"][0]["target"] == 80 and svc["ports"] == ["127.0.0.1::80"]
    assert svc["ulimits"] == {"nproc": 65535, "nofile": {"soft": 20000, "hard": 40000}}
    assert svc["depends_on"]["db"]["required"] is False


def test_untyped_fields_keep_their_strings(make_stack) -> None:
    svc = model(make_stack, "services: {web: {image: w:1, environment: {A: 'true'}, "
                            "labels: {n: '2'}}}\n")["services"]["web"]
    assert svc["environment"] == {"A": "true"} and _own(svc["labels"]) == {"n": "2"}


@pytest.mark.parametrize(("text", "value"), [("true", True), ("FALSE", False), ("y", True),
                                             ("Yes", True), ("on", True), ("n", False),
                                             ("no", False), ("OFF", False)])
def test_booleans_accept_what_compose_go_accepts(text, value) -> None:
    assert to_bool(text) is value


@pytest.mark.parametrize("text", ["1", "0", "maybe", ""])
def test_other_booleans_are_refused(text) -> None:
    with pytest.raises(ValueError, match="invalid boolean"):
        to_bool(text)


def test_a_value_that_cannot_be_cast_is_located_at_the_env_line(make_stack) -> None:
    with pytest.raises(ConfigurationError) as info:
        model(make_stack, "services:\n  web:\n    image: w:1\n    privileged: ${PRIV}\n",
              "# x\nPRIV=sometimes\n")
    assert [str(p) for p in info.value.problems] == [
        "envs/dev.env:2:1: error: services.web.privileged: failed to cast to expected type: "
        "invalid boolean: sometimes (used at compose/a.yaml:4:17)"]


def test_a_literal_that_cannot_be_cast_is_located_in_the_compose_file(make_stack) -> None:
    with pytest.raises(ConfigurationError) as info:
        model(make_stack, "services:\n  web:\n    image: w:1\n    scale: two\n")
    assert str(info.value.problems[0]).startswith(
        "compose/a.yaml:4:12: error: services.web.scale: failed to cast to expected type: "
        "invalid integer: two")


def test_paths_match_like_compose_go() -> None:
    assert caster(("services", "web", "ports", 0, "target")) is not None
    assert caster(("services", "web", "ports", "x", "target")) is None
    assert caster(("services", "web", "environment", "privileged")) is None
    assert caster(("networks", "n", "internal")) is not None
