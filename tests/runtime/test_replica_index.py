"""``logs``, ``exec`` and ``port`` take docker compose's ``--index`` (issue 26): which
replica, 1-based; ``logs`` without it reads every replica, prefixed with its container;
``port`` of a port the edge owns answers the edge's address.  An index beyond the
service's replicas is a usage error (exit 2) naming the service and its count."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from invoke import Exit

from phoenix_compose.cli import compose as compose_tasks
from phoenix_compose.config.edgeports import for_edge
from phoenix_compose.errors import UsageError
from phoenix_compose.runtime import commands, operations, replicaops
from phoenix_compose.runtime.commands import Result
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.stack import load_stack
from phoenix_compose.statedir import StateDir

from support import mock_context

SERVICES = {"web": {"image": "i:1", "deploy": {"replicas": 2},
                    "ports": ["127.0.0.1:8080:80", "9000:90/udp"]},
            "db": {"image": "i:1", "ports": ["5432:5432"]}}


def final(tmp_path: Path, services: dict = SERVICES):
    model = {"name": "p", "services": services}
    for_edge(model)  # as the config pipeline writes the final file
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(model))
    return load_stack(tmp_path / "c.yaml", "p")


def manager(tmp_path: Path, answers: dict[tuple[str, ...], str] | None = None):
    """A manager whose podman records each command line and answers ``answers``."""
    stack, calls = final(tmp_path), []

    def run(line, **_kwargs):
        calls.append(tuple(line))
        return Result(tuple(line), 0, (answers or {}).get(tuple(line[:2]), "out\n"), "")

    return SimpleNamespace(current_stack=lambda: stack, run=run,
                           state=StateDir(tmp_path, "t")), calls


def test_the_index_names_a_replica_and_defaults_to_the_first(tmp_path: Path) -> None:
    stack = final(tmp_path)
    assert replicaops.replica(stack, "web") == "p_web_1"
    assert replicaops.replica(stack, "web", 2) == "p_web_2"
    assert replicaops.replica(stack, "db", 1) == "p_db_1"


@pytest.mark.parametrize(("service", "index", "count"), [("web", 3, 2), ("web", -1, 2),
                                                         ("db", 2, 1)])
def test_an_index_beyond_the_replicas_names_the_service_and_its_count(
        tmp_path: Path, service: str, index: int, count: int) -> None:
    with pytest.raises(UsageError) as info:
        replicaops.replica(final(tmp_path), service, index)
    assert f"--index {index}: service '{service}' has {count} replica(s)" in str(info.value)
    assert info.value.exit_code == 2


def test_logs_read_every_replica_prefixed_with_its_container(tmp_path: Path) -> None:
    m, calls = manager(tmp_path)
    lines = operations.logs(m, ["db", "web"])
    assert calls == [("podman", "logs", "--", "p_db_1"), ("podman", "logs", "--", "p_web_1"),
                     ("podman", "logs", "--", "p_web_2")]
    assert lines == ["db      | out", "p_web_1 | out", "p_web_2 | out"]
    calls.clear()
    assert operations.logs(m, ["web"], index=2, tail=3) == ["p_web_2 | out"]
    assert calls == [("podman", "logs", "--tail", "3", "--", "p_web_2")]


def test_exec_runs_in_the_replica_named(tmp_path: Path, monkeypatch) -> None:
    m, _calls = manager(tmp_path)
    ran: list[tuple[str, ...]] = []
    monkeypatch.setattr(commands, "interactive", lambda line: ran.append(tuple(line)) or 0)
    operations.exec_(m, "web", ["id"], 2)
    operations.exec_(m, "web", [])
    assert ran == [("podman", "exec", "--", "p_web_2", "id"),
                   ("podman", "exec", "--", "p_web_1", "sh")]


def test_port_of_a_routed_port_is_the_edges_and_with_an_index_the_replicas(
        tmp_path: Path, monkeypatch) -> None:
    m, calls = manager(tmp_path, {("podman", "port"): "127.0.0.1:41234\n"})
    monkeypatch.setattr(Edge, "pid", lambda _self: 4321)
    assert operations.port(m, "web", "80") == "127.0.0.1:8080"
    assert operations.port(m, "web", "80/tcp") == "127.0.0.1:8080"
    assert calls == []  # the edge's address is the config's, no podman asked
    assert operations.port(m, "web", "80", 2) == "127.0.0.1:41234"
    assert operations.port(m, "web", "90/udp") == "127.0.0.1:41234"  # not routed: replica 1
    assert calls == [("podman", "port", "--", "p_web_2", "80"),
                     ("podman", "port", "--", "p_web_1", "90/udp")]
    assert replicaops.edge_address(m.current_stack(), "db", "5432") is None  # not edged


def test_port_of_a_routed_port_says_when_the_edge_does_not_run(tmp_path: Path,
                                                               monkeypatch) -> None:
    m, _calls = manager(tmp_path)
    monkeypatch.setattr(Edge, "pid", lambda _self: None)
    with pytest.raises(Exception, match=r"the edge's \(127.0.0.1:8080\), and the edge "
                                        r"does not run"):
        operations.port(m, "web", "80")


@pytest.mark.parametrize("task", ["exec", "port", "logs"])
def test_the_tasks_exit_2_without_a_traceback_for_an_index_too_high(
        make_stack, capsys, monkeypatch, task: str) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=p\n",
                       "compose/app.yaml": yaml.safe_dump({"services": SERVICES})})
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(commands, "run", lambda line, **_k: calls.append(tuple(line)))
    monkeypatch.setattr(commands, "interactive", lambda line: calls.append(tuple(line)))
    c = mock_context(root)
    with pytest.raises(Exit) as info:
        if task == "exec":
            compose_tasks.exec_(c, "web", env="t", command="id", index=3)
        elif task == "port":
            compose_tasks.port(c, "web", "80", env="t", index=3)
        else:
            compose_tasks.logs(c, "web", env="t", index=3)
    err = capsys.readouterr().err
    assert info.value.code == 2
    assert "error: --index 3: service 'web' has 2 replica(s) (1 to 2)" in err
    assert "Traceback" not in err and not calls
