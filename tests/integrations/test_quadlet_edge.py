"""``deploy.quadlet`` and the edge (issue 26 item 5): the replicas of a template unit
cannot each publish the host port, so the edge owns it, as under ``inv up``: the host's
HAProxy as ``<project>-edge.service`` with its config beside the units, and each instance
publishing the routed ports on its own loopback port.  Checked by HAProxy (``-c``), and by
Debian trixie's quadlet and systemd-analyze when they are here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from phoenix_compose.integrations.quadlet import Target, units
from phoenix_compose.integrations.quadletcheck import check
from phoenix_compose.integrations.quadletkeys import entries
from phoenix_compose.runtime import commands
from phoenix_compose.runtime.argv_edge import haproxy_check
from phoenix_compose.runtime.lifecycle import ComposeManager

EDGED = """
services:
  api:
    image: api:1
    ports: ["8080:80", "127.0.0.1:8443:443", "53:53/udp"]
    deploy: {replicas: 3}
  web:
    image: web:1
    ports: ["9000:90"]
    depends_on: [api]
"""


def generated(make_stack, text: str = EDGED, version: str = "5.4"):
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=rep\n", "compose/a.yaml": text})
    return units(ComposeManager(root, "t").stack(), "t", Target(Path("/srv"), "phoenix",
                                                                 version))


def keys(text: str, group: str, key: str) -> list[str]:
    return [v for _, g, k, v in entries(text) if g == group and k == key]


def test_the_edge_owns_the_ports_of_a_templated_service(make_stack) -> None:
    files, warnings = generated(make_stack)
    template = files["rep-api@.container"]
    assert keys(template, "Container", "PublishPort") == ["127.0.0.1:3000%i:80",
                                                          "127.0.0.1:3001%i:443"]
    assert keys(files["rep-web.container"], "Container", "PublishPort") == ["9000:90"]
    assert not any("8080:80 not published" in w or "8443:443 not published" in w
                   for w in warnings)
    assert any("api: ports 53:53/udp not published" in w for w in warnings)  # not routed
    config = files["rep-edge.haproxy.cfg"]
    for line in ("bind ipv4@0.0.0.0:8080", "bind ipv4@127.0.0.1:8443", "stats socket "
                 "'/run/rep-edge/admin.sock'", "server rep_api_1 ipv4@127.0.0.1:30001 ",
                 "server rep_api_3 ipv4@127.0.0.1:30003 ",
                 "server rep_api_2 ipv4@127.0.0.1:30012 "):
        assert line in config
    assert "disabled" not in config  # no watcher here: every instance serves
    unit = files["rep-edge.service"]
    cfg = "%E/containers/systemd/rep-edge.haproxy.cfg"
    assert keys(unit, "Service", "ExecStart") == [f"/usr/sbin/haproxy -Ws -f {cfg}"]
    assert keys(unit, "Service", "ExecStartPre") == [f"/usr/sbin/haproxy -c -q -f {cfg}"]
    assert keys(unit, "Service", "Type") == ["notify"]
    assert keys(unit, "Service", "RuntimeDirectory") == ["rep-edge"]
    assert [u for u in keys(unit, "Unit", "Wants") if u.startswith("rep-")] == [
        "rep-api@1.service", "rep-api@2.service", "rep-api@3.service"]
    assert keys(unit, "Install", "WantedBy") == ["default.target"]


def test_no_edge_without_a_template_or_a_routed_port(make_stack) -> None:
    older, warnings = generated(make_stack, version="4.9")  # no templates: one container
    assert "rep-edge.service" not in older
    assert keys(older["rep-api.container"], "Container", "PublishPort")[:1] == ["8080:80"]
    plain, _ = generated(make_stack, EDGED.replace('ports: ["8080:80", "127.0.0.1:8443:443",'
                                                   ' "53:53/udp"]', 'ports: ["53:53/udp"]'))
    assert not [f for f in plain if "edge" in f]


def test_more_replicas_than_a_stem_holds_are_not_routed_and_said(make_stack) -> None:
    files, warnings = generated(make_stack, EDGED.replace("replicas: 3", "replicas: 10"))
    assert "rep-edge.service" not in files
    assert any("api: ports 8080:80 not routed by the edge unit: 10 replicas" in w
               for w in warnings)


@pytest.mark.haproxy
def test_haproxy_accepts_the_generated_config(make_stack, tmp_path: Path) -> None:
    files, _ = generated(make_stack)
    path = tmp_path / "rep-edge.haproxy.cfg"
    path.write_text(files["rep-edge.haproxy.cfg"])
    result = subprocess.run(list(haproxy_check(str(path))), capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.quadlet
def test_quadlet_and_systemd_analyze_accept_the_edge_unit(make_stack) -> None:
    files, _ = generated(make_stack)
    assert check(files, "5.4", commands.run) == []


def test_two_host_ports_of_one_container_port_make_one_backend_of_each_instance_once(
        make_stack) -> None:
    """``8080:80`` and ``8081:80``: two frontends, one backend ``api.80`` (as under ``inv
    up``); each instance is one server in it (a server name twice in a backend is
    HAProxy's error) and publishes port 80 once."""
    files, _warnings = generated(make_stack, EDGED.replace('"8080:80", ', '"8080:80", '
                                                           '"8081:80", '))
    config = files["rep-edge.haproxy.cfg"]
    assert "bind ipv4@0.0.0.0:8080" in config and "bind ipv4@0.0.0.0:8081" in config
    servers, backend = [], ""
    for line in config.splitlines():
        words = line.split()
        backend = words[1] if words[:1] == ["backend"] else backend
        servers += [(backend, words[1])] if words[:1] == ["server"] else []
    assert [s for s in servers if s[0] == "api.80"] == [
        ("api.80", f"rep_api_{i}") for i in (1, 2, 3)]
    ports = keys(files["rep-api@.container"], "Container", "PublishPort")
    assert len([p for p in ports if p.endswith(":80")]) == 1


def test_a_service_that_serves_tls_itself_is_passed_through_as_tcp_by_the_edge_unit(
        make_stack) -> None:
    """``x-phoenix-edge-mode: tcp`` (phoenix-core in prod): the edge unit's backend is TCP,
    as under ``inv up``; an HTTP backend speaks plain HTTP to the TLS port."""
    files, _warnings = generated(make_stack, EDGED.replace(
        "    deploy: {replicas: 3}\n", "    deploy: {replicas: 3}\n    x-phoenix-edge-mode: tcp\n"))
    config = files["rep-edge.haproxy.cfg"]
    assert "backend api.443" in config and "backend api.80" in config
    assert "mode tcp" in config and "mode http" not in config  # frontends follow
