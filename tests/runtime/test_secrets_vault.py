"""Secrets in OpenBao (Vault KV v2) through podman's shell driver and our script, on a real
`bao server -dev` the test starts on 127.0.0.1 and stops."""

from __future__ import annotations

import hashlib
import json
import subprocess

import pytest

from phoenix_compose.runtime import argv, commands

from support import REPO, inv

pytestmark = pytest.mark.podman

VALUE = "from-openbao-" + "7c1e"


def test_secrets_live_in_openbao_and_reach_the_container(make_stack, podman_project,
                                                         busybox_image, openbao,
                                                         monkeypatch) -> None:
    env = podman_project
    digest = hashlib.sha256(VALUE.encode()).hexdigest()
    # the operator's settings (the process environment), never the stack's env files
    monkeypatch.setenv("PHOENIX_SECRETS_DRIVER", "shell")
    monkeypatch.setenv("VAULT_ADDR", openbao["addr"])
    monkeypatch.setenv("VAULT_TOKEN_FILE", str(openbao["token_file"]))
    root = make_stack({
        f"envs/{env}.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
        "compose/app.yaml": f"""
            services:
              app:
                image: {busybox_image}
                command: [sh, -c, 'exec sleep 1d']
                stop_grace_period: 1s
                secrets: [{{source: {env}_token, target: token, mode: 0400}}]
                healthcheck:
                  test: [CMD, sh, -c, 'sha256sum /run/secrets/token | grep -q ^{digest}']
                  interval: 30s
                  start_interval: 1s
            secrets:
              {env}_token: {{external: true}}
            """})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    try:
        done = inv(root, "secrets.set", "token", "--env", env, stdin=VALUE)
        assert done.returncode == 0, done.stderr
        listed = json.loads(inv(root, "secrets.list", "--env", env, "--json").stdout)
        assert listed[0]["driver"] == "shell"
        secret_id = json.loads(commands.run(argv.secret_inspect(f"{env}_token")).stdout)[0]["ID"]
        stored = subprocess.run([openbao["cli"], "kv", "get", "-mount=secret", "-field=value",
                                 f"phoenix/{secret_id}"], env=openbao["env"],
                                capture_output=True, text=True)
        assert stored.stdout == VALUE  # in OpenBao, under podman's id
        assert not list((root / ".phoenix").rglob("secrets"))  # nothing of it on our disk
        up = inv(root, "up", "--env", env)
        assert up.returncode == 0, up.stderr  # looked up from OpenBao at creation
        assert VALUE not in commands.run(argv.inspect(f"{podman_project}_app_1")).stdout
        assert inv(root, "down", "--env", env).returncode == 0
        assert inv(root, "secrets.rm", "token", "--env", env).returncode == 0
        gone = subprocess.run([openbao["cli"], "kv", "get", "-mount=secret",
                               f"phoenix/{secret_id}"], env=openbao["env"],
                              capture_output=True, text=True)
        assert gone.returncode != 0  # deleted from OpenBao too
    finally:
        names = commands.run(argv.secret_names()).stdout.split()
        if f"{env}_token" in names:
            commands.run(argv.secret_remove(f"{env}_token"), ok_codes=(0, 125))


def test_the_shell_driver_needs_its_address_and_token_file(make_stack, podman_project,
                                                           monkeypatch) -> None:
    env = podman_project
    monkeypatch.setenv("PHOENIX_SECRETS_DRIVER", "shell")
    for name in ("VAULT_ADDR", "VAULT_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    root = make_stack({f"envs/{env}.env": "VAULT_ADDR=http://127.0.0.1:1\n",
                       "compose/app.yaml": f"services: {{app: {{image: x:1, secrets: "
                                           f"[{env}_token]}}}}\nsecrets: {{{env}_token: "
                                           "{external: true}}\n"})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    done = inv(root, "secrets.set", "token", "--env", env, stdin="x")
    assert done.returncode == 1
    assert "needs VAULT_ADDR, VAULT_TOKEN_FILE" in done.stderr
