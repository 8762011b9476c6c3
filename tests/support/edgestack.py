"""A two-replica busybox httpd service behind the edge, for the real podman and HAProxy
tests of issue 26 (``tests/runtime/test_edge_up.py``, ``test_edge_rollout.py``,
``tests/watch/test_edge_watch.py``):
each replica answers its version, and is healthy once httpd answers.  The ``edged``
fixture (tests/conftest.py) writes it and takes it down after the test."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from phoenix_compose.runtime.lifecycle import ComposeManager

from support import free_port

WEB = """
services:
  web:
    image: {image}
    command:
      - sh
      - -c
      - mkdir -p /www && echo {version} > /www/index.html && {serve}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8000/"]
      interval: 1s
      timeout: 2s
      retries: 3
    deploy: {deploy}
    ports: ["127.0.0.1:{port}:8000"]
{extra}"""

HTTPD = "exec httpd -f -p 8000 -h /www"
START_FIRST = "{replicas: 2, update_config: {order: start-first}}"


def write(root: Path, image: str, port: int, version: str, serve: str = HTTPD,
          deploy: str = START_FIRST, extra: str = "") -> None:
    """The stack's compose file: ``web`` at ``version``; ``extra``: more of the service's
    keys (indented as its own)."""
    (root / "compose").mkdir(parents=True, exist_ok=True)
    (root / "compose/app.yaml").write_text(WEB.format(
        image=image, port=port, version=version, serve=serve, deploy=deploy, extra=extra))


def edged_stack(make_stack: Callable[[dict[str, str]], Path], project: str,
                image: str) -> Iterator[tuple[Path, int]]:
    """The stack's root and the edge's port; ``down`` afterwards (the edge too, even after
    a failed test)."""
    root = make_stack({"envs/t.env": f"COMPOSE_PROJECT_NAME={project}\n"})
    port = free_port()
    write(root, image, port, "v1")
    yield root, port
    ComposeManager(root, "t").stop_services()


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
