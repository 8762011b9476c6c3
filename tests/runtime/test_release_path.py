"""The release path of the real Phoenix stack, end to end on a real registry process and
real podman: build -> promote (development -> staging -> prod) -> up -> plan -> change ->
a broken release rolled back -> rollback by hand -> a missing digest -> down."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import tempfile
import urllib.request
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, argv_gpg, commands
from phoenix_compose.runtime.edgeproc import Edge
from phoenix_compose.runtime.registry import Registry
from phoenix_compose.statedir import StateDir

from support import free_port, inv
from support.edgeload import Load

pytestmark = [pytest.mark.podman, pytest.mark.slow]

SERVICES = ("revenue-db", "phoenix-core", "nca-toolkit")
BROKEN = "localhost/phoenix/phoenix-core:broken"


def lock(root: Path, env: str) -> dict[str, str]:
    lines = (root / "envs" / f"{env}.lock").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def ids(project: str) -> dict[str, str]:
    names = commands.run(argv.labelled("container", project)).stdout.split()
    return {d["Name"].lstrip("/"): d["Id"]
            for d in json.loads(commands.run(argv.inspect(*names)).stdout)} if names else {}


def sql(project: str, statement: str) -> str:
    return commands.run(argv.exec_(f"{project}_revenue-db_1", ["psql", "-U", "phoenix", "-d",
                                                             "revenue", "-Atc", statement],
                                 tty=False), timeout=60).stdout.strip()


def health(port: int, path: str = "/health", ca: str = "") -> dict:
    """GET over HTTPS, verifying the chain against the CA certificate ``ca`` (PEM)."""
    context = ssl.create_default_context(cadata=ca)
    with urllib.request.urlopen(f"https://127.0.0.1:{port}{path}", timeout=10,
                                context=context) as response:
        return json.loads(response.read())


def core_load(env: dict[str, str], project: str) -> Load:
    """4 clients, each a GET of / every 20 ms over HTTPS through phoenix-core's published
    port (the edge's, in prod: 2 replicas), verifying the chain.  Not /health: it looks
    revenue-db up and connects on every request, and during a start-first swap on podman
    4.3 (CNI) that lookup failed twice ("Name or service not known": a 503 from a running
    replica, not a request the edge dropped; docs/guide/edge.md, "Not yet")."""
    ca = commands.run(argv.exec_(f"{project}_phoenix-core_1",
                               ["cat", "/run/secrets/tls_ca.crt"])).stdout
    load = Load(int(env["PHOENIX_CORE_PORT"]), path="/",
                context=ssl.create_default_context(cadata=ca))
    load.wait_for(40)
    return load


def statuses(root: Path, env: dict[str, str]) -> dict[str, str]:
    rows = json.loads(inv(root, "status", "--env", "prod", "--json", env=env).stdout)
    return {r["service"]: r["status"] for r in rows}


@pytest.fixture
def phoenix_stack(phoenix_stack: Path):
    """The real stack moved to a short path: the edge's admin socket, in
    ``.phoenix/prod/edge/``, must fit HAProxy's 97 bytes (pytest's tmp_path is too deep)."""
    short = Path(tempfile.mkdtemp(prefix="prel-", dir="/tmp"))
    shutil.copytree(phoenix_stack, short / "s")
    yield short / "s"
    Edge(StateDir(short / "s", "prod")).stop()  # a test that failed before `down` left it
    shutil.rmtree(short, ignore_errors=True)


@pytest.fixture
def release_env(phoenix_stack: Path, podman_project: str):
    """The process environment of every step: its own registry, project and ports; its own
    podman secrets (PHOENIX_SECRETS_PREFIX), pass-encrypted with a key of its own."""
    address = f"127.0.0.1:{free_port()}"
    home = Path(tempfile.mkdtemp(prefix="pgpg-", dir="/tmp"))  # short: gpg's socket path
    env = {"PHOENIX_REGISTRY": address, "COMPOSE_PROJECT_NAME": podman_project,
           "PHOENIX_CORE_PORT": str(free_port()), "NCA_TOOLKIT_PORT": str(free_port()),
           "PHOENIX_SECRETS_GNUPGHOME": str(home)}
    prod = phoenix_stack / "envs" / "prod.env"
    prod.write_text(prod.read_text() + f"PHOENIX_SECRETS_PREFIX={podman_project}\n")
    yield env
    inv(phoenix_stack, "registry.down", "--address", address, env=env)
    for image in [f"{address}/phoenix/{s}:{v}" for s in SERVICES for v in ("v1", "v2")] + [
            BROKEN]:
        commands.run(argv.untag(image), ok_codes=(0, 1, 2, 125))
    mine = [n for n in commands.run(argv.secret_names()).stdout.split()
            if n.startswith(f"{podman_project}_")]
    if mine:
        commands.run(argv.secret_remove(*mine))
    commands.run(argv_gpg.stop_agent(str(home)), ok_codes=(0, 1, 2))
    shutil.rmtree(home, ignore_errors=True)


def step(root: Path, env: dict[str, str], *args: str, code: int = 0, timeout: float = 600):
    done = inv(root, *args, env=env, timeout=timeout)
    assert done.returncode == code, f"inv {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    return done


def test_build_promote_plan_up_change_roll_back(openbao: dict, phoenix_stack: Path,
                                               release_env: dict, podman_project: str) -> None:
    """(openbao first: it is stopped last, after the secrets it holds are removed)"""
    root, env = phoenix_stack, release_env
    step(root, env, "registry.up", "--address", env["PHOENIX_REGISTRY"])
    step(root, env, "images.build", "--env", "development", timeout=1800)
    pinned = promote_twice(root, env)
    first_release(root, env, podman_project)
    rotate_db_password(root, env, podman_project)
    on_openbao(root, env, podman_project, openbao)
    second_release(root, env, podman_project)
    broken_release(root, env, podman_project)

    # by hand, back to release 1
    core = f"{podman_project}_phoenix-core_1"
    back = step(root, env, "rollback", "--env", "prod", "--to", "1", "--timeout", "180")
    assert "prod: rolled back to release 1" in back.stdout
    assert "RELEASE_NOTE" not in commands.run(argv.inspect(core)).stdout
    assert sql(podman_project, "SELECT amount FROM revenue") == "42"
    drift = inv(root, "secrets.rotate", "revenue_db_password", "--env", "prod", env=env,
                stdin="never-stored")
    assert drift.returncode == 1 and "differs from what runs" in drift.stderr

    # a digest the registry does not have: nothing is created or replaced
    held = ids(podman_project)
    text = (root / "envs" / "prod.lock").read_text()
    gone = pinned["NCA_TOOLKIT_IMAGE"].split("@")[0] + "@sha256:" + "0" * 64
    (root / "envs" / "prod.lock").write_text(
        text.replace(lock(root, "prod")["NCA_TOOLKIT_IMAGE"], gone))
    missing = step(root, env, "up", "--env", "prod", code=3)
    assert "cannot be pulled" in missing.stderr and "(nothing had changed)" in missing.stderr
    assert ids(podman_project) == held

    step(root, env, "down", "--env", "prod")
    assert ids(podman_project) == {}
    step(root, env, "registry.down", "--address", env["PHOENIX_REGISTRY"])
    assert not Registry(root, env["PHOENIX_REGISTRY"]).answers()


def promote_twice(root: Path, env: dict[str, str]) -> dict[str, str]:
    """development -> staging -> prod: the same digests, which the registry serves."""
    step(root, env, "images.promote", "--from", "development", "--to", "staging",
         "--tag", "v1", timeout=1800)
    step(root, env, "images.promote", "--from", "staging", "--to", "prod", "--tag", "v1")
    pinned = lock(root, "prod")
    assert pinned == lock(root, "staging") and len(pinned) == 3
    registry = Registry(root, env["PHOENIX_REGISTRY"])
    for image in pinned.values():
        assert image.startswith(f"{env['PHOENIX_REGISTRY']}/phoenix/")
        commands.run(argv.pull(image), env=registry.env(), timeout=600)
        assert image in json.loads(commands.run(argv.image_digests(image)).stdout)
    return pinned


def first_release(root: Path, env: dict[str, str], project: str) -> None:
    """prod comes up healthy with pass-encrypted podman secrets and answers; again, nothing
    is planned and nothing moves."""
    step(root, env, "config.validate", "--env", "prod")
    missing = step(root, env, "up", "--env", "prod", code=1)
    assert "inv secrets.set revenue_db_password --env prod" in missing.stderr
    for name, value in (("revenue_db_password", "prod-test-only"),
                        ("windmill_database_url", "postgres://phoenix@revenue-db/revenue")):
        done = inv(root, "secrets.set", name, "--env", "prod", env=env, stdin=value)
        assert done.returncode == 0, done.stderr
    listed = json.loads(step(root, env, "secrets.list", "--env", "prod", "--json").stdout)
    assert {s["name"]: s["driver"] for s in listed if s["exists"]} == {
        "revenue_db_password": "pass", "windmill_database_url": "pass"}
    missing = step(root, env, "up", "--env", "prod", code=1)
    assert f"{project}_tls_ca_crt (used by nca-toolkit, phoenix-core)" in missing.stderr
    assert "TLS certificates: inv certs.init --env prod" in missing.stderr
    step(root, env, "certs.init", "--env", "prod")
    first = step(root, env, "up", "--env", "prod", "--timeout", "180")
    assert ("production environment 'prod' runs rootful" in first.stderr) == (
        os.geteuid() == 0)
    assert statuses(root, env) == dict.fromkeys(SERVICES, "healthy")
    assert sorted(n for n in ids(project) if "_phoenix-core_" in n) == [
        f"{project}_phoenix-core_1", f"{project}_phoenix-core_2"]  # behind the edge (TCP)
    ca = commands.run(argv.exec_(f"{project}_phoenix-core_1",
                               ["cat", "/run/secrets/tls_ca.crt"])).stdout
    core, toolkit = int(env["PHOENIX_CORE_PORT"]), int(env["NCA_TOOLKIT_PORT"])
    assert health(core, ca=ca)["checks"] == {"postgres://revenue-db:5432": "ok"}
    assert health(core, "/", ca=ca)["env"] == "prod"
    assert health(toolkit, ca=ca)["checks"] == {"https://phoenix-core:8080/health": "ok"}
    with pytest.raises(OSError):  # plain HTTP gets no answer in prod
        urllib.request.urlopen(f"http://127.0.0.1:{core}/health", timeout=10)
    sql(project, "CREATE TABLE revenue (amount int); INSERT INTO revenue VALUES (42)")
    db = json.loads(commands.run(argv.inspect(f"{project}_revenue-db_1")).stdout)[0]
    assert db["HostConfig"]["ReadonlyRootfs"] is True
    inspected = json.loads(commands.run(argv.inspect(f"{project}_phoenix-core_1")).stdout)[0]
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True  # the production overlay, running
    assert "no-new-privileges" in inspected["HostConfig"]["SecurityOpt"]
    assert "CAP_SYS_CHROOT" in inspected["HostConfig"]["CapDrop"]
    before = ids(project)
    step(root, env, "plan", "--env", "prod")
    again = step(root, env, "up", "--env", "prod")
    assert "prod: nothing to change" in again.stdout and ids(project) == before


def rotate_db_password(root: Path, env: dict[str, str], project: str) -> None:
    """The worked example: the role's password changes with the secret (x-phoenix-rotate),
    the consumers are recreated, and the new value authenticates over TCP."""
    done = inv(root, "secrets.rotate", "revenue_db_password", "--env", "prod", env=env,
               stdin="rotated-prod-test", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "hook ran in revenue-db; recreated: revenue-db, phoenix-core" in done.stdout
    assert statuses(root, env) == dict.fromkeys(SERVICES, "healthy")
    login = commands.run(argv.exec_(f"{project}_revenue-db_1", [
        "sh", "-c", "PGPASSWORD=$(cat /run/secrets/revenue_db_password) psql -h 127.0.0.1 "
                    "-U phoenix -d revenue -Atc 'SELECT amount FROM revenue'"]), timeout=60)
    assert login.stdout.strip() == "42"
    assert "rotated-prod-test" not in done.stdout + done.stderr


def on_openbao(root: Path, env: dict[str, str], project: str, openbao: dict) -> None:
    """prod switched to OpenBao-backed secrets (the shell driver): a rotation stores the
    new value there and recreates the consumers, which look it up from OpenBao; the TLS
    certificates are renewed into OpenBao, and the whole stack comes up again from it
    (release 2)."""
    bao = {**env, "PHOENIX_SECRETS_DRIVER": "shell", "VAULT_ADDR": openbao["addr"],
           "VAULT_TOKEN_FILE": str(openbao["token_file"])}
    done = inv(root, "secrets.rotate", "revenue_db_password", "--env", "prod", env=bao,
               stdin="from-openbao-prod", timeout=300)
    assert done.returncode == 0, done.stderr
    url = inv(root, "secrets.set", "windmill_database_url", "--env", "prod", env=bao,
              stdin="postgres://phoenix@revenue-db/revenue")
    assert url.returncode == 0, url.stderr
    renewed = step(root, bao, "certs.init", "--env", "prod", "--force")  # into OpenBao
    assert renewed.stdout.strip().endswith("recreated: phoenix-core, nca-toolkit")
    assert statuses(root, bao) == dict.fromkeys(SERVICES, "healthy")  # on the new chain
    listed = json.loads(step(root, bao, "secrets.list", "--env", "prod", "--json").stdout)
    assert {s["driver"] for s in listed} == {"shell"}
    step(root, bao, "down", "--env", "prod")  # and the whole stack up again from OpenBao
    step(root, bao, "up", "--env", "prod", "--timeout", "180")
    assert statuses(root, bao) == dict.fromkeys(SERVICES, "healthy")
    ca = commands.run(argv.exec_(f"{project}_phoenix-core_1",
                               ["cat", "/run/secrets/tls_ca.crt"])).stdout
    assert health(int(env["NCA_TOOLKIT_PORT"]), ca=ca)["status"] == "ok"  # the new chain
    login = commands.run(argv.exec_(f"{project}_revenue-db_1", [
        "sh", "-c", "PGPASSWORD=$(cat /run/secrets/revenue_db_password) psql -h 127.0.0.1 "
                    "-U phoenix -d revenue -Atc 'SELECT amount FROM revenue'"]), timeout=60)
    assert login.stdout.strip() == "42"


def second_release(root: Path, env: dict[str, str], project: str) -> None:
    """One service's environment changed: it is recreated, its restart: true dependent
    restarted, the database untouched."""
    before = ids(project)
    services = root / "compose" / "10-services.yaml"
    services.write_text(services.read_text().replace(
        "      PHOENIX_SERVICE: phoenix-core\n",
        "      PHOENIX_SERVICE: phoenix-core\n      RELEASE_NOTE: two\n"))
    shown = step(root, env, "plan", "--env", "prod", "--json", code=2)
    assert {s["service"]: s["change"] for s in json.loads(shown.stdout)["services"]} == {
        "revenue-db": "unchanged", "phoenix-core": "recreate", "nca-toolkit": "restart"}
    load = core_load(env, project)  # phoenix-core: 2 replicas, start-first, behind the edge
    step(root, env, "up", "--env", "prod", "--timeout", "180")
    load.wait_for(40)
    load.stop()
    assert load.failures == [], load.failures[:5]
    after = ids(project)
    db, core, toolkit = (f"{project}_{s}_1" for s in SERVICES)
    assert after[db] == before[db] and after[toolkit] == before[toolkit]
    assert after[core] != before[core] and after[f"{core[:-1]}2"] != before[f"{core[:-1]}2"]


def broken_release(root: Path, env: dict[str, str], project: str) -> None:
    """A promoted image whose healthcheck fails: up exits 3 and release 3 runs again,
    healthy, with the rows written before."""
    (root / "broken").mkdir()
    (root / "broken" / "Containerfile").write_text(
        f"FROM {lock(root, 'prod')['PHOENIX_CORE_IMAGE']}\nUSER root\n"
        "RUN rm /app/healthcheck.py\nUSER phoenix\n")
    commands.run(argv.build(BROKEN, str(root / "broken"), str(root / "broken" / "Containerfile"),
                          [], False), timeout=600)
    step(root, {**env, "PHOENIX_CORE_IMAGE": BROKEN}, "images.promote", "--from",
         "development", "--to", "prod", "--tag", "v2")
    held = ids(project)
    load = core_load(env, project)
    failed = step(root, env, "up", "--env", "prod", "--timeout", "45", code=3)
    load.wait_for(40)
    load.stop()
    assert load.failures == [], load.failures[:5]  # the broken replicas never got traffic
    # start-first: the old replicas were never stopped, so the rollback recreated nothing
    assert "rolled back to release 3 (nothing had changed)" in failed.stderr
    assert ids(project) == held
    assert statuses(root, env) == dict.fromkeys(SERVICES, "healthy")
    assert sql(project, "SELECT amount FROM revenue") == "42"
    assert "RELEASE_NOTE=two" in commands.run(argv.inspect(f"{project}_phoenix-core_1")).stdout
