"""What the Kubernetes export adds for replicas and networks (issue 26 item 5): the
Deployment's RollingUpdate from ``deploy.update_config``, the compose networks as
NetworkPolicy objects (as Kompose writes them), a warning naming every key it cannot
carry, and a compound health check kept an exec probe; every result valid on Kubernetes
1.25 and 1.37 (kubernetes-validate --strict)."""

from __future__ import annotations

import pytest

from phoenix_compose.integrations.kube import NETWORKS_FILE, manifests
from phoenix_compose.integrations.kubecheck import problems, render
from phoenix_compose.runtime.lifecycle import ComposeManager


def export(make_stack, compose: str) -> tuple[dict, list[str]]:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=roll\n", "compose/a.yaml": compose})
    return manifests(ComposeManager(root, "t").stack(), "t")


def doc(files: dict, file: str, kind: str, name: str | None = None) -> dict:
    return next(d for d in files[file] if d["kind"] == kind
                and (name is None or d["metadata"]["name"] == name))


def service(update: str, replicas: int = 3) -> str:
    text = f"services:\n  web:\n    image: web:1\n    deploy:\n      replicas: {replicas}\n"
    return text + (f"      update_config: {update}\n" if update else "")


@pytest.mark.parametrize(("update", "replicas", "rolling"), [
    ("{order: start-first, parallelism: 2}", 3, {"maxSurge": 2, "maxUnavailable": 0}),
    ("{order: stop-first, parallelism: 2}", 3, {"maxSurge": 0, "maxUnavailable": 2}),
    ("{order: start-first, parallelism: 0}", 3, {"maxSurge": 3, "maxUnavailable": 0}),
    ("{order: stop-first, parallelism: 0}", 4, {"maxSurge": 0, "maxUnavailable": 4}),
    ("{order: start-first}", 2, {"maxSurge": 1, "maxUnavailable": 0}),  # compose: 1
    ("", 2, {"maxSurge": 0, "maxUnavailable": 1}),  # compose's defaults: stop-first, 1
    ("{order: start-first, parallelism: 0}", 0, {"maxSurge": 1, "maxUnavailable": 0}),
])
def test_update_config_is_a_rolling_update(make_stack, update, replicas, rolling) -> None:
    files, _ = export(make_stack, service(update, replicas))
    deployment = doc(files, "web.yaml", "Deployment")
    assert deployment["spec"]["replicas"] == replicas
    assert deployment["spec"]["strategy"] == {"type": "RollingUpdate", "rollingUpdate": rolling}
    assert problems(render(files)) == []


def test_monitor_is_min_ready_seconds_and_the_rest_is_named(make_stack) -> None:
    files, warnings = export(make_stack, service(
        "{order: start-first, monitor: 30s, delay: 5s, failure_action: rollback}"))
    deployment = doc(files, "web.yaml", "Deployment")
    assert deployment["spec"]["minReadySeconds"] == 30
    (said,) = [w for w in warnings if "update_config" in w]
    assert "update_config.delay" in said and "update_config.failure_action" in said
    assert problems(render(files)) == []


NETWORKS = """
services:
  web:
    image: web:1
    ports: ["8080:80"]
    networks: [front, back]
  db:
    image: db:1
    expose: ["5432"]
    networks: [back]
  edge:
    image: edge:1
    networks: [front]
networks:
  front: {}
  back: {internal: true}
"""


def test_networks_are_network_policies_as_kompose_writes_them(make_stack) -> None:
    files, warnings = export(make_stack, NETWORKS)
    assert not any("isolation" in w or "networks" in w for w in warnings), warnings
    label = "phoenix-compose.network/"

    def pod_labels(name: str) -> dict:
        return doc(files, f"{name}.yaml", "Deployment")["spec"]["template"]["metadata"]["labels"]

    assert {k for k in pod_labels("web") if k.startswith(label)} == {label + "front",
                                                                     label + "back"}
    assert {k for k in pod_labels("db") if k.startswith(label)} == {label + "back"}
    back = doc(files, NETWORKS_FILE, "NetworkPolicy", "network-back")["spec"]
    member = {"matchLabels": {label + "back": "true"}}
    assert back == {"podSelector": member, "policyTypes": ["Ingress"],
                    "ingress": [{"from": [{"podSelector": member}]}]}
    assert {d["metadata"]["name"] for d in files[NETWORKS_FILE]} == {"network-back",
                                                                      "network-front"}
    # a published port stays open to any source, as compose publishes it on the host
    published = doc(files, "web.yaml", "NetworkPolicy", "web-published")["spec"]
    assert published["ingress"] == [{"ports": [{"port": 80, "protocol": "TCP"}]}]
    # db is only on an internal network: egress to that network and DNS only
    egress = doc(files, "db.yaml", "NetworkPolicy", "db-internal")["spec"]["egress"]
    assert egress[0] == {"to": [{"podSelector": member}]}
    assert not [d for d in files["web.yaml"] if d["metadata"]["name"] == "web-internal"]
    assert problems(render(files)) == []


def test_a_stack_without_networks_is_one_default_network(make_stack) -> None:
    files, _ = export(make_stack, "services:\n  a:\n    image: a:1\n  b:\n    image: b:1\n")
    (policy,) = files[NETWORKS_FILE]
    assert policy["metadata"]["name"] == "network-default"
    assert problems(render(files)) == []


UNCARRIED = """
services:
  web:
    image: web:1
    ulimits:
      nofile: {soft: 1024, hard: 2048}
    stop_signal: SIGINT
    cap_drop: [ALL, NET_RAW]
    deploy:
      placement: {constraints: [node.role == manager]}
"""


def test_every_key_the_export_cannot_carry_is_named_with_its_line(make_stack) -> None:
    root = make_stack({"envs/t.env": "COMPOSE_PROJECT_NAME=keys\n",
                       "compose/a.yaml": UNCARRIED})
    stack = ComposeManager(root, "t").stack()
    _, warnings = manifests(stack, "t")
    lines = stack.compose_file.read_text().splitlines()
    for key in ("ulimits", "stop_signal", "deploy.placement"):
        (said,) = [w for w in warnings if w.startswith(f"web: {key} is not carried")]
        line = int(said.rsplit(":", 1)[1].rstrip(")"))
        assert lines[line - 1].strip().startswith(key.split(".")[-1] + ":"), said
    assert "web: cap_drop NET_RAW is not carried (only ALL)" in warnings
    assert not any(w.startswith(("web: image", "web: cap_drop is")) for w in warnings)


@pytest.mark.parametrize("line", [
    "wget -q -O- http://localhost:8080/a && wget -q -O- http://localhost:8080/b",
    "wget -q -O- http://localhost:8080/a; wget -q -O- http://localhost:8080/b",
    "wget -q -O- http://localhost:8080/a || wget -q -O- http://localhost:8080/b",
    "curl -fsS http://localhost:8080/a | grep ok",
    "curl -fsS http://localhost:8080/a || exit 1 && curl -fsS http://localhost:8080/b",
])
def test_a_compound_health_check_stays_an_exec_probe(line) -> None:
    from phoenix_compose.config.probes import recognise
    from phoenix_compose.integrations.kubepod import probes
    from phoenix_compose.runtime.stack import Health, ServiceSpec

    spec = ServiceSpec("web", "web", "w:1", False, health=Health(),
                       raw={"healthcheck": {"test": ["CMD-SHELL", line]}})
    probe = probes(spec)["livenessProbe"]
    assert "httpGet" not in probe and probe["exec"]["command"] == ["sh", "-c", line]
    assert recognise(["CMD-SHELL", line]) is None  # native probes: the same answer
    assert spec.probe is None
