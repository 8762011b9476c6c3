"""The two-replica busybox httpd service behind the edge, shared by the real podman and
HAProxy tests of ``up``, ``rollback``, ``restart`` and the rollout's failure actions
(issue 26); the steady client load is :class:`support.edgeload.Load`."""

from __future__ import annotations

import socket
from pathlib import Path

from support.edgeload import Load

__all__ = ["HTTPD", "START_FIRST", "Load", "listening", "write"]

# each replica answers its version; ready once httpd answers
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


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0
