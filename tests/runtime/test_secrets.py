"""Podman secrets as the store, on real podman: set from stdin, list, delivery as an owned
0400 file, the check before up, removal refused while in use, the pass driver encrypting
at rest, and a value that never leaks into any output, file, log or inspect of ours."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, argv_gpg, commands

from support import REPO, inv

pytestmark = pytest.mark.podman

CANARY = "canary-9f3b2c-never-printed"
DIGEST = hashlib.sha256(CANARY.encode()).hexdigest()  # the check compares this, not the value


def compose(image: str, env: str) -> str:
    return f"""
services:
  app:
    image: {image}
    user: "1234:1234"
    command: [sh, -c, 'exec sleep 1d']
    stop_grace_period: 1s
    environment: {{TOKEN_FILE: /run/secrets/token}}
    secrets:
      - {{source: {env}_token, target: token, uid: "1234", gid: "1234", mode: 0400}}
    healthcheck:
      test: [CMD, sh, -c, 'sha256sum /run/secrets/token | grep -q ^{DIGEST}']
      interval: 30s
      start_interval: 1s
secrets:
  {env}_token: {{external: true}}
"""


@pytest.fixture
def stack(make_stack, podman_project: str, busybox_image: str):
    """Env ``<project>`` (its secrets are ``<project>_*`` in podman: nothing shared)."""
    root = make_stack({f"envs/{podman_project}.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": compose(busybox_image, podman_project)})
    (root / "tasks.py").write_text((REPO / "tasks.py").read_text())
    yield root
    names = commands.run(argv.secret_names()).stdout.split()
    mine = [n for n in names if n.startswith(f"{podman_project}_")]
    if mine:
        commands.run(argv.secret_remove(*mine))


def test_a_missing_secret_stops_up_before_anything_is_created(stack, podman_project) -> None:
    up = inv(stack, "up", "--env", podman_project)
    assert up.returncode == 1
    assert f"secret(s) missing from podman: {podman_project}_token (used by app)" in up.stderr
    assert f"inv secrets.set token --env {podman_project}" in up.stderr
    assert commands.run(argv.labelled("container", podman_project)).stdout.split() == []


def test_set_list_deliver_and_never_leak(stack, podman_project) -> None:
    env = podman_project
    outputs = []
    done = inv_in(stack, outputs, "secrets.set", "token", "--env", env, stdin=CANARY)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{env}: secret token stored as podman secret {env}_token"
    listed = json.loads(inv_in(stack, outputs, "secrets.list", "--env", env, "--json").stdout)
    assert [(s["name"], s["exists"], s["driver"], s["consumers"]) for s in listed] == [
        ("token", True, "file", ["app"])]
    up = inv_in(stack, outputs, "up", "--env", env)
    assert up.returncode == 0, up.stderr  # the healthcheck compared the value
    container = f"{podman_project}_app_1"
    owner = commands.run(argv.exec_(container, ["stat", "-c", "%u %g %a", "/run/secrets/token"]))
    assert owner.stdout.strip() == "1234 1234 400"
    for args in (("status", "--env", env), ("plan", "--env", env), ("config.show", "--env", env),
                 ("logs", "--env", env), ("releases", "--env", env), ("vscode.tasks",),
                 ("secrets.list", "--env", env), ("health.check", "--env", env),
                 ("health.watch", "--env", env, "--once", "--json")):
        inv_in(stack, outputs, *args)
    inspected = commands.run(argv.inspect(container)).stdout
    assert "TOKEN_FILE=/run/secrets/token" in inspected
    written = [p.read_text(errors="replace") for p in (stack / ".phoenix").rglob("*")
               if p.is_file()] + [(stack / ".vscode" / "tasks.json").read_text()]
    assert (stack / ".phoenix" / env / "events.jsonl").is_file()  # the watcher's events too
    leaks = [text for text in outputs + written + [inspected] if CANARY in text]
    assert leaks == []
    busy = inv(stack, "secrets.rm", "token", "--env", env)
    assert busy.returncode == 1 and "in use by running service(s): app" in busy.stderr
    forced = inv(stack, "secrets.rm", "token", "--env", env, "--force")
    assert forced.returncode == 0, forced.stderr
    assert f"{env}_token" not in commands.run(argv.secret_names()).stdout.split()
    inv(stack, "down", "--env", env)


def test_the_pass_driver_keeps_the_value_encrypted_at_rest(stack, podman_project) -> None:
    env = podman_project
    home = Path(tempfile.mkdtemp(prefix="pgpg-", dir="/tmp"))  # short: gpg's socket path
    extra = {"PHOENIX_SECRETS_DRIVER": "pass", "PHOENIX_SECRETS_GNUPGHOME": str(home)}
    try:
        done = inv(stack, "secrets.set", "token", "--env", env, env=extra, stdin=CANARY)
        assert done.returncode == 0, done.stderr
        listed = json.loads(inv(stack, "secrets.list", "--env", env, "--json",
                                env=extra).stdout)
        assert listed[0]["driver"] == "pass"
        stored = [p for p in (stack / ".phoenix" / "secrets" / "pass").rglob("*") if
                  p.is_file()]
        assert stored and all(CANARY.encode() not in p.read_bytes() for p in stored)
        up = inv(stack, "up", "--env", env, env=extra)
        assert up.returncode == 0, up.stderr  # decrypted at container creation
        inv(stack, "down", "--env", env, env=extra)
    finally:
        commands.run(argv_gpg.stop_agent(str(home)), ok_codes=(0, 1, 2))
        shutil.rmtree(home, ignore_errors=True)


def test_an_unknown_secret_name_or_driver_is_a_clear_error(stack, podman_project) -> None:
    env = podman_project
    unknown = inv(stack, "secrets.set", "nope", "--env", env, stdin="x")
    assert unknown.returncode == 1
    assert f"environment '{env}' declares no external secret 'nope' (declared: token)" \
        in unknown.stderr
    bad = inv(stack, "secrets.set", "token", "--env", env, stdin="x",
              env={"PHOENIX_SECRETS_DRIVER": "vault"})
    assert bad.returncode == 1 and "PHOENIX_SECRETS_DRIVER=vault" in bad.stderr
    empty = inv(stack, "secrets.set", "token", "--env", env, stdin="")
    assert empty.returncode == 1 and "refusing an empty value" in empty.stderr


def inv_in(root: Path, outputs: list[str], *args: str, stdin: str | None = None,
           timeout: float = 60):
    done = inv(root, *args, stdin=stdin, timeout=timeout)
    outputs += [done.stdout, done.stderr]
    return done


def rotating(image: str, env: str) -> str:
    return f"""
services:
  db:
    image: {image}
    command: [sh, -c, 'exec sleep 1d']
    stop_grace_period: 1s
    volumes: [state:/state]
    secrets: [{{source: {env}_token, target: token}}]
  app:
    image: {image}
    command: [sh, -c, 'exec sleep 1d']
    stop_grace_period: 1s
    depends_on: [db]
    secrets: [{{source: {env}_token, target: token}}]
    healthcheck:
      test: [CMD, grep, -q, ^good, /run/secrets/token]
      interval: 1s
      retries: 1
volumes: {{state: {{}}}}
secrets:
  {env}_token:
    external: true
    x-phoenix-rotate:
      service: db
      command: [sh, -c, 'IFS= read -r old; IFS= read -r new; echo "$$old>$$new" >> /state/log']
"""


def test_rotation_runs_the_hook_recreates_consumers_and_rolls_back_a_failure(
        stack, podman_project, busybox_image) -> None:
    env = podman_project
    (stack / "compose" / "app.yaml").write_text(rotating(busybox_image, env))
    outputs: list[str] = []
    assert inv_in(stack, outputs, "secrets.set", "token", "--env", env,
                  stdin="good-1").returncode == 0
    assert inv_in(stack, outputs, "up", "--env", env).returncode == 0
    db, app = f"{podman_project}_db_1", f"{podman_project}_app_1"
    before = commands.run(argv.inspect(app)).stdout
    done = inv_in(stack, outputs, "secrets.rotate", "token", "--env", env, stdin="good-2")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"{env}: secret token rotated; hook ran in db; "
                                        "recreated: db, app")
    assert commands.run(argv.inspect(app)).stdout != before  # recreated, not restarted
    read = commands.run(argv.exec_(app, ["cat", "/run/secrets/token"])).stdout
    assert read == "good-2"
    failed = inv_in(stack, outputs, "secrets.rotate", "token", "--env", env, stdin="bad-3",
                    timeout=120)
    assert failed.returncode == 1
    assert "rolled back to the previous value (recreated: db, app)" in failed.stderr
    assert commands.run(argv.exec_(app, ["cat", "/run/secrets/token"])).stdout == "good-2"
    log = commands.run(argv.exec_(db, ["cat", "/state/log"])).stdout.split()
    assert log == ["good-1>good-2", "good-2>bad-3", "bad-3>good-2"]
    status = json.loads(inv(stack, "status", "--env", env, "--json").stdout)
    assert {r["service"]: r["status"] for r in status} == {"db": "running", "app": "healthy"}
    assert [o for o in outputs if "good-" in o or "bad-3" in o] == []
    audit = (stack / ".phoenix" / env / "audit.jsonl").read_text()
    assert audit.count('"secrets.rotate"') == 2 and "good-" not in audit
    inv(stack, "down", "--env", env, "--volumes")


def test_a_secret_the_service_cannot_read_fails_up_naming_it(
        stack, podman_project, busybox_image) -> None:
    env = podman_project
    app = stack / "compose" / "app.yaml"
    app.write_text(app.read_text().replace('uid: "1234", gid: "1234", mode: 0400',
                                           'uid: "0", gid: "0", mode: 0400'))
    assert inv(stack, "secrets.set", "token", "--env", env, stdin=CANARY).returncode == 0
    up = inv(stack, "up", "--env", env, "--timeout", "20")
    assert up.returncode == 1
    assert "service 'app' failed" in up.stderr
    check = up.stderr.split("last health check output:")[1].splitlines()[1]
    assert "/run/secrets/token" in check and "Permission denied" in check  # its own words
    assert CANARY not in up.stdout + up.stderr
    inv(stack, "down", "--env", env)


def test_a_missing_driver_is_named_with_what_to_install(stack, podman_project,
                                                        tmp_path) -> None:
    bare = tmp_path / "bare-path"
    bare.mkdir()
    done = inv(stack, "secrets.set", "token", "--env", podman_project, stdin="x",
               env={"PHOENIX_SECRETS_DRIVER": "pass", "PATH": str(bare)})
    assert done.returncode == 1
    assert "the pass secrets driver needs `pass`, which is not installed" in done.stderr
    assert "apt-get install pass gnupg" in done.stderr


def test_the_vault_program_is_the_operators_choice_never_the_repositorys(monkeypatch) -> None:
    """An env file naming PHOENIX_VAULT_CLI would have podman run that program at every
    container creation: only the process environment (the operator) may name it."""
    from phoenix_compose.runtime.secrets import vault_cli, vault_driver

    repo = {"VAULT_ADDR": "http://127.0.0.1:8200", "VAULT_TOKEN_FILE": "/t",
            "PHOENIX_VAULT_CLI": "/tmp/evil"}
    monkeypatch.delenv("PHOENIX_VAULT_CLI", raising=False)
    driver = vault_driver(repo.get, "dev")
    assert all("/tmp/evil" not in command for command in driver.options.values())
    assert all(f"VAULT_CLI={vault_cli()} " in command for command in driver.options.values())
    monkeypatch.setenv("PHOENIX_VAULT_CLI", "/opt/bao")
    assert "VAULT_CLI=/opt/bao " in vault_driver(repo.get, "dev").options["lookup"]
