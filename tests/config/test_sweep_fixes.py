"""Disagreements with docker compose found by sweeping ~470 public compose files
(issue 25): each fixed rule on the smallest file that showed it.  docker compose v2.40's
answers (``config --format json``) are written next to each."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from phoenix_compose import api
from phoenix_compose.errors import ConfigurationError


def _load(tmp_path: Path, text: str, variables: dict[str, str] | None = None) -> dict:
    (tmp_path / "compose.yaml").write_text(text, encoding="utf-8")
    return api.load_project([tmp_path / "compose.yaml"], variables or {}, validate=True)


def test_an_empty_image_with_a_build_is_no_image(tmp_path) -> None:
    # docker/compose pkg/e2e/testdata/TestBuildTags: `image: ${TAG}` unset; compose builds
    (tmp_path / "Dockerfile").write_text("FROM alpine\n", encoding="utf-8")
    model = _load(tmp_path, "services: {a: {image: '${TAG}', build: .}}\n")
    assert "image" not in model["services"]["a"]


def test_an_empty_image_without_a_build_is_still_refused(tmp_path) -> None:
    with pytest.raises(ConfigurationError, match="neither an image nor a build"):
        _load(tmp_path, "services: {a: {image: '${TAG}'}}\n")


def test_a_provider_service_needs_no_image(tmp_path) -> None:
    # docker/compose pkg/e2e/testdata/TestProviderStopHook: compose accepts it
    model = _load(tmp_path, "services:\n  a: {image: x, depends_on: [p]}\n"
                            "  p: {provider: {type: example, options: {size: 1}}}\n")
    assert model["services"]["p"]["provider"] == {"type": "example", "options": {"size": 1}}


@pytest.mark.parametrize("section", ["networks", "volumes"])
def test_an_empty_resource_name_is_its_key(tmp_path, section) -> None:
    # docker/compose pkg/e2e/testdata/TestUpSwitchVolumes: `name: ${EXTERNAL_VOLUME}` unset
    model = _load(tmp_path, f"services: {{a: {{image: x}}}}\n"
                            f"{section}: {{v: {{external: true, name: '${{UNSET}}'}}}}\n")
    assert model[section]["v"] == {"external": True}


def test_a_set_resource_name_is_kept(tmp_path) -> None:
    model = _load(tmp_path, "services: {a: {image: x}}\nvolumes: {v: {name: '${N}'}}\n",
                  {"N": "data"})
    assert model["volumes"]["v"]["name"] == "data"


@pytest.mark.parametrize(("command", "words"), [
    # nextcloud/all-in-one php/tests/compose.yaml: compose runs `node app.mjs 8090`
    ("node app.mjs 8090 2>&1", ["node", "app.mjs", "8090"]),
    ("a b;c", ["a", "b"]), ("a && b", ["a"]), ("a|b", ["a"]), ("x >out", ["x"]),
    ("sh -c 'a && b' | c", ["sh", "-c", "a && b"]), ("echo $(x y) z", ["echo", "$(x y)", "z"]),
    ("echo `a b` c", ["echo", "`a b`", "c"]),
])
def test_a_command_stops_at_an_unquoted_operator_as_in_compose(tmp_path, command,
                                                               words) -> None:
    model = _load(tmp_path, f"services: {{a: {{image: x, command: {json.dumps(command)}}}}}\n")
    assert model["services"]["a"]["command"] == words


def test_a_command_without_an_operator_stays_a_string(tmp_path) -> None:
    model = _load(tmp_path, "services: {a: {image: x, entrypoint: \"sh -c 'a && b'\"}}\n")
    assert model["services"]["a"]["entrypoint"] == "sh -c 'a && b'"


def test_a_pre_start_hook_is_refused_as_docker_compose_refuses_it(tmp_path) -> None:
    # docker/compose pkg/e2e/testdata/TestPreStartHook*: "additional properties
    # 'pre_start' not allowed" (compose 2.40), though the newer schema we vendor has it
    with pytest.raises(ConfigurationError, match=r"compose.yaml:4:5: error: .*'pre_start'"):
        _load(tmp_path, "services:\n  a:\n    image: x\n    pre_start: [{command: [id]}]\n")


def test_a_windows_absolute_bind_source_stays_as_written(tmp_path) -> None:
    # compose-go cli/testdata/simple/compose-with-paths.yaml: `source: C:\docker\project`
    model = _load(tmp_path, "services:\n  a:\n    image: x\n    volumes:\n"
                            "      - {type: bind, source: 'C:\\docker\\project', target: /t}\n")
    assert model["services"]["a"]["volumes"][0]["source"] == "C:\\docker\\project"


@pytest.mark.parametrize("command", ["a (b", "a b)", "f(x)", "a 'b", 'a "b', "a\\"])
def test_a_command_docker_compose_cannot_split_is_refused(tmp_path, command) -> None:
    # docker compose: "'services[a].command' invalid command line string"
    with pytest.raises(ConfigurationError, match=r"compose.yaml:1:\d+: error: invalid command"):
        _load(tmp_path, f"services: {{a: {{image: x, command: {json.dumps(command)}}}}}\n")


def test_an_env_file_of_format_raw_is_refused_at_its_line(tmp_path) -> None:
    # a Haxxnet example: docker compose keeps A's quotes; podman-compose would remove them
    (tmp_path / "e.env").write_text("A='1'\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        _load(tmp_path, "services:\n  a:\n    image: x\n    env_file:\n"
                        "      - path: e.env\n        format: raw\n")
    text = str(caught.value)
    assert "compose.yaml:6:17: error: env file " in text
    assert "e.env of service 'a' is format: raw" in text
    assert _load(tmp_path, "services:\n  a:\n    image: x\n    env_file:\n"
                           "      - path: e.env\n")["services"]["a"]["env_file"]


@pytest.mark.parametrize("fmt", ["yaml", "RAW", "raw ", "dot\\x1benv"])
def test_an_env_file_of_an_unknown_format_is_refused_at_its_line(tmp_path, fmt) -> None:
    """compose-go knows dotenv (or none) and raw: any other format is 'unsupported env_file
    format'; podman-compose would read it as dotenv."""
    (tmp_path / "e.env").write_text("A=1\n", encoding="utf-8")
    with pytest.raises(ConfigurationError) as caught:
        _load(tmp_path, "services:\n  a:\n    image: x\n    env_file:\n"
                        f"      - path: e.env\n        format: \"{fmt}\"\n")
    text = str(caught.value)
    assert "compose.yaml:6:18: error: env file " in text and "unsupported format" in text
    assert "\x1b" not in text
    for fine in ("dotenv", ""):
        assert _load(tmp_path, "services:\n  a:\n    image: x\n    env_file:\n"
                               f"      - path: e.env\n        format: '{fine}'\n")


@pytest.mark.parametrize("hook", ["post_start", "pre_stop"])
def test_a_lifecycle_hook_podman_compose_never_runs_is_refused(tmp_path, hook) -> None:
    """docker compose runs post_start/pre_stop; podman-compose 1.6 and phoenix run none:
    accepted, the hook would silently never run (as pre_start's refusal says)."""
    with pytest.raises(ConfigurationError, match=rf"compose.yaml:4:5: error: .*the {hook} "
                                                 "hook is not supported"):
        _load(tmp_path, f"services:\n  a:\n    image: x\n    {hook}:\n"
                        "      - command: [echo, hi]\n")
