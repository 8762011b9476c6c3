"""Values the schema allows but podman rejects or misreads are located errors."""

from __future__ import annotations

import tracemalloc

import pytest

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError


def problems(make_stack, compose: str, env_text: str = "") -> list[str]:
    root = make_stack({"envs/dev.env": env_text, "compose/a.yaml": compose})
    try:
        build(load_environment(root, "dev", {}))
    except ConfigurationError as exc:
        return [str(p) for p in exc.problems]
    return []


def test_a_container_name_that_looks_like_an_option_is_refused(make_stack) -> None:
    out = problems(make_stack, """
        services:
          web:
            image: w:1
            container_name: "--all"
        """)
    assert out == ["compose/a.yaml:4:22: error: invalid container_name '--all' of service 'web' "
                   "(hint: use letters, digits, '_', '.' and '-', starting with a letter or "
                   "digit)"]


@pytest.mark.parametrize(("port", "message"), [
    ("70000:80", "published port 70000 is out of range"),
    ("8080:99999", "container port 99999 is out of range"),
    ("9000-8000:80", "published port 9000-8000 is out of range"),
    ("localhost:8080:80", "bind address 'localhost' is not an IP address"),
])
def test_ports_podman_would_reject_are_located(make_stack, port, message) -> None:
    out = problems(make_stack, f"services: {{web: {{image: 'w:1', ports: ['{port}']}}}}\n")
    assert len(out) == 1 and message in out[0] and out[0].startswith("compose/a.yaml:1:")


def test_a_huge_port_range_is_checked_by_its_bounds_not_expanded(make_stack) -> None:
    tracemalloc.start()
    try:
        out = problems(make_stack, "services: {web: {image: 'w:1', ports: ['1-2000000000:80']}}\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20  # expanded, its 2e9 ports would take gigabytes
    assert "published port 1-2000000000 is out of range" in out[0]


def test_a_valid_range_and_ipv6_bind_pass(make_stack) -> None:
    assert problems(make_stack, "services: {web: {image: 'w:1', ports: "
                                "['127.0.0.1:8000-8010:8000-8010', '[::1]:9000:90']}}\n") == []


def test_an_invalid_project_name_points_at_the_env_file_line(make_stack) -> None:
    out = problems(make_stack, "services: {web: {image: 'w:1'}}\n",
                   "# project\nCOMPOSE_PROJECT_NAME=My Stack\n")
    assert out[0].startswith("envs/dev.env:2:1: error: invalid project name 'My Stack'")
