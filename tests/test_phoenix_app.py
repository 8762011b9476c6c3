"""The Phoenix stack's own service (images/python-service/app/server.py): its /health asks a
dependency's name again after a failed lookup (aardvark-dns before 1.11 drops queries
while it reloads, containers/aardvark-dns#389), and nothing else is retried."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import pytest

APP = Path(__file__).parents[1] / "images" / "python-service" / "app" / "server.py"


@pytest.fixture
def server(monkeypatch):
    spec = importlib.util.spec_from_file_location("phoenix_app_server", APP)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module.time, "sleep", lambda _s: None)
    return module


def flaky(errors: list[BaseException]):
    calls = []

    def connect(host, port):
        calls.append((host, port))
        if errors:
            raise errors.pop(0)
    return connect, calls


def test_a_failed_lookup_is_asked_again(server, monkeypatch) -> None:
    connect, calls = flaky([socket.gaierror(-2, "Name or service not known")] * 2)
    monkeypatch.setattr(server, "check_postgres", connect)
    monkeypatch.setenv("HEALTH_DEPENDS", "postgres://revenue-db:5432")
    assert server.dependencies() == {"postgres://revenue-db:5432": "ok"}
    assert len(calls) == 3


def test_a_lookup_failing_three_times_is_reported(server, monkeypatch) -> None:
    connect, calls = flaky([socket.gaierror(-2, "Name or service not known")] * 3)
    monkeypatch.setattr(server, "check_postgres", connect)
    monkeypatch.setenv("HEALTH_DEPENDS", "postgres://revenue-db:5432")
    assert server.dependencies()["postgres://revenue-db:5432"].startswith("failing:")
    assert len(calls) == 3


def test_a_refused_connection_is_not_retried(server, monkeypatch) -> None:
    connect, calls = flaky([ConnectionRefusedError(111, "Connection refused")])
    monkeypatch.setattr(server, "check_postgres", connect)
    monkeypatch.setenv("HEALTH_DEPENDS", "postgres://revenue-db:5432")
    assert "refused" in server.dependencies()["postgres://revenue-db:5432"]
    assert len(calls) == 1
