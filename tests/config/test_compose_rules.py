"""The compose rules of issue 25 item 3, each checked against docker compose itself
(``compose_oracle``) through the public API, and, where the pipeline adds something (an
env file that must exist, the built-in ``COMPOSE_PROJECT_NAME``), through the pipeline:
implicit dependencies, env files, ``dockerfile_inline``, built-in variables, paths of a
symlinked file, ``COMPOSE_FILE``/``COMPOSE_PROFILES``, and the merge corners of
compose-go's ``override/`` tests."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any

import pytest
from compose_oracle import compose_config, needs_oracle

from phoenix_compose import api
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.errors import ConfigurationError

pytestmark = needs_oracle


def write(folder: Path, texts: tuple[str, ...]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i, text in enumerate(texts):
        path = folder / f"{i}.yaml"
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        files.append(path)
    return files


def both(folder: Path, *texts: str, env: dict[str, str] | None = None,
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Our model and docker compose's, of the same files and variables."""
    files = write(folder, texts)
    verdict = compose_config(files, folder, env)
    assert verdict.ok, verdict.error
    return api.load_project(files, env or {}, validate=True), verdict.model


def refused(folder: Path, *texts: str) -> tuple[list[Any], str]:
    """Our problems and docker compose's error, for files both must reject."""
    files = write(folder, texts)
    verdict = compose_config(files, folder)
    assert not verdict.ok
    with pytest.raises(ConfigurationError) as info:
        api.load_project(files, {}, validate=True)
    return info.value.problems, verdict.error


def deps(model: dict[str, Any], name: str) -> dict[str, tuple[str, bool, bool]]:
    out = model["services"][name].get("depends_on") or {}
    return {k: (v["condition"], bool(v.get("required")), bool(v.get("restart")))
            for k, v in out.items()}


# -- implicit dependencies ---------------------------------------------------------------

IMPLICIT = """
    services:
      web:
        image: alpine
        links: [db:database, cache]
        volumes_from: [files, "container:other", "logs:ro"]
        depends_on: {cache: {condition: service_healthy}}
      db: {image: alpine, network_mode: "service:net", ipc: "service:net"}
      cache: {image: alpine}
      files: {image: alpine}
      logs: {image: alpine}
      net: {image: alpine}
    """


def test_links_network_mode_and_volumes_from_are_dependencies_as_in_docker_compose(
        tmp_path) -> None:
    mine, docker = both(tmp_path, IMPLICIT)
    for name in ("web", "db"):
        assert deps(mine, name) == deps(docker, name)
    assert deps(mine, "web")["db"] == ("service_started", True, True)
    assert deps(mine, "web")["cache"][0] == "service_healthy"  # explicit wins


def test_implicit_dependencies_order_the_start_and_gate_it(make_stack) -> None:
    from phoenix_compose.runtime.stack import load_stack

    root = make_stack({"envs/dev.env": "", "compose/a.yaml": IMPLICIT})
    built = build(load_environment(root, "dev", {}))
    out = root / "final.yaml"
    out.write_text(built.compose_text, encoding="utf-8")
    stack = load_stack(out, "p")
    order = stack.order()
    assert order.index("net") < order.index("db") < order.index("web")
    assert order.index("files") < order.index("web") and order.index("logs") < order.index("web")
    assert stack.select(["web"]) == [n for n in order if n != "web"] + ["web"]


@pytest.mark.parametrize(("line", "message"), [
    ("links: [mongo]", "service 'web' links to undefined service 'mongo'"),
    ("links: ['mongo:db']", "service 'web' links to undefined service 'mongo'"),
    ("network_mode: 'service:mongo'", "service 'web' takes network_mode from undefined "
                                      "service 'mongo'"),
    ("volumes_from: ['mongo:ro']", "service 'web' mounts the volumes of undefined service "
                                   "'mongo'"),
])
def test_a_reference_to_an_undefined_service_is_a_located_error(tmp_path, line,
                                                                message) -> None:
    problems, _ = refused(tmp_path, f"services:\n  web:\n    image: alpine\n    {line}\n"
                                    "  mongodb: {image: alpine}\n")
    assert [(p.loc.file.endswith("0.yaml"), p.loc.line, p.message) for p in problems] == \
        [(True, 4, message)]
    assert problems[0].hint == "did you mean 'mongodb'?"


def test_an_undefined_link_fails_validate_in_the_pipeline(make_stack) -> None:
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": "services:\n  web:\n    image: alpine\n"
                                         "    links: [mongo]\n"})
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    assert [str(p.loc) for p in info.value.problems] == ["compose/a.yaml:4:13"]


# -- env files and dockerfile_inline ---------------------------------------------------

def test_a_missing_env_file_is_a_located_error_unless_it_is_optional(tmp_path) -> None:
    problems, error = refused(tmp_path, "services:\n  web:\n    image: alpine\n"
                                        "    env_file: [missing.env]\n")
    assert "not found" in error
    assert [(p.loc.line, p.loc.col) for p in problems] == [(4, 16)]
    assert f"env file {tmp_path / 'missing.env'} of service 'web' does not exist" == \
        problems[0].message
    mine, docker = both(tmp_path / "optional", """
        services:
          web:
            image: alpine
            env_file: [{path: missing.env, required: false}]
        """)
    assert mine["services"]["web"]["env_file"] == [
        {"path": str(tmp_path / "optional" / "missing.env"), "required": False}]
    assert "environment" not in docker["services"]["web"]


def test_a_missing_env_file_fails_validate_before_up(make_stack) -> None:
    root = make_stack({"envs/dev.env": "",
                       "compose/a.yaml": "services:\n  web:\n    image: alpine\n"
                                         "    env_file: ../web.env\n"})
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "dev", {}))
    assert [str(p.loc) for p in info.value.problems] == ["compose/a.yaml:4:15"]
    (root / "web.env").write_text("A=1\n", encoding="utf-8")
    assert "web.env" in build(load_environment(root, "dev", {})).compose_text


def test_dockerfile_inline_is_accepted_and_passed_to_podman_compose(make_stack) -> None:
    text = "services:\n  web:\n    build:\n      dockerfile_inline: |\n        FROM alpine\n"
    root = make_stack({"envs/dev.env": "", "compose/a.yaml": text})
    built = build(load_environment(root, "dev", {}))
    assert built.model["services"]["web"]["build"] == {
        "context": str(root / "compose"), "dockerfile_inline": "FROM alpine\n"}
    verdict = compose_config([root / "compose" / "a.yaml"], root / "compose")
    assert verdict.model["services"]["web"]["build"] == built.model["services"]["web"]["build"]


def test_dockerfile_and_dockerfile_inline_together_are_refused_as_by_docker_compose(
        tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n", encoding="utf-8")
    problems, error = refused(tmp_path, "services:\n  web:\n    build:\n"
                                        "      dockerfile: Dockerfile\n"
                                        "      dockerfile_inline: FROM alpine\n")
    assert "mutualy exclusive" in error
    assert [(p.loc.line, p.message) for p in problems] == [
        (5, "service 'web' sets both build.dockerfile and build.dockerfile_inline")]


# -- built-in variables, symlinks, COMPOSE_FILE and COMPOSE_PROFILES ---------------------

PROJECT_NAME = ("services:\n  web:\n    image: alpine\n"
                "    command: [echo, '${COMPOSE_PROJECT_NAME}']\n")


def test_compose_project_name_interpolates_as_in_docker_compose(tmp_path) -> None:
    mine, docker = both(tmp_path / "My.Stack", PROJECT_NAME)
    assert mine["services"]["web"]["command"] == docker["services"]["web"]["command"] == \
        ["echo", "mystack"]
    mine, docker = both(tmp_path / "named", PROJECT_NAME, env={"COMPOSE_PROJECT_NAME": "x1"})
    assert mine["services"]["web"]["command"] == docker["services"]["web"]["command"] == \
        ["echo", "x1"]


def test_compose_project_name_is_the_envs_project_in_the_pipeline(make_stack) -> None:
    root = make_stack({"envs/dev.env": "", "envs/named.env": "COMPOSE_PROJECT_NAME=shop\n",
                       "compose/a.yaml": PROJECT_NAME})
    for env, want in (("dev", "stack-dev"), ("named", "shop")):  # stack/: the folder
        model = build(load_environment(root, env, {})).model
        assert model["services"]["web"]["command"] == ["echo", want]


def test_a_symlinked_file_resolves_paths_against_the_links_folder(tmp_path) -> None:
    real = tmp_path / "elsewhere" / "compose.yaml"
    real.parent.mkdir()
    real.write_text("services:\n  web:\n    image: alpine\n    volumes: [./data:/data]\n"
                    "    env_file: [{path: ./web.env, required: false}]\n", encoding="utf-8")
    project = tmp_path / "project"
    project.mkdir()
    (project / "compose.yaml").symlink_to(real)
    verdict = compose_config([project / "compose.yaml"], project)
    mine = api.load_project([project / "compose.yaml"], {})["services"]["web"]
    theirs = verdict.model["services"]["web"]
    assert mine["volumes"] == [f"{project}/data:/data"]
    assert theirs["volumes"][0]["source"] == f"{project}/data"
    assert mine["env_file"][0]["path"] == f"{project}/web.env"


def test_a_symlinked_include_resolves_paths_against_the_links_folder(tmp_path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "real" / "part.yaml").write_text(
        "services:\n  db:\n    image: alpine\n    volumes: [./db:/db]\n", encoding="utf-8")
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "part.yaml").symlink_to(tmp_path / "real" / "part.yaml")
    mine, docker = both(tmp_path / "main", "include: [../parts/part.yaml]\nservices: {}\n")
    assert mine["services"]["db"]["volumes"] == [f"{tmp_path}/parts/db:/db"]
    assert docker["services"]["db"]["volumes"][0]["source"] == f"{tmp_path}/parts/db"


def test_compose_file_and_its_separator_name_the_files_when_none_are_given(
        tmp_path, monkeypatch) -> None:
    files = write(tmp_path, ("services: {a: {image: alpine}}",
                             "services: {b: {image: alpine}}"))
    monkeypatch.chdir(tmp_path)
    for sep, env in ((os.pathsep, {}), (";", {"COMPOSE_PATH_SEPARATOR": ";"})):
        env = {**env, "COMPOSE_FILE": sep.join(f.name for f in files)}
        assert sorted(api.load_project([], env)["services"]) == ["a", "b"]


PROFILED = """
    services:
      web: {image: alpine}
      debug: {image: alpine, profiles: [debug]}
      tools: {image: alpine, profiles: [tools]}
    """


def test_compose_profiles_selects_the_profiles_when_none_are_given(tmp_path) -> None:
    mine, docker = both(tmp_path, PROFILED, env={"COMPOSE_PROFILES": "debug, tools"})
    assert sorted(mine["services"]) == sorted(docker["services"]) == ["debug", "tools", "web"]
    assert sorted(api.load_project(write(tmp_path, (PROFILED,)),
                                   {"COMPOSE_PROFILES": "debug"},
                                   profiles=["tools"])["services"]) == ["tools", "web"]


# -- merge corners (compose-go override/ and loader/ tests) ------------------------------

def test_an_environment_entry_without_a_value_passes_the_hosts_through(tmp_path) -> None:
    mine, docker = both(tmp_path, """
        services:
          web:
            image: alpine
            environment: [SET, UNSET, EMPTY=]
          api:
            image: alpine
            environment: {SET: , UNSET: ~}
        """, env={"SET": "from-host"})
    for name in ("web", "api"):
        assert mine["services"][name]["environment"] == \
            docker["services"][name]["environment"]
    assert mine["services"]["web"]["environment"]["UNSET"] is None


@pytest.mark.parametrize("key", ["tmpfs", "dns", "dns_search"])
def test_a_string_and_a_list_merge_as_in_docker_compose(tmp_path, key) -> None:
    mine, docker = both(tmp_path, f"services: {{web: {{image: alpine, {key}: /run}}}}",
                        f"services: {{web: {{{key}: [/tmp, /var]}}}}")
    assert mine["services"]["web"][key] == docker["services"]["web"][key]


def test_env_file_string_and_list_merge_as_in_docker_compose(tmp_path) -> None:
    for name, text in (("a.env", "A=1\n"), ("b.env", "B=2\nA=3\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
    mine, docker = both(tmp_path, "services: {web: {image: alpine, env_file: a.env}}",
                        "services: {web: {env_file: [b.env]}}")
    assert mine["services"]["web"]["env_file"] == [str(tmp_path / "a.env"),
                                                   str(tmp_path / "b.env")]
    assert docker["services"]["web"]["environment"] == {"A": "3", "B": "2"}


@pytest.mark.parametrize("override", [
    "{driver: syslog, options: {tag: web}}",
    "{driver: json-file, options: {max-file: '3'}}",
    "{options: {max-file: '3'}}",
])
def test_logging_options_merge_only_for_the_same_driver(tmp_path, override) -> None:
    mine, docker = both(tmp_path, "services: {web: {image: alpine, logging: {driver: json-file,"
                                  " options: {max-size: 1m}}}}",
                        f"services: {{web: {{logging: {override}}}}}")
    assert mine["services"]["web"]["logging"] == docker["services"]["web"]["logging"]


@pytest.mark.parametrize(("base", "override"), [
    ("{nofile: {soft: 1024, hard: 2048}, nproc: 5}", "{nofile: {hard: 4096, soft: 512}}"),
    ("{nproc: 65535}", "{nproc: {soft: 1, hard: 2}}"),
    ("{nofile: {soft: 1024, hard: 2048}}", "{nofile: 4096, core: 1}"),
])
def test_ulimits_merge_as_in_docker_compose(tmp_path, base, override) -> None:
    mine, docker = both(tmp_path, f"services: {{web: {{image: alpine, ulimits: {base}}}}}",
                        f"services: {{web: {{ulimits: {override}}}}}")
    assert mine["services"]["web"]["ulimits"] == docker["services"]["web"]["ulimits"]


@pytest.mark.parametrize(("base", "override"), [
    ("[{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]",
     "[{subnet: 10.0.0.0/24, ip_range: 10.0.0.0/25}, {subnet: 10.1.0.0/24}]"),
    ("[{subnet: 10.0.0.0/24, gateway: 10.0.0.1}]", "[{subnet: 10.2.0.0/24}]"),
])
def test_network_ipam_configs_merge_by_subnet_as_in_docker_compose(tmp_path, base,
                                                                   override) -> None:
    mine, docker = both(tmp_path, f"""
        services: {{web: {{image: alpine, networks: [n]}}}}
        networks: {{n: {{ipam: {{driver: default, config: {base}}}}}}}
        """, f"networks: {{n: {{ipam: {{config: {override}}}}}}}")
    assert mine["networks"]["n"]["ipam"] == docker["networks"]["n"]["ipam"]


def test_network_aliases_merge_as_in_docker_compose(tmp_path) -> None:
    mine, docker = both(tmp_path, """
        services: {web: {image: alpine, networks: {n: {aliases: [a, b]}}}}
        networks: {n: {}}
        """, "services: {web: {networks: {n: {aliases: [b, c], ipv4_address: 10.0.0.5}}}}")
    assert mine["services"]["web"]["networks"] == docker["services"]["web"]["networks"]


def test_a_build_without_a_context_is_the_project_directory(tmp_path) -> None:
    (tmp_path / "Dockerfile.web").write_text("FROM alpine\n", encoding="utf-8")
    mine, docker = both(tmp_path, "services: {web: {build: {dockerfile: Dockerfile.web}}}",
                        "services: {web: {build: {args: {A: 1}}}}")
    theirs = docker["services"]["web"]["build"]
    assert mine["services"]["web"]["build"] == {
        "context": theirs["context"], "dockerfile": "Dockerfile.web", "args": {"A": "1"}}


def test_an_identical_service_included_twice_is_accepted_as_by_docker_compose(
        tmp_path) -> None:
    (tmp_path / "common.yaml").write_text("services: {db: {image: postgres}}\n",
                                          encoding="utf-8")
    for name in ("a", "b"):
        (tmp_path / f"{name}.yaml").write_text(
            f"include: [common.yaml]\nservices: {{{name}: {{image: alpine}}}}\n",
            encoding="utf-8")
    mine, docker = both(tmp_path / "main", "include: [../a.yaml, ../b.yaml]\nservices: {}\n")
    assert sorted(mine["services"]) == sorted(docker["services"]) == ["a", "b", "db"]


def test_a_platform_outside_the_build_platforms_is_refused_as_by_docker_compose(
        tmp_path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n", encoding="utf-8")
    problems, error = refused(tmp_path, "services:\n  web:\n    platform: linux/riscv64\n"
                                        "    build:\n      context: .\n"
                                        "      platforms: [linux/amd64]\n")
    assert "MUST include service.platform" in error
    assert [(p.loc.line, p.message) for p in problems] == [
        (3, "platform linux/riscv64 of service 'web' is not one of its build.platforms")]


@pytest.mark.parametrize(("text", "line"), [("A=1\nthis is bad\n", 2),
                                            ('A=1\nB="unterminated\n', 2)])
def test_an_env_file_line_docker_compose_cannot_read_is_located_in_the_env_file(
        tmp_path, text, line) -> None:
    (tmp_path / "web.env").write_text(text, encoding="utf-8")
    problems, error = refused(tmp_path, "services:\n  web:\n    image: alpine\n"
                                        "    env_file: web.env\n")
    assert "failed to read" in error
    assert [(p.loc.file, p.loc.line) for p in problems] == [(str(tmp_path / "web.env"), line)]


def test_a_service_included_twice_in_two_spellings_is_one_service_here_but_not_in_docker(
        tmp_path) -> None:
    """A deliberate difference: docker compose compares included resources as written
    (``environment: [A=1]`` and ``{A: 1}`` conflict); we compare what they mean."""
    (tmp_path / "a.yaml").write_text("services: {db: {image: pg, environment: [A=1]}}\n",
                                     encoding="utf-8")
    (tmp_path / "b.yaml").write_text("services: {db: {image: pg, environment: {A: 1}}}\n",
                                     encoding="utf-8")
    files = write(tmp_path / "main", ("include: [../a.yaml, ../b.yaml]\nservices: {}\n",))
    assert "conflicts with imported resource" in compose_config(files, tmp_path / "main").error
    assert api.load_project(files, {}, validate=True)["services"]["db"]["environment"] == \
        {"A": "1"}


def test_a_build_without_a_context_extended_from_another_file_is_the_project_directory(
        tmp_path) -> None:
    """compose-go loads an extended file without defaults: the context left out there is
    the extending project's directory; an included project's is its own."""
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.yaml").write_text("services:\n  base:\n    build: "
                                                "{dockerfile: D}\n", encoding="utf-8")
    (tmp_path / "D").write_text("FROM alpine\n", encoding="utf-8")
    (tmp_path / "sub" / "D").write_text("FROM alpine\n", encoding="utf-8")
    mine, docker = both(tmp_path, "services:\n  web:\n    extends: {file: sub/base.yaml, "
                                  "service: base}\n",
                        "include: [sub/base.yaml]\n")
    for name, folder in (("web", tmp_path), ("base", tmp_path / "sub")):
        assert mine["services"][name]["build"]["context"] == \
            docker["services"][name]["build"]["context"] == str(folder)


# -- compose-go's consistency rules (loader/validate.go) ---------------------------------

@pytest.mark.parametrize(("text", "line", "message"), [
    ("services:\n  a:\n    image: x\n    network_mode: 'service:b'\n    networks: [n]\n"
     "  b: {image: x}\nnetworks: {n: {}}\n", 5, "service 'a' sets both network_mode and "
                                               "networks"),
    ("services:\n  a:\n    image: x\n    healthcheck:\n      test: [echo, hi]\n", 5,
     "healthcheck.test of service 'a' must start with CMD, CMD-SHELL or NONE"),
    ("services:\n  a:\n    image: x\n    scale: 2\n    deploy: {replicas: 3}\n", 4,
     "service 'a' sets scale 2 and deploy.replicas 3"),
    ("services:\n  a:\n    image: x\n    deploy:\n      replicas: -1\n", 5,
     "deploy.replicas of service 'a' is negative (-1)"),
    ("services:\n  a:\n    image: x\n    container_name: c1\n    deploy: {replicas: 2}\n", 4,
     "service 'a' runs 2 containers, which cannot share one container_name"),
    ("services:\n  a:\n    image: x\n    cpus: 1\n"
     "    deploy: {resources: {limits: {cpus: '2'}}}\n", 4,
     "service 'a' sets cpus 1 and deploy.resources.limits.cpus 2"),
    ("services:\n  a:\n    image: x\n    mem_limit: 1g\n"
     "    deploy: {resources: {limits: {memory: 2g}}}\n", 4,
     "service 'a' sets mem_limit 1g and deploy.resources.limits.memory 2g"),
    ("services:\n  a:\n    image: x\n    develop:\n      watch:\n"
     "        - {path: ., action: sync}\n", 6,
     "develop.watch rule of service 'a' needs a target for action sync"),
    ("services:\n  a:\n    build:\n      context: .\n      additional_contexts:\n"
     "        b: 'service:b'\n  b: {image: x}\n", 6,
     "additional context b of service 'a' names service 'b', which is not built"),
])
def test_what_docker_compose_finds_inconsistent_is_a_located_error(tmp_path, text, line,
                                                                   message) -> None:
    (tmp_path / "Dockerfile").write_text("FROM alpine\n", encoding="utf-8")
    problems, _ = refused(tmp_path, text)
    assert [(p.loc.line, p.message) for p in problems] == [(line, message)]


def test_equal_limits_set_twice_and_a_missing_label_file_as_in_docker_compose(
        tmp_path) -> None:
    mine, _ = both(tmp_path, "services:\n  a:\n    image: x\n    mem_limit: 1024m\n"
                             "    deploy: {resources: {limits: {memory: 1g}}}\n")
    assert mine["services"]["a"]["mem_limit"] == "1024m"
    problems, error = refused(tmp_path / "labels", "services:\n  a:\n    image: x\n"
                                                   "    label_file: l.txt\n")
    assert "label file" in error and [p.loc.line for p in problems] == [4]


def test_an_optional_dependency_on_a_service_the_profiles_leave_out_is_fine(tmp_path) -> None:
    mine, docker = both(tmp_path, "services:\n  a:\n    image: x\n    depends_on:\n"
                                  "      b: {condition: service_started, required: false}\n"
                                  "  b: {image: x, profiles: [p]}\n")
    assert sorted(mine["services"]) == sorted(docker["services"]) == ["a"]


def test_compose_project_name_is_the_files_name_when_the_variable_is_unset(tmp_path) -> None:
    named = "name: ${STACK:-Shop_1}\n" + PROJECT_NAME
    mine, docker = both(tmp_path / "folder", named, "name: ''\n")
    assert mine["services"]["web"]["command"] == docker["services"]["web"]["command"] == \
        ["echo", "shop_1"]


@pytest.mark.parametrize(("line", "dotted"), [
    ("depends_on: [b, b]", "depends_on"), ("volumes_from: [b, b]", "volumes_from"),
    ("security_opt: [a, a]", "security_opt"), ("group_add: [a, a]", "group_add"),
    ("extra_hosts: ['a=1.1.1.1', 'a=1.1.1.1']", "extra_hosts"),
])
def test_an_item_repeated_in_one_file_is_refused_as_by_docker_compose(tmp_path, line,
                                                                     dotted) -> None:
    problems, error = refused(tmp_path, f"services:\n  a:\n    image: x\n    {line}\n"
                                        "  b: {image: x}\n")
    assert "are equal" in error or "must be a mapping" in error
    assert [(p.loc.line, p.message) for p in problems] == [
        (4, f"services.a.{dotted} lists the same item twice (items 0 and 1)")]


def test_an_item_repeated_across_files_or_where_docker_allows_it_is_fine(tmp_path) -> None:
    mine, docker = both(tmp_path, "services: {a: {image: x, cap_add: [NET_ADMIN], "
                                  "environment: [A=1, A=1], depends_on: [b]}, b: {image: x}}",
                        "services: {a: {cap_add: [NET_ADMIN], environment: [A=1], "
                        "depends_on: [b]}}")
    for key in ("cap_add", "environment"):
        assert mine["services"]["a"][key] == docker["services"]["a"][key]
    assert list(mine["services"]["a"]["depends_on"]) == ["b"]
