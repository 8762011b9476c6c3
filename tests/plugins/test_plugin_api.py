"""Plugins reach the stack only through ``phoenix_compose.plugin`` and the podman seam, and
show up like built-in tasks (no podman needed)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from phoenix_compose import plugin

from support import REPO

ALLOWED = {"phoenix_compose.plugin", "phoenix_compose.runtime.commands",
           "phoenix_compose.runtime.argv_git",
           "phoenix_compose.runtime.argv", "phoenix_compose.runtime"}


def test_the_projects_plugins_import_only_the_public_surface() -> None:
    for path in sorted((REPO / "tasks").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                    "phoenix_compose"):
                assert node.module in ALLOWED, f"{path.name}: from {node.module} import ..."
                if node.module == "phoenix_compose.runtime":
                    assert {a.name for a in node.names} <= {"argv", "argv_git", "commands"}, \
                        path.name
            if isinstance(node, ast.Import):
                assert not any(a.name.startswith("phoenix_compose") for a in node.names)


def test_every_name_the_plugin_surface_exports_exists() -> None:
    assert all(hasattr(plugin, name) for name in plugin.__all__)


def test_the_db_plugin_is_listed_and_in_the_vscode_tasks() -> None:
    listing = subprocess.run([sys.executable, "-m", "invoke", "--list"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout
    assert all(f"db.{t}" in listing for t in ("backup", "restore", "verify"))
    tasks = json.loads((REPO / ".vscode" / "tasks.json").read_text())["tasks"]
    assert {"phoenix: db.backup", "phoenix: db.verify"} <= {t["label"] for t in tasks}


class FakeEnv:
    name, root = "dev", REPO

    def __init__(self, environment: dict) -> None:
        self.environment = environment

    def services(self) -> dict:
        return {"revenue-db": plugin.Service("revenue-db", "p_revenue-db_1", "pg:15",
                                             self.environment)}


def test_a_hostile_database_name_is_refused_before_any_sql() -> None:

    from phoenix_compose.cli import load_plugins

    db = dict(load_plugins(REPO / "tasks"))["db"]
    assert db.Database(FakeEnv({"POSTGRES_DB": "revenue"})).db == "revenue"
    for hostile in ('x"; DROP DATABASE revenue; --', "a b", "", "x" * 51):
        with pytest.raises(plugin.BackupError, match="plain names only"):
            db.Database(FakeEnv({"POSTGRES_DB": hostile, "POSTGRES_USER": "phoenix"}))


def test_a_service_names_the_named_volumes_it_mounts_in_either_compose_form() -> None:
    services = plugin.open_env(REPO, "development").services()
    assert services["revenue-db"].named_volumes == ("phoenix-development_revenue-db-data",)
    assert services["phoenix-core"].named_volumes == ()
    assert "x-phoenix-backup" in services["revenue-db"].extensions


@pytest.mark.podman
def test_a_stopping_watch_makes_the_throwaway_database_wait_give_up(busybox_image) -> None:
    """``db.verify`` waits up to 90 s for its throwaway PostgreSQL; a stopping watch (which
    waits 60 s for jobs) must not outlast that: the wait gives up at once (not "not ready
    in 90 s"), and its caller cleans up."""
    import types
    import uuid

    from phoenix_compose.cli import load_plugins
    from phoenix_compose.runtime import commands

    db = dict(load_plugins(REPO / "tasks"))["db"]
    name = f"pt{uuid.uuid4().hex[:8]}_verify"  # never ready: busybox has no pg_isready
    commands.run(("podman", "run", "-d", "--name", name, "--", busybox_image, "sleep", "60"))
    try:
        plugin.STOPPING.set()
        with pytest.raises(plugin.BackupError, match="the health watch stopped while"):
            db.wait_ready(types.SimpleNamespace(user="phoenix", db="revenue"), name)
    finally:
        plugin.STOPPING.clear()
        commands.run(("podman", "rm", "--force", "--time", "0", "--", name))
