"""Kubernetes manifests from the validated final config (``compose.yaml``), the same model
``up`` runs: a Deployment per stateless service (a StatefulSet with a volumeClaimTemplate
per named volume for a service that owns one), a Service per service with ports, the rest
of the environment in a ConfigMap, secrets as a projected secret volume at /run/secrets
(never values), resources, probes from the healthcheck, and ``depends_on:
service_healthy`` as an initContainer that waits for the dependency's Service.  What
cannot be carried is returned as warnings (README has the table)."""

from __future__ import annotations

import dataclasses
from typing import Any

from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.config.secretnames import is_plaintext_secret
from phoenix_compose.integrations import exportkeys
from phoenix_compose.integrations.kubenet import (
    network_labels,
    network_policies,
    service_policies,
    strategy,
)
from phoenix_compose.integrations.kubepod import (
    Doc,
    container_ports,
    dns,
    pod_spec,
    volume,
)
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict

MANAGED = {"app.kubernetes.io/managed-by": "phoenix-compose"}
NETWORKS_FILE = "_networks.yaml"  # never a service file: dns() names have no "_"


def manifests(stack: Stack, env: str) -> tuple[dict[str, list[Doc]], list[str]]:
    """Documents per service (file name -> documents) and the warnings."""
    stack = literal_stack(stack)
    warnings: list[str] = []
    out: dict[str, list[Doc]] = {}
    for name in stack.order():
        spec = stack.services[name]
        if spec.profiles:
            warnings.append(f"{name}: behind profile(s) {', '.join(spec.profiles)}: left out")
            continue
        if not spec.image:
            warnings.append(f"{name}: no image (build-only): left out")
            continue
        out[f"{dns(name)}.yaml"] = _service_docs(stack, spec, env, warnings)
    if out:
        policies = network_policies(stack, [n for n in stack.order()
                                            if f"{dns(n)}.yaml" in out], {**MANAGED})
        out[NETWORKS_FILE] = policies
    return out, warnings


def literal(value: Any) -> Any:
    """compose.yaml keeps a literal ``$`` as ``$$`` (podman-compose interpolates it again);
    Kubernetes does not interpolate, so the value is written as the container sees it."""
    if isinstance(value, str):
        return value.replace("$$", "$")
    if isinstance(value, list):
        return [literal(v) for v in value]
    if isinstance(value, dict):
        return {k: literal(v) for k, v in value.items()}
    return value


def literal_stack(stack: Stack) -> Stack:
    return dataclasses.replace(stack, services={
        name: dataclasses.replace(spec, raw=literal(spec.raw))
        for name, spec in stack.services.items()})


def labels(stack: Stack, name: str, env: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": dns(name), "app.kubernetes.io/part-of": dns(stack.project),
            "app.kubernetes.io/instance": dns(f"{stack.project}-{name}"),
            "phoenix-compose/env": dns(env), **MANAGED}


def _service_docs(stack: Stack, spec: ServiceSpec, env: str, warnings: list[str]) -> list[Doc]:
    raw, name = spec.raw, dns(spec.name)
    meta: Doc = {"name": name, "labels": labels(stack, spec.name, env)}
    claims = _claims(stack, spec)
    selector = {"matchLabels": {"app.kubernetes.io/instance":
                                meta["labels"]["app.kubernetes.io/instance"]}}
    workload = _workload(stack, spec, meta, selector, claims, warnings)
    docs = _config_map(spec, meta, warnings)
    ports = container_ports(spec)
    if ports:
        docs.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                     "spec": {"selector": selector["matchLabels"],
                              "ports": [{"name": f"p{p}", "port": p, "targetPort": p}
                                        for p in ports]}})
    docs += service_policies(stack, spec, meta, selector)
    for key, why in (("x-phoenix-restart", "Kubernetes restarts with its own backoff"),
                     ("x-phoenix-backup", "back up with the cluster's tools")):
        if raw.get(key):
            warnings.append(f"{spec.name}: {key} is not carried ({why})")
    warnings += exportkeys.uncarried(spec, exportkeys.KUBE, exportkeys.KUBE_DEPLOY,
                                     stack.compose_file)
    warnings += exportkeys.partial(spec, kube=True)
    return [*docs, workload]


def _workload(stack: Stack, spec: ServiceSpec, meta: Doc, selector: Doc,
              claims: dict[str, str], warnings: list[str]) -> Doc:
    """A Deployment (its RollingUpdate from update_config), or a StatefulSet with a claim
    template per named volume."""
    name = meta["name"]
    pod = pod_spec(stack, spec, name, claims, warnings)
    replicas = int((spec.raw.get("deploy") or {}).get("replicas", 1))
    template: Doc = {"metadata": {"labels": {**meta["labels"], **network_labels(spec)}},
                     "spec": pod}
    if notes := {k: "" if v is None else str(v) for k, v in spec.labels.items()
                 if k != OWNER_LABEL}:
        template["metadata"]["annotations"] = notes  # compose labels: no selector reads them
    workload: Doc = {"apiVersion": "apps/v1", "kind": "StatefulSet" if claims else "Deployment",
                     "metadata": meta, "spec": {"replicas": replicas, "selector": selector,
                                                "template": template}}
    if not claims:
        rolling, extra = strategy(spec, replicas, warnings)
        workload["spec"].update(strategy=rolling, **extra)
        return workload
    if (spec.raw.get("deploy") or {}).get("update_config") is not None:
        warnings.append(f"{spec.name}: deploy.update_config is not carried (a StatefulSet "
                        "replaces its pods one at a time, in order)")
    workload["spec"]["serviceName"] = name
    workload["spec"]["volumeClaimTemplates"] = [
        {"metadata": {"name": claim}, "spec": {"accessModes": ["ReadWriteOnce"],
                                               "resources": {"requests": {"storage": "1Gi"}}}}
        for claim in claims]
    warnings.append(f"{spec.name}: volume claim(s) {', '.join(claims)} request 1Gi each "
                    "(edit for your cluster)")
    return workload


def _config_map(spec: ServiceSpec, meta: Doc, warnings: list[str]) -> list[Doc]:
    """The plain environment as a ConfigMap; what looks secret is only named (a Secret)."""
    env_map = {k: v for k, v in _config_env(spec).items() if not is_plaintext_secret(k, v)}
    if hidden := sorted(set(_config_env(spec)) - set(env_map)):
        warnings.append(f"{spec.name}: {', '.join(hidden)} look secret: read from the Secret "
                        f"{meta['name']}-env (create it; values are never written here)")
    return [{"apiVersion": "v1", "kind": "ConfigMap",
             "metadata": {"name": f"{meta['name']}-env", "labels": meta["labels"]},
             "data": env_map}] if env_map else []


def _claims(stack: Stack, spec: ServiceSpec) -> dict[str, str]:
    """Named volume (DNS name) -> mount path, for the volumes the stack declares."""
    declared = as_dict(stack.top.get("volumes"))
    out = {}
    for item in spec.volumes:
        source, target = volume(item)
        if source and source in declared:
            out[dns(source)] = target
    return out


def _config_env(spec: ServiceSpec) -> dict[str, str]:
    # None: a pass-through the host did not set
    return {k: str(v) for k, v in spec.environment.items() if v is not None}


