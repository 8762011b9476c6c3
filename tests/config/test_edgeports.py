"""The final file of a service behind the edge (issue 26): ``scale`` for podman-compose,
and its published TCP ports moved to the edge (``x-phoenix-edge-ports``)."""

from __future__ import annotations

from phoenix_compose.config.edgeports import EDGE_PORTS, edged, for_edge, replicas_of, user_ports


def test_replicas_become_scale_and_the_edge_takes_the_tcp_ports() -> None:
    model = {"services": {"web": {"deploy": {"replicas": 2},
                                  "ports": ["10.0.0.5:8080:80", {"target": 53, "published": 53,
                                                                 "protocol": "udp"}]}}}
    for_edge(model)
    web = model["services"]["web"]
    assert web["scale"] == 2
    assert web[EDGE_PORTS] == ["10.0.0.5:8080:80"]  # as written: the address is the user's
    assert web["ports"] == ["127.0.0.1::80", {"target": 53, "published": 53,
                                             "protocol": "udp"}]


def test_start_first_alone_is_edged_and_a_plain_service_is_untouched() -> None:
    first = {"deploy": {"update_config": {"order": "start-first"}}, "ports": ["8080:80"]}
    plain = {"ports": ["8081:80"], "deploy": {"replicas": 1}}
    model = {"services": {"a": first, "b": dict(plain)}}
    for_edge(model)
    assert model["services"]["a"]["ports"] == ["127.0.0.1::80"] and "scale" not in first
    assert model["services"]["b"] == plain and not edged(plain)
    assert edged(first) and replicas_of(first) == 1


def test_the_rewrite_is_idempotent_and_scale_wins() -> None:
    svc = {"scale": 3, "ports": ["8080:80"]}
    model = {"services": {"web": svc}}
    for_edge(model)
    for_edge(model)
    assert svc["ports"] == ["127.0.0.1::80"] and svc[EDGE_PORTS] == ["8080:80"]
    assert replicas_of(svc) == 3 and replicas_of({"deploy": {"replicas": True}}) == 1


def test_a_port_without_a_host_port_or_with_a_range_stays_as_written() -> None:
    ports = ["80", 81, "9000-9001:90-91", "8080:80", {"target": 443}]
    svc = {"deploy": {"replicas": 2}, "ports": list(ports)}
    for_edge({"services": {"web": svc}})
    assert svc[EDGE_PORTS] == ["8080:80"]  # the only one the edge can own
    assert svc["ports"] == ["80", 81, "9000-9001:90-91", "127.0.0.1::80", {"target": 443}]
    assert user_ports(svc) == ports
