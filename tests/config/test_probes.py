"""Which healthcheck tests phoenix runs itself (native probes), and which stay exec checks
unchanged; x-phoenix-probe is validated with located errors."""

from __future__ import annotations

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.probes import NativeProbe, native_probe, recognise
from phoenix_compose.errors import ConfigurationError

HTTP = "http://127.0.0.1:8080/health"


@pytest.mark.parametrize(("test", "expected"), [
    (f"wget -q -O- {HTTP}", NativeProbe("http", "127.0.0.1", 8080, "/health")),
    (["CMD-SHELL", f"wget -qO- {HTTP} || exit 1"], NativeProbe("http", "127.0.0.1", 8080,
                                                               "/health")),
    (["CMD", "wget", "--spider", "-q", "http://localhost/"],
     NativeProbe("http", "localhost", 80, "/")),
    (["CMD-SHELL", "wget -q -T 3 -O /dev/null http://localhost:3000"],
     NativeProbe("http", "localhost", 3000, "/", 3.0)),
    (["CMD", "wget", "--timeout=2", "-q", "-O", "-", HTTP],
     NativeProbe("http", "127.0.0.1", 8080, "/health", 2.0)),
    (["CMD-SHELL", f"curl -fsS {HTTP}"], NativeProbe("http", "127.0.0.1", 8080, "/health")),
    (["CMD", "curl", "-f", "-o", "/dev/null", "-m", "4", "http://[::1]:81/x?y=1"],
     NativeProbe("http", "::1", 81, "/x?y=1", 4.0)),
    (["CMD", "/usr/bin/curl", "--fail", "--silent", HTTP],
     NativeProbe("http", "127.0.0.1", 8080, "/health")),
    (["CMD-SHELL", "nc -z 127.0.0.1 5432"], NativeProbe("tcp", "127.0.0.1", 5432, "")),
    (["CMD", "nc", "-zv", "-w", "2", "localhost", "6379"],
     NativeProbe("tcp", "localhost", 6379, "", 2.0)),
])
def test_a_plain_local_get_or_connect_is_recognised(test, expected) -> None:
    assert recognise(test) == expected


@pytest.mark.parametrize("test", [
    ["CMD-SHELL", f"curl -s {HTTP}"],  # without -f any HTTP answer passes
    ["CMD-SHELL", f"curl -fsSL {HTTP}"],  # follows redirects: not one GET
    ["CMD-SHELL", f"curl -f -X POST {HTTP}"],  # another method
    ["CMD-SHELL", f"curl -fI {HTTP}"],  # HEAD
    ["CMD-SHELL", f"wget -q -O- {HTTP} | grep ok"],  # the body matters
    ["CMD-SHELL", "wget -q -O- http://127.0.0.1:${PORT}/"],  # a variable of the container
    ["CMD-SHELL", f"wget -q -O- {HTTP} && echo up"],
    ["CMD-SHELL", "wget -q -O- http://db:8080/"],  # another host
    ["CMD-SHELL", "wget -q -O- https://127.0.0.1/"],  # TLS
    ["CMD-SHELL", f"wget -q -t 3 -O- {HTTP}"],  # retries inside one check
    ["CMD-SHELL", f"wget -q -T soon -O- {HTTP}"],  # the command itself would fail
    ["CMD-SHELL", f"wget -q -O- {HTTP} {HTTP}"],  # two GETs
    ["CMD-SHELL", f"wget --header X:1 {HTTP}"],  # an option we do not model
    ["CMD-SHELL", "nc 127.0.0.1 80"],  # not -z: it sends stdin
    ["CMD-SHELL", "nc -z db 5432"],
    ["CMD-SHELL", "nc -z 127.0.0.1 http"],
    ["CMD", "pg_isready", "-U", "postgres"],
    ["CMD-SHELL", "exit 0"],
    ["NONE"], [], "", None, 5,
])
def test_anything_else_stays_an_exec_check(test) -> None:
    assert recognise(test) is None


def test_x_phoenix_probe_exec_keeps_a_recognised_test_exec() -> None:
    check = {"test": ["CMD", "nc", "-z", "127.0.0.1", "80"]}
    assert native_probe({"healthcheck": check}) is not None
    assert native_probe({"healthcheck": check, "x-phoenix-probe": "native"}) is not None
    assert native_probe({"healthcheck": check, "x-phoenix-probe": "exec"}) is None
    assert native_probe({"healthcheck": {**check, "disable": True}}) is None


def problems(make_stack, probe: str, test: str) -> list[str]:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml":
                       f"services:\n  web:\n    image: 'w:1'\n    x-phoenix-probe: {probe}\n"
                       f"    healthcheck: {{test: {test}}}\n"})
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_x_phoenix_probe_native_or_exec_passes(make_stack) -> None:
    assert problems(make_stack, "native", "[CMD, nc, -z, 127.0.0.1, '80']") == []
    assert problems(make_stack, "exec", "[CMD, pg_isready]") == []


@pytest.mark.parametrize(("probe", "test", "expected"), [
    ("kubelet", "[CMD, nc, -z, 127.0.0.1, '80']",
     "compose/a.yaml:4:22: error: x-phoenix-probe of service 'web' must be native or exec, "
     "not 'kubelet'"),
    ("native", "[CMD, pg_isready]",
     "compose/a.yaml:4:22: error: x-phoenix-probe: native, but the healthcheck of service "
     "'web' is not one phoenix can run itself (hint: native: wget -q -O- / wget --spider / "
     "curl -f of http://127.0.0.1[:PORT]/PATH, or nc -z 127.0.0.1 PORT; else use exec)"),
])
def test_a_bad_x_phoenix_probe_is_a_located_error(make_stack, probe, test, expected) -> None:
    assert problems(make_stack, probe, test) == [expected]
