from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from phoenix_compose.config.merge import merge_all, port_key, resolve_paths
from phoenix_compose.config.yamlsrc import flatten, load, plain_locator
from phoenix_compose.errors import Loc


def merged(*docs: str) -> dict[str, Any]:
    trees = [load(text, plain_locator(f"f{i}.yaml")) for i, text in enumerate(docs)]
    data, _ = flatten(merge_all([t for t in trees if t is not None]))
    return data


def svc(*docs: str) -> dict[str, Any]:
    return merged(*docs)["services"]["s"]


def test_mappings_merge_recursively_and_scalars_are_replaced() -> None:
    out = svc("services: {s: {image: a, healthcheck: {interval: 1s, retries: 3}}}",
              "services: {s: {image: b, healthcheck: {retries: 5}}}")
    assert out == {"image": "b", "healthcheck": {"interval": "1s", "retries": 5}}


@pytest.mark.parametrize(("key", "bare"), [("environment", None), ("labels", ""),
                                           ("sysctls", "")])
def test_keyed_sections_merge_per_key_in_list_or_map_form(key: str, bare: str | None) -> None:
    out = svc(f"services: {{s: {{{key}: [A=1, B=2, C]}}}}",
              f"services: {{s: {{{key}: {{B: 3, D: 4}}}}}}")
    # values are strings, as compose-go decodes them; a bare key is a pass-through
    # variable in environment and an empty label or sysctl
    assert out[key] == {"A": "1", "B": "3", "C": bare, "D": "4"}


def test_extra_hosts_accept_colon_and_equals_forms() -> None:
    out = svc("services: {s: {extra_hosts: ['db:10.0.0.1', 'cache=10.0.0.2']}}",
              "services: {s: {extra_hosts: {db: 10.0.0.9}}}")
    # compose-go's mergeExtraHosts: both lists, duplicates dropped, so a host may keep
    # several addresses (podman's --add-host HOST:IP form).
    assert out["extra_hosts"] == ["db:10.0.0.1", "cache:10.0.0.2", "db:10.0.0.9"]


def test_build_args_merge_per_key() -> None:
    out = svc("services: {s: {build: {context: ., args: [A=1]}}}",
              "services: {s: {build: {args: {B: 2}}}}")
    assert out["build"]["args"] == {"A": "1", "B": "2"}


@pytest.mark.parametrize(("key", "first", "second", "expected"), [
    ("command", "[a, b]", "[c]", ["c"]),
    ("entrypoint", "[sh, -c]", "[bash, -x]", ["bash", "-x"]),
    ("command", "[a, b]", "run it", "run it"),
])
def test_command_and_entrypoint_are_replaced(key, first, second, expected) -> None:
    out = svc(f"services: {{s: {{{key}: {first}}}}}", f"services: {{s: {{{key}: {second}}}}}")
    assert out[key] == expected


def test_healthcheck_test_is_replaced_not_appended() -> None:
    out = svc("services: {s: {healthcheck: {test: [CMD, a]}}}",
              "services: {s: {healthcheck: {test: [CMD-SHELL, b]}}}")
    assert out["healthcheck"]["test"] == ["CMD-SHELL", "b"]


def test_ports_append_and_deduplicate() -> None:
    out = svc("services: {s: {ports: ['8080:80', '127.0.0.1:9000:9000']}}",
              "services: {s: {ports: ['8080:80', {target: 80, published: 8081}, '53:53/udp']}}")
    assert out["ports"] == ["8080:80", "127.0.0.1:9000:9000",
                            {"target": 80, "published": 8081}, "53:53/udp"]


def test_port_key_reads_short_and_long_syntax() -> None:
    assert port_key("127.0.0.1:8080:80/udp") == ("127.0.0.1", "80", "8080", "udp")
    assert port_key("80") == ("", "80", "", "tcp")
    assert port_key("[::1]:8080:80") == ("::1", "80", "8080", "tcp")
    assert port_key({"target": 80, "published": "8080"}) == ("", "80", "8080", "tcp")


def test_volumes_deduplicate_by_container_path_later_wins() -> None:
    out = svc("services: {s: {volumes: ['data:/data', '/etc/a:/etc/a:ro']}}",
              "services: {s: {volumes: ['other:/data', {type: tmpfs, target: /tmp}]}}")
    assert out["volumes"] == ["other:/data", "/etc/a:/etc/a:ro", {"type": "tmpfs",
                                                                  "target": "/tmp"}]


def test_secrets_deduplicate_by_target_path() -> None:
    out = svc("services: {s: {secrets: [a, b]}}",
              "services: {s: {secrets: [{source: c, target: /run/secrets/a}, d]}}")
    assert out["secrets"] == [{"source": "c", "target": "/run/secrets/a"}, "b", "d"]


def test_other_sequences_append_and_union_sequences_deduplicate() -> None:
    out = svc("services: {s: {cap_add: [NET_ADMIN], dns: [1.1.1.1], networks: [a]}}",
              "services: {s: {cap_add: [NET_ADMIN, SYS_TIME], dns: [1.1.1.1], networks: [b]}}")
    assert out["cap_add"] == ["NET_ADMIN", "SYS_TIME"]
    assert out["dns"] == ["1.1.1.1"]
    assert out["networks"] == {"a": None, "b": None}  # one spelling: the mapping


def test_depends_on_is_normalised_to_the_long_form_and_merged() -> None:
    out = svc("services: {s: {depends_on: [db, cache]}}",
              "services: {s: {depends_on: {db: {condition: service_healthy}}}}")
    assert out["depends_on"] == {
        "db": {"condition": "service_healthy", "required": True},
        "cache": {"condition": "service_started", "required": True},
    }


def test_reset_removes_a_value_and_override_replaces_it() -> None:
    out = svc("services: {s: {ports: ['80:80'], environment: {A: 1, B: 2}, labels: [x=1]}}",
              "services: {s: {ports: !reset [], environment: !override {C: 3}, "
              "labels: !reset null}}")
    assert "ports" not in out and "labels" not in out
    assert out["environment"] == {"C": "3"}


def test_reset_of_a_whole_service() -> None:
    out = merged("services: {a: {image: x}, b: {image: y}}", "services: {b: !reset null}")
    assert list(out["services"]) == ["a"]


def test_the_winning_value_keeps_its_own_location() -> None:
    trees = [load("services:\n  s:\n    image: a\n    user: u\n", plain_locator("base.yaml")),
             load("services:\n  s:\n    image: b\n", plain_locator("over.yaml"))]
    _, where = flatten(merge_all(trees))
    assert where[("services", "s", "image")].loc == Loc("over.yaml", 3, 12)
    assert where[("services", "s", "user")].loc == Loc("base.yaml", 4, 11)


def test_relative_host_paths_become_absolute_against_the_project_dir(tmp_path: Path) -> None:
    tree = load("""
services:
  s:
    build: ../app
    env_file: [./s.env]
    volumes: ['./data:/data:ro', 'named:/n', {type: bind, source: ./cfg, target: /cfg}]
secrets:
  pw: {file: ./pw.txt}
""", plain_locator("f"))
    doc = merge_all([tree])
    resolve_paths(doc, tmp_path / "compose")
    data, _ = flatten(doc)
    s = data["services"]["s"]
    assert s["build"] == {"context": str(tmp_path / "app")}
    assert s["env_file"] == [str(tmp_path / "compose" / "s.env")]
    assert s["volumes"][0] == f"{tmp_path / 'compose' / 'data'}:/data:ro"
    assert s["volumes"][1] == "named:/n"
    assert s["volumes"][2]["source"] == str(tmp_path / "compose" / "cfg")
    assert data["secrets"]["pw"]["file"] == str(tmp_path / "compose" / "pw.txt")


def test_remote_build_contexts_are_left_alone(tmp_path: Path) -> None:
    doc = merge_all([load("services: {s: {build: {context: 'https://x/y.git'}}}",
                          plain_locator("f"))])
    resolve_paths(doc, tmp_path)
    assert flatten(doc)[0]["services"]["s"]["build"]["context"] == "https://x/y.git"
