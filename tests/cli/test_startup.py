"""Start-up stays quick, guarded by what is imported (module names, never a clock): a
command imports only what it needs (issue 27, "A fast CLI"; figures: bench/cli.py).

Each command runs in a fresh interpreter under ``python -X importtime``, which lists every
module the process imported."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support import REPO

# never needed to list tasks or print help (nor unittest.mock: invoke's MockContext only)
HEAVY = {"jsonschema", "jinja2", "cryptography", "kubernetes_validate", "rich",
         "unittest.mock", "asyncio", "prometheus_client", "watchfiles", "dotenv"}
ENGINE = {"phoenix_compose.config.assemble", "phoenix_compose.config.pipeline",
          "phoenix_compose.runtime.lifecycle", "phoenix_compose.runtime.containers"}
COMPOSE = """services:
  web:
    image: docker.io/library/nginx:1.27
    ports: ["127.0.0.1:8080:80", {target: 443, published: "8443"}]
    volumes: [data:/data, {type: bind, source: ./site, target: /site}]
    depends_on: {db: {condition: service_healthy}}
    x-phoenix-restart: {max_restarts: 3, restart_mode: recreate}
  db:
    image: docker.io/library/postgres:16
    environment: {POSTGRES_PASSWORD: "${DB_PASSWORD}"}
    healthcheck: {test: [CMD, pg_isready], interval: 5s, retries: 3}
volumes:
  data: {}
"""


def imported(cwd: Path, *args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules ``python -X importtime ARGS`` imported (it must succeed)."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    assert done.returncode == 0, done.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines()
            if line.startswith("import time:") and "|" in line
            and not line.rstrip().endswith("imported package")}


def top(modules: set[str]) -> set[str]:
    return modules | {m.split(".")[0] for m in modules}


def stack(root: Path) -> Path:
    (root / "compose").mkdir(parents=True)
    (root / "compose" / "site").mkdir()
    (root / "compose" / "compose.yaml").write_text(COMPOSE, encoding="utf-8")
    (root / "envs").mkdir()
    (root / "envs" / "dev.env").write_text("DB_PASSWORD=not-a-real-one\n", encoding="utf-8")
    return root


def test_phoenix_help_imports_nothing_heavy_nor_the_engine(tmp_path: Path) -> None:
    modules = imported(stack(tmp_path), "-m", "phoenix_compose.cli.program", "--help")
    assert "invoke" in modules and "phoenix_compose.cli.config" in modules  # it did run
    assert top(modules) & HEAVY == set()
    assert "importlib.metadata" not in modules  # invoke's version: _upstream.deferred_metadata
    assert modules & ENGINE == set()


def test_inv_list_with_the_db_plugin_imports_nothing_heavy_nor_the_engine() -> None:
    """``inv`` imports invoke (and so unittest.mock) before any of ours: everything else."""
    modules = imported(REPO, "-c", "from invoke.main import program; "
                                   "program.run(['inv', '--list'])")
    assert "phoenix_compose.plugin" in modules  # tasks/db/ was imported
    assert top(modules) & (HEAVY - {"unittest.mock", "asyncio"}) == set()
    assert modules & ENGINE == set()
    # the plugin API needs durations, not the typed services (probes, rollout, merge)
    assert "phoenix_compose.config.services" not in modules


def test_config_show_of_a_valid_stack_needs_neither_jsonschema_nor_jinja(
        tmp_path: Path) -> None:
    """The compiled schema check passes it (jsonschema is for the errors only); there is
    no template, so no Jinja; the second run reads the compiled check from the cache."""
    root, cache = stack(tmp_path / "stack"), tmp_path / "cache"
    show = ("-m", "phoenix_compose.cli.program", "config.show", "--format", "json",
            "--env", "dev")
    first = imported(root, *show, env={"XDG_CACHE_HOME": str(cache)})
    [compiled] = (cache / "phoenix-compose").glob("compose-spec-*")
    written = compiled.stat()
    (root / ".phoenix").rename(tmp_path / "old-state")  # validate again, cold
    again = imported(root, *show, env={"XDG_CACHE_HOME": str(cache)})
    for modules in (first, again):
        assert "phoenix_compose.config.validate" in modules  # it did validate
        assert top(modules) & {"jsonschema", "jinja2", "cryptography", "rich",
                               "kubernetes_validate", "unittest.mock"} == set()
    assert (compiled.stat().st_ino, compiled.stat().st_mtime_ns) == (written.st_ino,
                                                                      written.st_mtime_ns)


# what only a build needs: parsing the YAML with locations, merging, validating (and
# rendering templates: a stack without templates/ does not import their module)
BUILD = {"phoenix_compose.config.building", "phoenix_compose.config.assemble",
         "phoenix_compose.config.validate", "phoenix_compose.config.schemacheck",
         "phoenix_compose.config.loading"}
TEMPLATES = "phoenix_compose.config.templates"


def test_config_show_answered_by_the_cache_imports_nothing_of_the_build(
        tmp_path: Path) -> None:
    """A fresh cache answers: none of the build's modules (the final file's JSON form,
    written by the first run, is what it reads: tests/config/test_final_json.py)."""
    root = stack(tmp_path / "stack")
    show = ("-m", "phoenix_compose.cli.program", "config.show", "--format", "json",
            "--env", "dev")
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)}  # no ~/.invoke.*
    first = imported(root, *show, env=env)
    assert first & BUILD == BUILD  # the first run built it
    assert TEMPLATES not in first  # (without templates/)
    assert (root / ".phoenix" / "dev" / "compose.json").is_file()
    again = imported(root, *show, env=env)
    assert "phoenix_compose.config.show" in again
    assert again & (BUILD | {TEMPLATES, "jsonschema", "jinja2"}) == set()
    # nor invoke (the program answers it: cli/quick.py), nor a YAML parser (the JSON form)
    assert top(again) & {"invoke", "yaml"} == set()
