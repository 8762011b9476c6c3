"""Which project an environment is (docker compose's precedence and normalisation), and the
owner label that every service, network and volume of the final model carries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.identity import (
    OWNER_LABEL,
    folder_default,
    normalize,
    owner_id,
)
from phoenix_compose.config.pipeline import prepare
from phoenix_compose.errors import ConfigurationError

SERVICE = "services:\n  web:\n    image: 'w:1'\n"


@pytest.mark.parametrize(("raw", "normal"), [
    ("My Stack", "mystack"), ("shop.front_2", "shopfront_2"), ("--_Weird-", "weird-"),
    ("Été", "t"), ("...", ""), ("phoenix-dev", "phoenix-dev")])
def test_names_are_normalised_as_compose_go_normalises_them(raw: str, normal: str) -> None:
    assert normalize(raw) == normal


def test_the_folder_default_is_the_normalised_folder_name_plus_the_env(tmp_path) -> None:
    root = tmp_path / "Shop.Front"
    root.mkdir()
    assert folder_default(root, "staging") == "shopfront-staging"
    assert folder_default(root, "default") == "shopfront"


def test_a_symlinked_root_is_named_after_its_real_folder(tmp_path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert folder_default(tmp_path / "alias", "dev") == "real-dev"
    assert owner_id(tmp_path / "alias", "dev") == owner_id(tmp_path / "real", "dev")


def test_a_stack_only_repository_without_a_name_gets_its_folders_name(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "envs/default.env": "", "compose/a.yaml": SERVICE})
    assert root.name == "stack"
    assert load_environment(root, "dev", {}).project_name == "stack-dev"
    assert load_environment(root, "default", {}).project_name == "stack"


def test_a_top_level_name_is_honoured_interpolated_and_normalised(make_stack) -> None:
    root = make_stack({"envs/dev.env": "TIER=Blue\n",
                       "compose/a.yaml": "name: Shop-${TIER}\n" + SERVICE})
    assert load_environment(root, "dev", {}).project_name == "shop-blue"


def test_the_last_compose_file_that_names_the_project_wins(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": "name: first\n" + SERVICE,
                       "compose/b.yaml": "name: second\n", "compose/c.yaml": "volumes: {}\n"})
    assert load_environment(root, "dev", {}).project_name == "second"


def test_compose_project_name_beats_name_from_an_env_file_or_the_process(make_stack) -> None:
    root = make_stack({"envs/dev.env": "COMPOSE_PROJECT_NAME=from-env-file\n",
                       "envs/qa.env": "", "compose/a.yaml": "name: from-yaml\n" + SERVICE})
    assert load_environment(root, "dev", {}).project_name == "from-env-file"
    assert load_environment(root, "dev", {"COMPOSE_PROJECT_NAME": "from-process"}
                            ).project_name == "from-process"
    assert load_environment(root, "qa", {}).project_name == "from-yaml"


def test_an_invalid_compose_project_name_is_not_normalised_but_refused(make_stack) -> None:
    root = make_stack({"envs/dev.env": "COMPOSE_PROJECT_NAME=My Stack\n",
                       "compose/a.yaml": SERVICE})
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={})
    assert str(info.value).startswith("envs/dev.env:1:1: error: invalid project name "
                                      "'My Stack'")


def test_a_top_level_name_that_normalises_to_nothing_is_refused_at_its_line(
        make_stack) -> None:
    """docker compose: "project name must not be empty"; never another folder's name."""
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": 'name: "---"\n' + SERVICE})
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "dev", process={})
    assert str(info.value).startswith("compose/a.yaml:1:8: error: invalid project name '---'")
    assert "(hint: write such a name here)" in str(info.value)


def test_a_folder_whose_name_normalises_to_nothing_asks_for_a_name(tmp_path) -> None:
    root = tmp_path / "___"
    (root / "envs").mkdir(parents=True)
    (root / "envs/default.env").write_text("")
    (root / "compose").mkdir()
    (root / "compose/a.yaml").write_text(SERVICE)
    with pytest.raises(ConfigurationError) as info:
        prepare(root, "default", process={})
    assert "the stack folder's name gives no valid project name" in str(info.value)
    assert "COMPOSE_PROJECT_NAME" in str(info.value)


def test_compose_project_name_interpolates_to_the_resolved_name(make_stack) -> None:
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": "name: shop\nservices:\n  web:\n    image: 'w:1'\n"
                                         "    environment: {PROJECT: '${COMPOSE_PROJECT_NAME}'}\n"})
    model = yaml.safe_load(prepare(root, "dev", process={}).compose_file.read_text())
    assert model["name"] == "shop"
    assert model["services"]["web"]["environment"]["PROJECT"] == "shop"


def test_every_service_network_and_volume_it_creates_carries_the_owner(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": """
        services:
          web: {image: 'w:1', labels: ['io.phoenix.owner=spoofed', 'keep=1'], volumes: [data:/d]}
          db: {image: 'd:1', networks: [back, side]}
        networks:
          back: {labels: {tier: back}}
          side: {labels: ['tier=side', 'io.phoenix.owner=spoofed']}
          outside: {external: true}
        volumes:
          data:
          shared: {external: true}
        """})
    model = yaml.safe_load(prepare(root, "dev", process={}).compose_file.read_text())
    owner = owner_id(root, "dev")
    assert model["services"]["web"]["labels"] == {"keep": "1", OWNER_LABEL: owner}
    assert model["services"]["db"]["labels"] == {OWNER_LABEL: owner}
    assert model["networks"]["back"]["labels"] == {"tier": "back", OWNER_LABEL: owner}
    # the list form is normalised to a mapping, as docker compose prints it
    assert model["networks"]["side"]["labels"] == {"tier": "side", OWNER_LABEL: owner}
    assert model["networks"]["default"]["labels"] == {OWNER_LABEL: owner}  # web's
    assert model["volumes"]["data"]["labels"] == {OWNER_LABEL: owner}
    assert "labels" not in model["networks"]["outside"]
    assert "labels" not in model["volumes"]["shared"]


def test_owners_differ_by_stack_root_and_by_env(tmp_path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    owners = {owner_id(tmp_path / "a", "dev"), owner_id(tmp_path / "b", "dev"),
              owner_id(tmp_path / "a", "prod")}
    assert len(owners) == 3 and all(len(o) == 64 for o in owners)


def test_a_copied_checkout_does_not_reuse_the_cached_owner(make_stack, tmp_path) -> None:
    root = make_stack({"envs/dev.env": "COMPOSE_PROJECT_NAME=shop\n", "compose/a.yaml": SERVICE})
    prepare(root, "dev", process={})
    copy = Path(shutil.copytree(root, tmp_path / "copy"))
    outcome = prepare(copy, "dev", process={})
    labels = yaml.safe_load(outcome.compose_file.read_text())["services"]["web"]["labels"]
    assert not outcome.cached and labels == {OWNER_LABEL: owner_id(copy, "dev")}
