"""Compose features as docker compose and compose-go have them: one spelling per attribute
before merging, bare environment keys, the default build context, extra_hosts with several
addresses, devices by container path, multi-document files and profiles."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from phoenix_compose import api
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.runtime.stack import ServiceSpec, Stack


def load(tmp_path: Path, *texts: str, variables=None, **kwargs) -> dict:
    files = []
    for i, text in enumerate(texts):
        path = tmp_path / f"{i}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        files.append(path)
    return api.load_project(files, variables or {}, **kwargs)


def web(tmp_path: Path, *texts: str, **kwargs) -> dict:
    return load(tmp_path, *texts, **kwargs)["services"]["web"]


def test_a_build_string_and_a_build_mapping_merge(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, build: ./a}}",
              "services: {web: {build: {dockerfile: X}}}")
    assert svc["build"] == {"context": str(tmp_path / "a"), "dockerfile": "X"}


def test_a_build_without_context_builds_the_project_directory(tmp_path) -> None:
    assert web(tmp_path, "services: {web: {image: w, build: {dockerfile: X}}}")["build"] == {
        "dockerfile": "X", "context": str(tmp_path)}


def test_networks_list_and_mapping_merge(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, networks: [a, b]}}",
              "services: {web: {networks: {c: {aliases: [x]}}}}")
    assert svc["networks"] == {"a": None, "b": None, "c": {"aliases": ["x"]}}


def test_additional_contexts_list_and_map_merge(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, build: {context: ., "
                        "additional_contexts: [a=/x]}}}",
              "services: {web: {build: {additional_contexts: {b: /y}}}}")
    assert svc["build"]["additional_contexts"] == {"a": "/x", "b": "/y"}


def test_labels_map_and_list_merge(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, labels: {a: '1'}}}",
              "services: {web: {labels: [b=2, a=3]}}")
    assert svc["labels"] == {"a": "3", "b": "2"}


def test_a_host_may_have_several_addresses(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, extra_hosts: ['h=1.1.1.1', 'h:2.2.2.2']}}",
              "services: {web: {extra_hosts: {h: ['2.2.2.2', '3.3.3.3'], g: 4.4.4.4}}}")
    assert svc["extra_hosts"] == ["h:1.1.1.1", "h:2.2.2.2", "g:4.4.4.4", "h:3.3.3.3"]


def test_devices_are_keyed_by_their_container_path(tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, devices: ['/dev/a:/dev/x', '/dev/c']}}",
              "services: {web: {devices: ['/dev/b:/dev/x:r']}}")
    assert svc["devices"] == ["/dev/b:/dev/x:r", "/dev/c"]


def test_bare_environment_keys_come_from_the_variables_and_unset_ones_pass_through(
        tmp_path) -> None:
    svc = web(tmp_path, "services: {web: {image: w, environment: [FOO, UNSET, X=1]}}",
              variables={"FOO": "from-env"})
    assert svc["environment"] == {"FOO": "from-env", "UNSET": None, "X": "1"}


def test_bare_keys_come_from_the_env_files_in_the_pipeline(make_stack) -> None:
    from phoenix_compose.config.environment import load_environment
    from phoenix_compose.config.pipeline import build

    root = make_stack({"envs/dev.env": "TOKENLESS=yes\n",
                       "compose/a.yaml": "services: {web: {image: 'w:1', "
                                         "environment: [TOKENLESS]}}\n"})
    model = build(load_environment(root, "dev", {})).model
    assert model["services"]["web"]["environment"] == {"TOKENLESS": "yes"}


def test_documents_of_one_file_merge_in_order(tmp_path) -> None:
    svc = web(tmp_path, """
        services: {web: {image: w:1, environment: {A: '1'}}}
        ---
        services: {web: {image: w:2, environment: {B: '2'}}}
        """)
    assert svc["image"] == "w:2" and svc["environment"] == {"A": "1", "B": "2"}


def test_a_profile_that_leaves_out_a_required_dependency_is_an_error(tmp_path) -> None:
    text = """
        services:
          web: {image: w, depends_on: [db]}
          db: {image: d, profiles: [data]}
        """
    with pytest.raises(ConfigurationError) as info:
        load(tmp_path, text)
    problem = info.value.problems[0]
    assert (problem.line, problem.column) == (2, 32)
    assert "depends on 'db', which the active profiles (none) leave out" in problem.message
    assert set(load(tmp_path, text, profiles=["data"])["services"]) == {"web", "db"}


def test_an_optional_dependency_may_be_left_out(tmp_path) -> None:
    model = load(tmp_path, """
        services:
          web: {image: w, depends_on: {db: {condition: service_started, required: false}}}
          db: {image: d, profiles: [data]}
        """)
    assert set(model["services"]) == {"web"}


def test_up_with_profiles_refuses_a_left_out_dependency() -> None:
    def spec(name, deps=(), profiles=()):
        return ServiceSpec(name, f"p_{name}_1", "i:1", False,
                           {d: "service_started" for d in deps}, None, profiles)

    stack = Stack("p", Path("/x"), {"web": spec("web", ["db"]),
                                    "db": spec("db", profiles=("data",))})
    with pytest.raises(ConfigurationError, match="depends on 'db', which the active profiles"):
        stack.select()
    assert stack.select(profiles=["data"]) == ["db", "web"]
    assert stack.select(["web"]) == ["db", "web"]  # an explicit target brings its dependencies
