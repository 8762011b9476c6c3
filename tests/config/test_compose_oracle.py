"""Compose files read as docker compose reads them, checked against docker compose itself
(``compose_oracle``): YAML 1.2 scalars, merge keys, ``!reset``/``!override``, and the values
that reach the final file as strings.  What podman-compose receives is the final file read
with PyYAML, as podman-compose reads it.

Deliberate differences, left out of the comparisons here (other parts of issue 25):
- ports, ``extra_hosts`` and the like keep their short forms in our file (``"25:25"``,
  ``host:ip``), so they are compared by meaning, not by spelling.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
import yaml
from compose_oracle import compose_config, needs_oracle

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.merge import port_key
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError

pytestmark = needs_oracle

SCALARS = [
    "~", "null", "Null", "NULL", "nULL", "", "true", "True", "TRUE", "tRUE", "false", "False",
    "FALSE", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON",
    "off", "Off", "OFF", "0", "010", "0o10", "0O10", "0x10", "0X10", "0x1F", "0b101", "-0b101",
    "+12", "-12", "1_000", "0_10", "12:30", "1:2:3", "190:20:30", "08", "09", "0o8", "-0o10",
    "+0x10", "9223372036854775807", "9223372036854775808", "18446744073709551616",
    "-9223372036854775809", "-0", "+0", "00", "0.", "-0.0", "1.0", "1.", ".5", "-.5", "+.5",
    "1e3", "1E3", "1e+3", "1e-3", "1.5e3", "1e6", "1e5", "1e21", "1e20", "123456789.0", "0.1",
    "0.00001", "0.0001", "3.14159", ".inf", "-.inf", "+.inf", ".Inf", ".INF", ".nan", ".NaN",
    "1e400", "1e-400", "1_000.5", "6.8523015e+5", "685.230_15e+03", "190:20:30.15", "1e",
    "1.5.5", "0x1.8p1", "123456789012345678901234", "-1e-7", "2.5e-05", "1000000.0", ".1e2",
    ".5_0", "0x_1_F", "2001-12-14 21:59:43.10 -5", "2001-12-14T21:59:43", "2001-2-30", "0x",
    "0o", ".", "+", "=", "0xG", "1-2", "1.2.3.4", "::1", "1:2", "0:0", "60:60",
]


def ours(make_stack, files: dict[str, str]) -> dict[str, Any]:
    """The final file podman-compose receives, read as podman-compose reads it."""
    root = make_stack({"envs/dev.env": "", **{f"compose/{k}": v for k, v in files.items()}})
    for name in ("Dockerfile",):
        (root / "compose" / name).write_text("FROM scratch\n", encoding="utf-8")
    return _without_owner(yaml.safe_load(build(load_environment(root, "dev", {})).compose_text))


def _without_owner(model: Any) -> Any:
    """Our final file less the one thing we add on purpose: the owner label (issue 23),
    which docker compose knows nothing of, on services, networks and volumes, and the
    implicit ``default`` network declared only to carry it."""
    if isinstance(model, dict):
        out = {k: _without_owner(v) for k, v in model.items() if k != "io.phoenix.owner"}
        if "labels" in out and out["labels"] == {}:
            del out["labels"]
        networks = out.get("networks")
        if isinstance(networks, dict) and networks.get("default") == {}:
            del out["networks"]["default"]
            if not out["networks"]:
                del out["networks"]
        return out
    if isinstance(model, list):
        return [_without_owner(v) for v in model]
    return model


def theirs(make_stack, files: dict[str, str]) -> Any:
    root = make_stack({f"oracle/{k}": v for k, v in files.items()})
    (root / "oracle" / "Dockerfile").write_text("FROM scratch\n", encoding="utf-8")
    return compose_config([root / "oracle" / k for k in files], root / "oracle")


def both(make_stack, *texts: str) -> tuple[dict[str, Any], dict[str, Any]]:
    files = {f"{i}.yaml": textwrap.dedent(t).lstrip("\n") for i, t in enumerate(texts)}
    verdict = theirs(make_stack, files)
    assert verdict.ok, verdict.error
    return ours(make_stack, files), verdict.model


def test_plain_scalars_reach_labels_and_environment_as_docker_compose_writes_them(
        make_stack) -> None:
    lines = ["services:", "  s:", "    image: alpine", "    environment:"]
    lines += [f"      V{i:03d}: {s}" for i, s in enumerate(SCALARS)]
    lines += ["    labels:"] + [f"      L{i:03d}: {s}" for i, s in enumerate(SCALARS)]
    mine, docker = both(make_stack, "\n".join(lines) + "\n")
    svc, want = mine["services"]["s"], docker["services"]["s"]
    assert svc["labels"] == want["labels"]
    assert svc["environment"] == want["environment"]
    assert svc["environment"]["V030"] == "8" and svc["labels"]["L015"] == "yes"  # 010, yes


def _ports(ports: list[Any]) -> list[tuple[str, str, str, str]]:
    return sorted(port_key(p) for p in ports)


def _their_ports(ports: list[dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    return sorted((p.get("host_ip", ""), str(p["target"]), p.get("published", ""),
                   p.get("protocol", "tcp")) for p in ports)


def test_unquoted_ports_publish_what_docker_compose_publishes(make_stack) -> None:
    mine, docker = both(make_stack, """
        services:
          mail:
            image: alpine
            ports:
              - 25:25
              - 2222:22
              - 127.0.0.1:5353:53/udp
              - "8080:80"
              - 9000
        """)
    assert _ports(mine["services"]["mail"]["ports"]) == \
        _their_ports(docker["services"]["mail"]["ports"])
    assert ("", "25", "25", "tcp") in _ports(mine["services"]["mail"]["ports"])


STRINGS = """
    services:
      s:
        image: alpine
        environment: {KC_HTTP_ENABLED: true, PORT: 8080, RATIO: 0.5, BIG: 1e6, MODE: 0o644,
                      ANSWER: yes, AT: 12:30}
        labels: {traefik.enable: true, weight: 10, empty: null, plain: on}
        annotations: {a: 1, b: ~}
        sysctls: {net.core.somaxconn: 1024, net.ipv4.tcp_syncookies: false}
        build:
          context: .
          args: {DEBUG: false, VERSION: 1.10}
          labels: {a: 1, b: ~}
        deploy: {labels: {a: 1, b: ~}}
        logging: {driver: json-file, options: {max-size: 10m, max-file: 3, x: 1.5, y: ~}}
        group_add: [100]
        expose: [80, "90"]
        extra_hosts: {db: 10.0.0.9}
        networks:
          n: {driver_opts: {mtu: 1400}}
        volumes: ["data:/data"]
        secrets: [key]
    networks:
      n:
        driver_opts: {mtu: 1500, flag: "on"}
        labels: {a: 1, b: ~, c: true}
    volumes:
      data:
        driver_opts: {size: 10}
        labels: [a=1, b]
    secrets:
      key:
        file: ./Dockerfile
        labels: {a: 1, b: ~}
    """
SERVICE_FIELDS = [("environment",), ("labels",), ("annotations",), ("sysctls",),
                  ("build", "args"), ("build", "labels"), ("deploy", "labels"),
                  ("logging", "options"), ("group_add",), ("expose",),
                  ("networks", "n", "driver_opts")]


def _get(tree: dict[str, Any], path: tuple[str, ...]) -> Any:
    for part in path:
        tree = tree[part]
    return tree


@pytest.mark.parametrize("path", SERVICE_FIELDS, ids=".".join)
def test_values_containers_read_are_the_strings_docker_compose_writes(make_stack, path) -> None:
    mine, docker = both(make_stack, STRINGS)
    assert _get(mine["services"]["s"], path) == _get(docker["services"]["s"], path)


def test_top_level_labels_driver_opts_and_extra_hosts_are_strings_as_in_docker_compose(
        make_stack) -> None:
    mine, docker = both(make_stack, STRINGS)
    for section, name, key in (("networks", "n", "labels"), ("networks", "n", "driver_opts"),
                               ("volumes", "data", "labels"), ("volumes", "data", "driver_opts"),
                               ("secrets", "key", "labels")):
        assert mine[section][name][key] == docker[section][name][key]
    hosts = [h.replace(":", "=", 1) for h in mine["services"]["s"]["extra_hosts"]]
    assert hosts == docker["services"]["s"]["extra_hosts"]


def test_merge_keys_anchors_reset_and_override_merge_as_in_docker_compose(make_stack) -> None:
    mine, docker = both(make_stack, """
        x-env: &env {A: 1, B: yes, C: 010}
        x-more: &more {C: 3, D: 4}
        x-labels: &labels
          tier: back
        services:
          s:
            image: alpine
            environment:
              <<: [*env, *more]
              B: off
            labels: *labels
            command: [echo, 12:30]
          t:
            image: alpine
            environment: *env
            ports: [25:25]
        """, """
        services:
          s:
            environment: {E: 0x10}
            labels: !override {tier: front, on: off}
            command: !reset []
          t:
            environment: !override {Z: true}
            ports: !override [587:587]
        """)
    for name in ("s", "t"):
        svc, want = mine["services"][name], docker["services"][name]
        assert svc.get("environment") == want.get("environment")
        assert svc.get("labels") == want.get("labels")
        assert svc.get("command") == want.get("command")
    assert _ports(mine["services"]["t"]["ports"]) == \
        _their_ports(docker["services"]["t"]["ports"])


@pytest.mark.parametrize("text", [
    "services:\n  s:\n    image: alpine\n    environment:\n      A: 2001-12-14\n",
    "services:\n  s:\n    image: alpine\n    command: [echo, 2001-12-15T02:59:43.1Z]\n",
    "services:\n  s:\n    image: alpine\n    labels:\n      at: 2001-12-14 21:59:43.10\n",
    "services:\n  s:\n    image: alpine\n    environment:\n      010: a\n",
    "services:\n  s:\n    image: alpine\n    environment:\n      true: a\n",
    "services:\n  s:\n    image: alpine\n    environment:\n      ~: a\n",
    "x-a: &a {A: 1}\nservices:\n  s:\n    image: alpine\n    environment:\n"
    "      <<: *a\n      <<: {B: 1}\n",
    "services:\n  s:\n    image: alpine\n    environment:\n      A: !!bool yes\n",
    "services:\n  s:\n    image: alpine\n    environment:\n      A: !!int 1.5\n",
    "services:\n  s:\n    image: alpine\n    networks: [n]\n"
    "networks:\n  n:\n    driver_opts: {flag: true}\n",
    "services:\n  s:\n    image: alpine\n    logging:\n      options: {flag: false}\n",
], ids=["date-value", "timestamp-in-command", "datetime-label", "int-key", "bool-key",
        "null-key", "two-merge-keys", "bool-tag-on-yes", "int-tag-on-float",
        "bool-driver-option", "bool-logging-option"])
def test_what_docker_compose_rejects_is_a_located_error(make_stack, text: str) -> None:
    assert not theirs(make_stack, {"a.yaml": text}).ok
    with pytest.raises(ConfigurationError) as info:
        ours(make_stack, {"a.yaml": text})
    assert all(p.loc.file == "compose/a.yaml" and p.loc.line > 1
               for p in info.value.problems)


def test_an_identical_service_from_an_include_is_accepted_as_by_docker_compose(
        make_stack) -> None:
    service = "{web: {image: w, labels: [a=1, b=true], environment: {A: 1, B: yes}}}\n"
    text = f"include: [../parts/same.yaml]\nservices: {service}"
    root = make_stack({"parts/same.yaml": f"services: {service}", "oracle/a.yaml": text})
    verdict = compose_config([root / "oracle" / "a.yaml"], root / "oracle")
    assert verdict.ok, verdict.error
    mine = ours(make_stack, {"a.yaml": text})["services"]["web"]
    want = verdict.model["services"]["web"]
    assert (mine["labels"], mine["environment"]) == (want["labels"], want["environment"])
