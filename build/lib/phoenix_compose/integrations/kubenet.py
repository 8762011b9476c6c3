"""What :mod:`.kube` adds around a service's pod: the Deployment's update ``strategy`` from
``deploy.replicas`` and ``deploy.update_config``, and the compose networks as
``NetworkPolicy`` objects (as Kompose writes them: each pod labelled with the networks it
is on, and one policy per network that lets in only pods on the same network).

Where this differs from Kompose: a ``parallelism`` of 0 means "all at once" (compose's
meaning) and becomes the replica count, where Kompose writes 0 and, for ``start-first``,
gets a Deployment the API server refuses (maxSurge and maxUnavailable both 0); the
strategy is written from compose's defaults (parallelism 1, stop-first) when
``update_config`` or its ``order`` is not given, where Kompose writes none (Kubernetes'
25%/25%); a published port stays reachable from outside the networks (compose publishes
it on the host), and a service all of whose networks are ``internal`` gets an egress
policy (its network and DNS only), which Kompose drops."""

from __future__ import annotations

from phoenix_compose.integrations.kubepod import Doc, container_ports, dns, networks_of
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict

NETWORK_LABEL = "phoenix-compose.network/"
_UNCARRIED = ("delay", "failure_action", "max_failure_ratio")


def strategy(spec: ServiceSpec, replicas: int, warnings: list[str]) -> tuple[Doc, Doc]:
    """The Deployment's ``strategy`` and the spec keys it adds (``minReadySeconds`` from
    ``monitor``): start-first surges ``parallelism`` new pods and keeps every old one,
    stop-first takes ``parallelism`` old pods down first; a parallelism of 0 is all."""
    from phoenix_compose.runtime.stack import seconds

    deploy = as_dict(spec.raw.get("deploy"))
    update = as_dict(deploy.get("update_config"))
    given = update.get("parallelism")
    step = int(given) if given is not None else 1
    step = max(1, replicas) if step <= 0 else step
    if update.get("order") == "start-first":
        rolling = {"maxSurge": step, "maxUnavailable": 0}
    else:
        rolling = {"maxSurge": 0, "maxUnavailable": step}
    extra: Doc = {}
    if update.get("monitor") is not None:
        extra["minReadySeconds"] = int(seconds(update["monitor"], 0.0))
    dropped = [f"update_config.{k}" for k in _UNCARRIED if update.get(k) is not None]
    if deploy.get("rollback_config") is not None:
        dropped.append("rollback_config")
    if dropped:
        warnings.append(f"{spec.name}: deploy.{', deploy.'.join(dropped)} not carried "
                        "(a Deployment has no such setting; `kubectl rollout undo` rolls "
                        "back with the same strategy)")
    return {"type": "RollingUpdate", "rollingUpdate": rolling}, extra


def network_labels(spec: ServiceSpec) -> dict[str, str]:
    """The pod labels that say which networks it is on."""
    return {f"{NETWORK_LABEL}{dns(n)}": "true" for n in networks_of(spec)}


def network_policies(stack: Stack, names: list[str], meta: dict[str, str]) -> list[Doc]:
    """One NetworkPolicy per compose network the exported services use: pods on it accept
    connections from pods on it."""
    used = sorted({n for name in names for n in networks_of(stack.services[name])})
    out = []
    for net in used:
        member = {"matchLabels": {f"{NETWORK_LABEL}{dns(net)}": "true"}}
        out.append({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                    "metadata": {"name": f"network-{dns(net)}"[:63].strip("-"),
                                 "labels": meta},
                    "spec": {"podSelector": member, "policyTypes": ["Ingress"],
                             "ingress": [{"from": [{"podSelector": member}]}]}})
    return out


def service_policies(stack: Stack, spec: ServiceSpec, meta: Doc, selector: Doc) -> list[Doc]:
    """A service's own policies: its published ports open to any source (compose publishes
    them on the host), and, when every network it is on is ``internal``, egress only to
    those networks and to DNS."""
    out = []
    published = _published_targets(spec)
    if published:
        out.append(_policy(f"{meta['name']}-published", meta, selector, "Ingress",
                           {"ingress": [{"ports": [{"port": p, "protocol": "TCP"}
                                                   for p in published]}]}))
    declared = as_dict(stack.top.get("networks"))
    nets = networks_of(spec)
    if all(as_dict(declared.get(n)).get("internal") for n in nets):
        peers = [{"podSelector": {"matchLabels": {f"{NETWORK_LABEL}{dns(n)}": "true"}}}
                 for n in nets]
        dns_port = [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]
        out.append(_policy(f"{meta['name']}-internal", meta, selector, "Egress",
                           {"egress": [{"to": peers}, {"ports": dns_port}]}))
    return out


def _policy(name: str, meta: Doc, selector: Doc, kind: str, rules: Doc) -> Doc:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": name[:63].strip("-"), "labels": meta["labels"]},
            "spec": {"podSelector": selector, "policyTypes": [kind], **rules}}


def _published_targets(spec: ServiceSpec) -> list[int]:
    """Container ports of ``ports:`` (published on the host), not of ``expose:``."""
    only_ports = ServiceSpec(spec.name, spec.container, spec.image, spec.build,
                             raw={"ports": list(spec.published)})
    return container_ports(only_ports)
