"""The stack -> EdgeConfig function (issue 26, item 2), pure: from a final file written by
the config pipeline (replicas and start-first services' ports moved to the edge)."""

from __future__ import annotations

from pathlib import Path

import pytest

from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.edge.haproxycfg import render
from phoenix_compose.edge.model import State
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.runtime.edgeplan import Route, edge_config, parse_port, routes, server
from phoenix_compose.runtime.stack import load_stack

SOCKET = "/tmp/phoenix-edge-test/admin.sock"


def final(tmp_path: Path, services: dict) -> Path:
    import yaml

    model = {"name": "p", "services": services}
    for_edge(model)  # as the config pipeline writes the final file
    path = tmp_path / "compose.yaml"
    path.write_text(yaml.safe_dump(model))
    return path


def test_replicated_and_start_first_services_are_routed_with_the_written_address(
        tmp_path: Path) -> None:
    stack = load_stack(final(tmp_path, {
        "web": {"image": "i:1", "deploy": {"replicas": 2},
                "ports": ["127.0.0.1:8080:80", "8443:443", "9000"]},
        "api": {"image": "i:1", "ports": ["8081:80"],
                "deploy": {"update_config": {"order": "start-first"}}},
        "db": {"image": "i:1", "ports": ["5432:5432"]}}))
    assert routes(stack) == [Route("api", 80, 8081), Route("web", 80, 8080, "127.0.0.1"),
                             Route("web", 443, 8443)]
    config = edge_config(stack, SOCKET)
    assert [(f.name, f.address, f.port, f.backend) for f in config.frontends] == [
        ("in.api.8081", "0.0.0.0", 8081, "api.80"), ("in.web.8080", "127.0.0.1", 8080, "web.80"),
        ("in.web.8443", "0.0.0.0", 8443, "web.443")]
    assert [b.name for b in config.backends] == ["api.80", "web.80", "web.443"]
    assert stack.services["db"].ports == ("5432:5432",)  # not edged: untouched


def test_servers_are_given_and_rendered(tmp_path: Path) -> None:
    stack = load_stack(final(tmp_path, {"web": {"image": "i:1", "scale": 2,
                                                "ports": ["8080:80"]}}))
    one = server("p_web_1", "127.0.0.1", 40001, ready=True)
    config = edge_config(stack, SOCKET, {"web.80": (one, server("p_web_2", "", 40002))})
    text = render(config)
    assert "server p_web_1 ipv4@127.0.0.1:40001 weight 100\n" in text
    assert "server p_web_2 ipv4@127.0.0.1:40002 weight 100 disabled\n" in text  # not healthy
    assert config.backends[0].servers[1].state is State.MAINT


def test_podman_port_answers() -> None:
    assert parse_port("127.0.0.1:43567\n") == ("127.0.0.1", 43567)
    assert parse_port("0.0.0.0:1\n127.0.0.1:2\n") == ("127.0.0.1", 2)
    assert parse_port("[::1]:5\n") == ("::1", 5)
    assert parse_port("") is None


def test_a_hostile_service_name_is_refused_by_the_model(tmp_path: Path) -> None:
    stack = load_stack(final(tmp_path, {"w b": {"image": "i:1", "scale": 2,
                                                "ports": ["8080:80"]}}))
    with pytest.raises(ConfigurationError):
        edge_config(stack, SOCKET)


def test_a_service_that_serves_tls_itself_is_proxied_as_tcp(tmp_path: Path) -> None:
    stack = load_stack(final(tmp_path, {
        "core": {"image": "i:1", "deploy": {"replicas": 2}, "ports": ["8443:8080"],
                 "x-phoenix-edge-mode": "tcp"},
        "web": {"image": "i:1", "deploy": {"replicas": 2}, "ports": ["8080:80"]}}))
    config = edge_config(stack, SOCKET)
    assert {b.name: b.mode.value for b in config.backends} == {"core.8080": "tcp",
                                                               "web.80": "http"}
    text = render(config)
    core = text[text.index("\nbackend core.8080"):text.index("\nbackend web.80")]
    assert "mode tcp" in core and "retry-on" not in core  # no HTTP in the TLS stream
    assert "frontend in.core.8443\n    mode tcp" in text


def test_an_unknown_edge_mode_is_a_located_error(make_stack) -> None:
    from phoenix_compose.config.environment import load_environment
    from phoenix_compose.config.pipeline import build

    root = make_stack({"envs/dev.env": "", "compose/a.yaml":
                       "services:\n  web:\n    image: 'w:1'\n    x-phoenix-edge-mode: tls\n"})
    with pytest.raises(ConfigurationError) as refused:
        build(load_environment(root, "dev", {}))
    assert [str(p) for p in refused.value.problems] == [
        "compose/a.yaml:4:26: error: x-phoenix-edge-mode of service 'web' must be http or "
        "tcp, not 'tls' (hint: tcp for a service that serves TLS itself)"]


def test_the_same_host_port_on_ipv4_and_ipv6_is_two_frontends_of_distinct_names(
        tmp_path: Path) -> None:
    """``127.0.0.1:8080:80`` and ``[::1]:8080:80`` (docker compose binds both): the edge
    starts (it refused 'in.web.8080' twice), and validation checks the names it uses."""
    from phoenix_compose.config.edgenames import edge_names

    svc = {"image": "i:1", "deploy": {"replicas": 2},
           "ports": ["127.0.0.1:8080:80", "[::1]:8080:80"]}
    stack = load_stack(final(tmp_path, {"web": dict(svc)}), "p")
    config = edge_config(stack, str(tmp_path / "a.sock"))
    assert [(f.name, f.address) for f in config.frontends] == [
        ("in.web.8080", "127.0.0.1"), ("in.web.8080.2", "::1")]
    assert [b.name for b in config.backends] == ["web.80"]
    text = render(config)
    assert "frontend in.web.8080\n" in text and "frontend in.web.8080.2\n" in text
    assert [n for k, n in edge_names("p", "web", svc) if k == "frontend"] == [
        f.name for f in config.frontends]


def test_a_reload_carries_the_servers_as_they_are_a_draining_one_as_maint() -> None:
    from types import SimpleNamespace

    from phoenix_compose.edge.api import DRAIN_BITS, MAINT_BITS, ServerState
    from phoenix_compose.edge.model import State
    from phoenix_compose.runtime.edgeup import carried

    rows = [ServerState("web.80", "p_web_1", "127.0.0.1", 40001, 2, 0, 100),
            ServerState("web.80", "p_web_2", "127.0.0.1", 40002, 2, DRAIN_BITS, 100),
            ServerState("web.80", "p_web_3", "127.0.0.1", 40003, 2, MAINT_BITS, 7),
            ServerState("gone.80", "p_gone_1", "127.0.0.1", 40004, 2, 0, 100)]
    api = SimpleNamespace(servers_state=lambda: rows)
    found = carried(api, {"web.80"})  # type: ignore[arg-type]
    assert list(found) == ["web.80"]  # a backend no longer routed is not carried
    assert [(s.name, s.port, s.weight, s.state) for s in found["web.80"]] == [
        ("p_web_1", 40001, 100, State.READY), ("p_web_2", 40002, 100, State.MAINT),
        ("p_web_3", 40003, 7, State.MAINT)]
