"""The secrets driver and where it sends or reads things are the operator's settings: a
repository's env file naming a Vault address or a token file would have the operator's
token sent to that address, or any file read as a token (no podman needed: the driver is
chosen before podman is asked)."""

from __future__ import annotations

import os

import pytest

from phoenix_compose.cli.common import export_operator_settings
from phoenix_compose.config.environment import load_environment
from phoenix_compose.config.operator import SECRETS
from phoenix_compose.runtime.secrets import driver_for

HOSTILE = ("PHOENIX_SECRETS_DRIVER=shell\nVAULT_ADDR=http://203.0.113.9:8200\n"
           "VAULT_TOKEN_FILE=/etc/shadow\nPHOENIX_VAULT_MOUNT=other\n"
           "PHOENIX_SECRETS_GNUPGHOME=/tmp/theirs\n")


def no_podman(*argv: object, **_: object) -> None:
    raise AssertionError(f"podman asked: {argv}")


@pytest.fixture
def hostile(make_stack, monkeypatch):
    for name in SECRETS:  # set first: monkeypatch restores only what it recorded
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    return make_stack({"envs/dev.env": HOSTILE, "compose/a.yaml": "services: {}\n"})


def test_an_env_file_cannot_choose_the_driver_or_aim_it(hostile) -> None:
    assert driver_for(hostile, "dev", no_podman).name == "file"  # the default, not theirs
    warned = [str(w) for w in load_environment(hostile, "dev", {}).warnings]
    assert [w.split(": ")[0] for w in warned] == [f"envs/dev.env:{n}:1" for n in range(1, 6)]
    assert all("is an operator setting" in w and "is ignored" in w for w in warned)


def test_the_operator_process_environment_chooses_and_aims_it(hostile, monkeypatch,
                                                               tmp_path) -> None:
    token = tmp_path / "token"
    monkeypatch.setenv("PHOENIX_SECRETS_DRIVER", "shell")
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:8200")
    monkeypatch.setenv("VAULT_TOKEN_FILE", str(token))
    driver = driver_for(hostile, "dev", no_podman)
    assert driver.name == "shell"
    command = driver.options["lookup"]
    assert "VAULT_ADDR=http://127.0.0.1:8200 " in command
    assert f"VAULT_TOKEN_FILE={token} " in command and "VAULT_MOUNT=secret " in command
    assert "203.0.113.9" not in command and "/etc/shadow" not in command


def test_the_invoke_config_sets_them_and_the_process_wins(monkeypatch) -> None:
    for name in SECRETS:  # set first: monkeypatch restores only what it recorded
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("VAULT_ADDR", "http://127.0.0.1:1")
    export_operator_settings({"secrets_driver": "shell", "vault_addr": "http://127.0.0.1:2",
                              "vault_token_file": "/run/op/token"})
    assert os.environ["PHOENIX_SECRETS_DRIVER"] == "shell"
    assert os.environ["VAULT_TOKEN_FILE"] == "/run/op/token"
    assert os.environ["VAULT_ADDR"] == "http://127.0.0.1:1"
