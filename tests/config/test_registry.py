"""PHOENIX_REGISTRY is parsed as a loopback HOST:PORT: anything else is a located error at
the env-file line that set it, before any registry file is written; the files written
from a valid address are YAML and TOML built from data."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.pipeline import build
from phoenix_compose.config.registry import Address, parse_address
from phoenix_compose.errors import ComposeRuntimeError, ConfigurationError
from phoenix_compose.runtime.registry import Registry, config_text, registries_text

from support import REPO
from support.inprocess import inv

# A line break that, spliced into the registry's YAML, opened its debug server on every
# interface; and a quote that, spliced into registries.conf, added a mirror rule for pulls.
DEBUG = "127.0.0.1:5000\n  debug: {addr: '0.0.0.0:5001'}"
MIRROR = '127.0.0.1:5000"\n[[registry]]\nprefix = "docker.io/library"\nlocation = "evil.test'


@pytest.mark.parametrize("text, host, port", [
    ("127.0.0.1:5000", "127.0.0.1", 5000), ("127.3.2.1:1", "127.3.2.1", 1),
    ("localhost:65535", "localhost", 65535), ("[::1]:5000", "[::1]", 5000)])
def test_a_loopback_host_and_a_numeric_port_are_an_address(text, host, port) -> None:
    assert parse_address(text) == Address(host, port)
    assert str(parse_address(text)) == text


@pytest.mark.parametrize("text", [
    "127.0.0.1:3250x", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
    "127.0.0.1: 5000", "0.0.0.0:5000", "10.0.0.1:5000", "[::]:5000", "[::2]:5000",
    "127.0.0.1.evil.test:5000", "127.000.0.1:5000", "evil.test:5000", "127.0.0.1:5000/x",
    DEBUG, MIRROR, "127.0.0.1:5000\x00", ""])
def test_anything_else_is_refused(text) -> None:
    with pytest.raises(ValueError) as info:
        parse_address(text)
    assert "\n" not in str(info.value) and "\x00" not in str(info.value)


def stack(make_stack, value: str) -> Path:
    return make_stack({
        "envs/common.env": f"# shared\nLOG_LEVEL=info\nPHOENIX_REGISTRY={value}\n",
        "envs/development.env": "",
        "compose/a.yaml": "services:\n  web: {image: 'nginx:1'}\n"})


def test_config_validate_reports_a_typo_at_the_env_file_line(make_stack) -> None:
    root = stack(make_stack, "127.0.0.1:3250x")
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "development", {}))
    (problem,) = info.value.problems
    assert str(problem).startswith("envs/common.env:3:1: error: PHOENIX_REGISTRY: "
                                   "'127.0.0.1:3250x' is not HOST:PORT with a loopback HOST")


def test_a_value_from_the_process_environment_says_so(make_stack) -> None:
    root = stack(make_stack, "127.0.0.1:5000")
    with pytest.raises(ConfigurationError) as info:
        build(load_environment(root, "development", {"PHOENIX_REGISTRY": "0.0.0.0:5000"}))
    assert "PHOENIX_REGISTRY (set in the process environment): the host of '0.0.0.0:5000' " \
           "is not a loopback address" in str(info.value)


def test_a_valid_address_validates(make_stack) -> None:
    built = build(load_environment(stack(make_stack, "localhost:5001"), "development", {}))
    assert "web" in built.model["services"]


@pytest.mark.parametrize("task", ["registry.up", "registry.status", "registry.down"])
@pytest.mark.parametrize("value", ["127.0.0.1:3250x", '"' + DEBUG.replace("\n", "\\n") + '"',
                                   "'" + MIRROR.replace("\n", " ") + "'"])
def test_the_registry_tasks_give_the_located_error_and_write_nothing(
        make_stack, task, value) -> None:
    root = stack(make_stack, value)
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    done = inv(root, task, "--env", "development")
    assert done.returncode == 1, done.stdout + done.stderr
    assert done.stderr.startswith("envs/common.env:3:1: error: PHOENIX_REGISTRY: ")
    assert "Traceback" not in done.stderr
    assert len(done.stderr.splitlines()) == 2  # the error and its hint: no raw line break
    assert not (root / ".phoenix" / "registry").exists()


def test_an_address_option_that_is_not_loopback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="'0.0.0.0:5999' is not a loopback"):
        Registry(tmp_path, "0.0.0.0:5999")
    assert not (tmp_path / ".phoenix").exists()


def test_the_files_are_built_from_data(tmp_path: Path) -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    address = parse_address("[::1]:5000")
    config = yaml.safe_load(config_text(tmp_path / "it's data", address))
    assert config["http"] == {"addr": "[::1]:5000",
                              "headers": {"X-Content-Type-Options": ["nosniff"]}}
    assert config["storage"]["filesystem"] == {"rootdirectory": str(tmp_path / "it's data")}
    assert config["version"] == "0.1"
    assert tomllib.loads(registries_text(address)) == {
        "registry": [{"location": "[::1]:5000", "insecure": True}]}


def test_promotion_through_an_ipv6_registry_is_refused_clearly(make_stack) -> None:
    from phoenix_compose.runtime.promote import promote

    root = stack(make_stack, "[::1]:5000")
    (root / "envs" / "staging.env").write_text("")
    with pytest.raises(ComposeRuntimeError, match=r"podman cannot name an image on \[::1\]"):
        promote(root, "development", "staging", run=None, report=None)  # type: ignore[arg-type]
    assert not (root / "envs" / "staging.lock").exists()
