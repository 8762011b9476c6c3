"""The development manifests played by this host's podman (``podman kube play``, 4.3):
Deployments, PVCs, ConfigMaps, Secret env, exec probes and limits; healthy through our
``podman healthcheck run`` driver, answering on their ports, and taken down with no claim
left.  And ``inv deploy.kube-secrets``: Secrets from the env's store, never printed."""

from __future__ import annotations

import base64
import json
import os
import shutil
import stat
import urllib.request
from pathlib import Path

import pytest
import yaml

from phoenix_compose.integrations.kube import manifests
from phoenix_compose.integrations.kubeplay import variant
from phoenix_compose.integrations.kubesecrets import referenced
from phoenix_compose.runtime import argv, commands
from phoenix_compose.runtime.lifecycle import ComposeManager

from support import LIMITS_APPLY, REPO, free_port, inv


def names(kind: str) -> list[str]:
    listing = {"pod": ("podman", "pod", "ps", "--format", "{{.Name}}"),
               "container": ("podman", "ps", "-a", "--format", "{{.Names}}"),
               "volume": ("podman", "volume", "ls", "--format", "{{.Name}}"),
               "secret": argv.secret_names(),
               "network": ("podman", "network", "ls", "--format", "{{.Name}}")}[kind]
    return commands.run(listing, timeout=60).stdout.split()


def test_the_play_variant_is_what_podman_4_3_can_run() -> None:
    stack = ComposeManager(REPO, "development").stack()
    files, _ = manifests(stack, "development")
    docs = variant(files["revenue-db.yaml"], stack.services["revenue-db"], "p", 0, {})
    assert [d["kind"] for d in docs] == ["ConfigMap", "PersistentVolumeClaim", "Deployment"]
    pod = docs[-1]["spec"]["template"]["spec"]
    assert pod["volumes"] == [{"name": "revenue-db-data",
                               "persistentVolumeClaim": {"claimName": "p-revenue-db-data"}}]
    (container,) = pod["containers"]
    assert set(container) >= {"livenessProbe", "resources"}
    assert "startupProbe" not in container and "readinessProbe" not in container
    # a shell test without shell syntax is a plain argv (4.3 re-joins sh -c with spaces)
    assert container["livenessProbe"]["exec"]["command"][0] == "pg_isready"
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "p-revenue-db-env"
    core = variant(files["phoenix-core.yaml"], stack.services["phoenix-core"], "p", 5,
                   {"revenue-db": "10.0.0.9"})[-1]["spec"]["template"]["spec"]
    assert "initContainers" not in core
    assert core["hostAliases"] == [{"ip": "10.0.0.9", "hostnames": ["revenue-db"]}]
    assert core["containers"][0]["ports"] == [
        {"containerPort": 8080, "hostPort": 8085, "hostIP": "127.0.0.1"}]


@pytest.mark.podman
def test_the_development_manifests_play_healthy_answer_and_leave_nothing(
        phoenix_stack: Path, podman_project: str) -> None:
    core, toolkit = free_port(), free_port()
    env = {"COMPOSE_PROJECT_NAME": podman_project, "PHOENIX_CORE_PORT": str(core),
           "NCA_TOOLKIT_PORT": str(toolkit)}
    build = inv(phoenix_stack, "images.build", "--env", "development", env=env, timeout=900)
    assert build.returncode == 0, build.stderr
    try:
        play = inv(phoenix_stack, "deploy.kube-play", "--env", "development", env=env,
                   timeout=600)
        assert play.returncode == 0, play.stdout + play.stderr
        assert "phoenix-dev-only" not in play.stdout + play.stderr
        for service in ("revenue-db", "phoenix-core", "nca-toolkit"):
            assert f"{service}: {podman_project}-{service}-pod-0-{service} healthy" in \
                play.stdout
        with urllib.request.urlopen(f"http://127.0.0.1:{core}/health", timeout=10) as answer:
            assert json.loads(answer.read())["checks"] == {"postgres://revenue-db:5432": "ok"}
        with urllib.request.urlopen(f"http://127.0.0.1:{toolkit}/health",
                                    timeout=10) as answer:
            assert json.loads(answer.read())["status"] == "ok"
        container = f"{podman_project}-phoenix-core-pod-0-phoenix-core"
        host = json.loads(commands.run(argv.inspect(container)).stdout)[0]["HostConfig"]
        assert host["Memory"] == (256 * 2**20 if LIMITS_APPLY else 0)  # the limit came across
        assert f"{podman_project}-revenue-db-data" in names("volume")
        assert f"{podman_project}-revenue-db-env" in names("secret")
        kept = inv(phoenix_stack, "deploy.kube-play", "--env", "development", "--down",
                   env=env, timeout=300)
        assert kept.returncode == 0 and "add --volumes" in kept.stdout, kept.stderr
        assert f"{podman_project}-revenue-db-data" in names("volume")  # data kept by default
    finally:
        down = inv(phoenix_stack, "deploy.kube-play", "--env", "development", "--down",
                   "--volumes", env=env, timeout=300)
    assert down.returncode == 0, down.stderr
    for kind in ("pod", "container", "volume", "secret", "network"):
        assert [n for n in names(kind) if n.startswith(podman_project)] == [], kind


def test_every_secret_the_prod_manifests_read_is_named() -> None:
    files, _ = manifests(ComposeManager(REPO, "prod").stack(), "prod")
    wanted = referenced(files)
    assert wanted["prod-revenue-db-password"] == {"value"}
    assert wanted["prod-tls-ca-crt"] == {"value"}


KUBECTL = """#!/bin/sh
# a stand-in for a cluster: records its arguments and the documents it was given
printf '%s\\n' "$@" > "$KUBECTL_LOG.args"
umask 077
cat > "$KUBECTL_LOG.stdin"
"""


@pytest.mark.podman
def test_kube_secrets_reads_the_store_and_gives_kubectl_values_on_stdin_only(
        inv_stack, tmp_path: Path) -> None:
    root = inv_stack("""
        services:
          app:
            image: localhost/phoenix-test/busybox:1
            environment: {API_TOKEN: plain-token-value, MODE: x}
            secrets: [t_db_password]
        secrets:
          t_db_password: {external: true}
    """)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kubectl").write_text(KUBECTL)
    (bin_dir / "kubectl").chmod(stat.S_IRWXU)
    log = tmp_path / "kubectl"
    env = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "KUBECTL_LOG": str(log)}
    put = inv(root, "secrets.set", "db_password", "--env", "t", stdin="s3cr3t-v@lue")
    assert put.returncode == 0, put.stderr
    try:
        done = inv(root, "deploy.kube-secrets", "--env", "t", "--namespace", "phx", env=env,
                   timeout=180)
        assert done.returncode == 0, done.stdout + done.stderr
        assert "s3cr3t" not in done.stdout + done.stderr and "plain-token" not in done.stdout
        assert log.with_suffix(".args").read_text().split() == [
            "--namespace", "phx", "apply", "-f", "-"]
        docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(
            log.with_suffix(".stdin").read_text())}
        assert base64.b64decode(docs["t-db-password"]["data"]["value"]) == b"s3cr3t-v@lue"
        assert base64.b64decode(docs["app-env"]["data"]["API_TOKEN"]) == b"plain-token-value"
        assert "MODE" not in docs["app-env"]["data"]
        import kubernetes_validate

        for doc in docs.values():
            kubernetes_validate.validate(doc, "1.37.0", strict=True)
        if shutil.which("kubectl") is None:  # without kubectl: a clear error, no traceback
            missing = inv(root, "deploy.kube-secrets", "--env", "t", timeout=180)
            assert missing.returncode == 1 and "kubectl" in missing.stderr
            assert "Traceback" not in missing.stderr and "s3cr3t" not in missing.stderr
    finally:
        inv(root, "secrets.rm", "db_password", "--env", "t", "--force")
