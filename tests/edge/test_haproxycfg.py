"""The edge's config text from its typed model: what each backend, frontend and server
line says, and every value HAProxy's format could misread refused with a clear error."""

from __future__ import annotations

import pytest

from phoenix_compose.edge.haproxycfg import render, server_line
from phoenix_compose.edge.model import Backend, EdgeConfig, Frontend, Mode, Server, State, Timeouts
from phoenix_compose.errors import ConfigurationError

SOCKET = "/srv/stack/.phoenix/prod/edge/admin.sock"


def _config(**changes: object) -> EdgeConfig:
    values: dict[str, object] = {
        "socket": SOCKET,
        "frontends": (Frontend("web_80", 8080, "web"),),
        "backends": (Backend("web", (Server("web_1", "10.88.0.5", 80),
                                     Server("web_2", "10.88.0.6", 80, 50, State.MAINT))),)}
    values.update(changes)
    return EdgeConfig(**values)  # type: ignore[arg-type]


def _section(text: str, header: str) -> list[str]:
    lines = text.split("\n")
    start = lines.index(header)
    end = lines.index("", start)
    return [line.strip() for line in lines[start + 1:end]]


def test_an_http_backend_retries_idempotent_requests_elsewhere_and_has_no_checks() -> None:
    text = render(_config())
    assert _section(text, "backend web") == [
        "mode http", "balance roundrobin", "retries 3", "option redispatch 1",
        "retry-on conn-failure empty-response response-timeout",
        "http-request disable-l7-retry unless METH_GET || METH_HEAD || METH_OPTIONS",
        "http-reuse safe",
        "server web_1 ipv4@10.88.0.5:80 weight 100",
        "server web_2 ipv4@10.88.0.6:80 weight 50 disabled"]
    assert " check" not in text  # health is ours: servers change state through the API


def test_the_frontend_binds_loopback_by_default_or_the_published_address() -> None:
    text = render(_config(frontends=(Frontend("web_80", 8080, "web"),
                                     Frontend("web_443", 8443, "web", "::1"))))
    assert _section(text, "frontend web_80") == ["mode http", "option idle-close-on-response",
                                                 "bind ipv4@127.0.0.1:8080",
                                                 "default_backend web"]
    assert "bind ipv6@::1:8443" in _section(text, "frontend web_443")


def test_the_stats_socket_and_timeouts_are_in_the_global_and_defaults_sections() -> None:
    text = render(_config(timeouts=Timeouts(connect=500, server=60000)))
    assert f"stats socket '{SOCKET}' mode 600 level admin" in _section(text, "global")
    assert {"timeout connect 500ms", "timeout server 60000ms",
            "timeout client 30000ms"} <= set(_section(text, "defaults"))


def test_a_tcp_backend_has_connection_retries_and_no_http_rules() -> None:
    config = _config(backends=(Backend("db", (Server("db_1", "127.0.0.1", 5432),),
                                       mode=Mode.TCP),),
                     frontends=(Frontend("db_5432", 15432, "db"),))
    text = render(config)
    assert _section(text, "backend db") == [
        "mode tcp", "balance roundrobin", "retries 3", "option redispatch 1",
        "server db_1 ipv4@127.0.0.1:5432 weight 100"]
    assert "mode tcp" in _section(text, "frontend db_5432")


def test_a_server_line_is_what_add_server_takes_too() -> None:
    assert server_line(Server("web_3", "::1", 8081, 7)) == "server web_3 ipv6@::1:8081 weight 7"


HOSTILE_NAMES = ["", "web 1", "web;del server web/web_2", "web\nbackend x", "web#x",
                 "web/1", "web:1", "-web", "'web'", "we\"b", "web$HOME", "a" * 64, "wéb",
                 "web\x00"]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_is_refused_wherever_it_is_given(name: str) -> None:
    for make in (lambda: Server(name, "127.0.0.1", 80), lambda: Backend(name),
                 lambda: Frontend(name, 80, "web"), lambda: Frontend("f", 80, name)):
        with pytest.raises(ConfigurationError, match="is refused: letters, digits"):
            make()


@pytest.mark.parametrize(("make", "message"), [
    (lambda: Server("s", "web.internal", 80), "an IPv4 or IPv6 address"),
    (lambda: Server("s", "127.0.0.1 backup", 80), "an IPv4 or IPv6 address"),
    (lambda: Server("s", "127.0.0.1", 0), "a port from 1 to 65535"),
    (lambda: Server("s", "127.0.0.1", 70000), "a port from 1 to 65535"),
    (lambda: Server("s", "127.0.0.1", True), "a port from 1 to 65535"),
    (lambda: Server("s", "127.0.0.1", 80, 257), "an integer from 0 to 256"),
    (lambda: Server("s", "127.0.0.1", 80, -1), "an integer from 0 to 256"),
    (lambda: Server("s", "127.0.0.1", 80, state=State.DRAIN), "starts ready or maint"),
    (lambda: Frontend("f", 80, "web", "0.0.0.0 ssl"), "an IPv4 or IPv6 address"),
    (lambda: Timeouts(connect=0), "milliseconds"),
    (lambda: Backend("b", retries=11), "from 0 to 10"),
    (lambda: _config(socket="relative/admin.sock"), "an absolute path"),
    (lambda: _config(socket="/srv/it's/admin.sock"), "without quotes"),
    (lambda: _config(socket="/srv/x\n/admin.sock"), "control characters"),
    (lambda: _config(socket="/" + "d" * 97), "at most 97 bytes"),
])
def test_a_value_haproxy_could_misread_is_refused(make, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        make()


def test_inconsistent_names_are_refused() -> None:
    web = Backend("web")
    with pytest.raises(ConfigurationError, match="a backend of the edge"):
        _config(frontends=(Frontend("f", 80, "nope"),))
    with pytest.raises(ConfigurationError, match="each name once"):
        _config(backends=(web, web), frontends=())
    with pytest.raises(ConfigurationError, match="none a backend's name"):
        _config(backends=(web,), frontends=(Frontend("web", 80, "web"),))
    with pytest.raises(ConfigurationError, match="each address and port once"):
        _config(backends=(web,), frontends=(Frontend("a", 80, "web"), Frontend("b", 80, "web")))
    with pytest.raises(ConfigurationError, match="each server name once"):
        Backend("web", (Server("s", "127.0.0.1", 1), Server("s", "127.0.0.1", 2)))


def test_an_ipv6_address_is_written_canonically() -> None:
    assert Server("s", "0:0::1", 80).address == "::1"


@pytest.mark.parametrize("address", ["fe80::1%x;show servers state",
                                     "fe80::1%a\n    stats socket /tmp/x level admin",
                                     "fe80::1%eth0"])
def test_an_ipv6_scope_is_refused_as_it_could_end_a_line_or_an_api_command(address: str
                                                                           ) -> None:
    """Python's ipaddress takes any text after '%' (a space, ';', a newline): such an
    address would end the config line or the runtime API's command."""
    with pytest.raises(ConfigurationError, match="no scope"):
        Server("w1", address, 8080)
    with pytest.raises(ConfigurationError, match="no scope"):
        Frontend("f", 80, "web", address=address)
