"""Kubernetes manifests of the real Phoenix stack, validated offline and strictly by
kubernetes-validate on Kubernetes 1.25 and 1.37; a mutated manifest fails the check."""

from __future__ import annotations

import copy
import functools
from pathlib import Path

import pytest
import yaml
from invoke import Exit

from phoenix_compose.cli import deploy
from phoenix_compose.integrations.kube import manifests
from phoenix_compose.integrations.kubecheck import problems, render
from phoenix_compose.integrations.kubepod import dns, quantity
from phoenix_compose.runtime.lifecycle import ComposeManager

from support import REPO, mock_context


@functools.cache
def _generated(env: str) -> tuple[dict[str, list[dict]], list[str]]:
    return manifests(ComposeManager(REPO, env).stack(), env)


def generated(env: str) -> tuple[dict[str, list[dict]], list[str]]:
    """The manifests of the repository's stack (built once per env; a copy each time: the
    tests mutate them)."""
    return copy.deepcopy(_generated(env))


def docs(files: dict, name: str, kind: str) -> dict:
    return next(d for d in files[f"{name}.yaml"] if d["kind"] == kind)


@pytest.mark.parametrize("env", ["development", "staging", "prod"])
def test_every_env_is_valid_on_the_oldest_and_newest_kubernetes(env) -> None:
    files, warnings = generated(env)
    assert problems(render(files)) == []
    assert any("not carried" in w for w in warnings)  # the gaps are said, not hidden
    assert not any("isolation" in w for w in warnings)  # networks are carried now
    assert {d["metadata"]["name"] for d in files["_networks.yaml"]} == {
        "network-backend", "network-frontend"}


def test_the_mapping_carries_state_ordering_health_secrets_and_limits() -> None:
    files, _ = generated("prod")
    db = docs(files, "revenue-db", "StatefulSet")
    (claim,) = db["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "revenue-db-data"
    pod = db["spec"]["template"]["spec"]
    assert {"name": "revenue-db-data", "mountPath": "/var/lib/postgresql/data"} in \
        pod["containers"][0]["volumeMounts"]
    deployment = docs(files, "phoenix-core", "Deployment")["spec"]  # 2 replicas, start-first
    assert deployment["replicas"] == 2 and deployment["strategy"]["type"] == "RollingUpdate"
    assert "replicas" not in db["spec"] or db["spec"]["replicas"] == 1  # the db stays one
    core = deployment["template"]["spec"]
    (wait,) = core["initContainers"]
    assert wait["name"] == "wait-for-revenue-db" and wait["image"] == core["containers"][0][
        "image"] and "revenue-db 5432" in wait["command"][2]
    container = core["containers"][0]
    assert container["resources"] == {"limits": {"cpu": "1000m", "memory": "512Mi"}}
    assert {"startupProbe", "livenessProbe", "readinessProbe"} <= set(container)
    assert container["startupProbe"]["failureThreshold"] == 20 + 3  # start_period/interval
    secrets = next(v for v in core["volumes"] if v["name"] == "secrets")["projected"]["sources"]
    assert {"name": "prod-revenue-db-password",
            "items": [{"key": "value", "path": "revenue_db_password"}]} in \
        [s["secret"] for s in secrets]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    toolkit = docs(files, "nca-toolkit", "Deployment")["spec"]["template"]["spec"]
    assert "phoenix-core 8080" in toolkit["initContainers"][0]["command"][2]
    assert docs(files, "phoenix-core", "Service")["spec"]["ports"][0]["port"] == 8080


def test_no_secret_value_is_ever_written() -> None:
    texts = render(generated("development")[0])
    assert not any("phoenix-dev-only" in t for t in texts.values())  # dev's throwaway
    core = yaml.safe_load_all(texts["phoenix-core.yaml"])
    deployment = next(d for d in core if d["kind"] == "Deployment")
    assert {"name": "DATABASE_PASSWORD", "valueFrom": {"secretKeyRef": {
        "name": "phoenix-core-env", "key": "DATABASE_PASSWORD"}}} in \
        deployment["spec"]["template"]["spec"]["containers"][0]["env"]


@pytest.mark.parametrize(("mutate", "expected"), [
    (lambda d: d["spec"].update(replica=2) if d["kind"] == "Deployment" else None,
     "Additional properties are not allowed ('replica' was unexpected)"),
    (lambda d: d["spec"].update(replicas="one") if d["kind"] == "Deployment" else None,
     "'one' is not of type 'integer'"),
    (lambda d: d["metadata"].update(name="Phoenix_Core") if d["kind"] == "Deployment"
     else None, "is not a DNS-1123 label"),
])
def test_a_mutated_manifest_fails_the_check(mutate, expected) -> None:
    files, _ = generated("development")
    for doc in files["phoenix-core.yaml"]:
        mutate(doc)
    found = problems(render({"phoenix-core.yaml": files["phoenix-core.yaml"]}))  # the one
    assert found and all(f.startswith("phoenix-core.yaml:") for f in found)
    assert any(expected in f for f in found), found


def deploy_kube(root: Path, capsys, **flags) -> tuple[int, str]:
    """``inv deploy.kube`` in-process: (exit code, stderr)."""
    try:
        deploy.kube(mock_context(root), **flags)
        code = 0
    except Exit as exc:
        code = exc.code
    return code, capsys.readouterr().err


def test_deploy_kube_writes_then_check_catches_an_edit(phoenix_stack: Path, capsys) -> None:
    code, err = deploy_kube(phoenix_stack, capsys, env="development")
    assert code == 0, err
    folder = phoenix_stack / "deploy" / "kube" / "development"
    assert (folder / "kustomization.yaml").is_file()
    assert deploy_kube(phoenix_stack, capsys, env="development", check=True)[0] == 0
    text = (folder / "revenue-db.yaml").read_text()
    (folder / "revenue-db.yaml").write_text(text.replace("replicas: 1", "replicas: one"))
    code, err = deploy_kube(phoenix_stack, capsys, env="development", check=True)
    assert code == 1
    assert "revenue-db.yaml:" in err and "'one' is not of type 'integer'" in err
    assert "stale" in err


def test_names_and_quantities() -> None:
    assert dns("Phoenix_Core.v2") == "phoenix-core-v2" and len(dns("x" * 80)) == 63
    assert (quantity("64m"), quantity("1g"), quantity("0.5", cpu=True)) == (
        "64Mi", "1Gi", "500m")


def test_a_literal_dollar_is_written_as_the_container_sees_it() -> None:
    from phoenix_compose.integrations.kube import literal

    # compose.yaml keeps compose's $$ (podman-compose interpolates again); Kubernetes not
    assert literal({"A": "p$$w", "B": ["$${X}"], "C": 5}) == {"A": "p$w", "B": ["${X}"],
                                                             "C": 5}


def test_a_missing_kubernetes_validate_is_named_with_its_extra(monkeypatch) -> None:
    """kubernetes-validate is the `kube` extra: without it the check says how to get it."""
    import sys

    from phoenix_compose.errors import IntegrationError
    from phoenix_compose.integrations import kubecheck

    monkeypatch.setitem(sys.modules, "kubernetes_validate", None)  # import fails
    with pytest.raises(IntegrationError) as caught:
        kubecheck.problems({"a.yaml": "kind: ConfigMap\n"})
    assert caught.value.hint == "pip install 'phoenix-compose[kube]'"


SECRET_ENV = """
    services:
      app:
        image: app:1
        environment:
          DB_PASSWD: hunter22
          STRIPE_APIKEY: sk_live_1
          DATABASE_URL: postgres://u:pg-s3cret@db/x
          DB_PASSWD_FILE: /run/secrets/db_passwd
          MODE: fast
    """


def test_every_secret_looking_name_and_a_url_password_is_a_secret_reference(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=sec\n", "compose/a.yaml": SECRET_ENV})
    files, warnings = manifests(ComposeManager(root, "t").stack(), "t")
    text = "".join(render(files).values())
    assert not any(v in text for v in ("hunter22", "sk_live_1", "pg-s3cret")), text
    assert docs(files, "app", "ConfigMap")["data"] == {
        "DB_PASSWD_FILE": "/run/secrets/db_passwd", "MODE": "fast"}
    env = docs(files, "app", "Deployment")["spec"]["template"]["spec"]["containers"][0]["env"]
    assert [e["name"] for e in env] == ["DATABASE_URL", "DB_PASSWD", "STRIPE_APIKEY"]
    assert all(e["valueFrom"]["secretKeyRef"]["name"] == "app-env" for e in env)
    assert any("DATABASE_URL, DB_PASSWD, STRIPE_APIKEY look secret" in w for w in warnings)


def test_a_pass_through_variable_the_host_did_not_set_is_not_in_the_config_map(
        make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=pass\nFROM_ENV=1\n",
                       "compose/a.yaml": "services:\n  app:\n    image: app:1\n"
                                         "    environment: [FROM_ENV, NOT_SET, MODE=fast]\n"})
    files, _ = manifests(ComposeManager(root, "t").stack(), "t")
    assert docs(files, "app", "ConfigMap")["data"] == {"FROM_ENV": "1", "MODE": "fast"}


@pytest.mark.parametrize(("raw", "handler"), [
    ({"test": ["CMD-SHELL", "curl -fsS http://localhost:8080/health || exit 1"]},
     {"httpGet": {"path": "/health", "port": 8080}}),
    ({"test": ["CMD", "nc", "-z", "127.0.0.1", "5432"]},  # exec, as before (kube play)
     {"exec": {"command": ["nc", "-z", "127.0.0.1", "5432"]}}),
    ({"test": ["CMD-SHELL", "wget -q -O- http://localhost:8080/ | grep ok"]},
     {"exec": {"command": ["sh", "-c", "wget -q -O- http://localhost:8080/ | grep ok"]}}),
])
def test_probes_use_the_one_recogniser_of_native_checks(raw, handler) -> None:
    from phoenix_compose.integrations.kubepod import probes
    from phoenix_compose.runtime.stack import Health, ServiceSpec

    spec = ServiceSpec("web", "web", "w:1", False, health=Health(), raw={"healthcheck": raw})
    assert {k: v for k, v in probes(spec)["livenessProbe"].items()
            if k in ("httpGet", "tcpSocket", "exec")} == handler
    forced = ServiceSpec("web", "web", "w:1", False, health=Health(),
                         raw={"healthcheck": raw, "x-phoenix-probe": "exec"})
    assert "exec" in probes(forced)["livenessProbe"]  # exec forced: exec here too
