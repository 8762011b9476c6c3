"""The pod of one service: containers, probes, resources, security, mounts, and the
initContainers that wait for ``service_healthy`` dependencies (shared by :mod:`.kube`)."""

from __future__ import annotations

import math
import re
from typing import Any

from phoenix_compose.config.probes import mode, recognise
from phoenix_compose.config.secretnames import is_plaintext_secret
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict

Doc = dict[str, Any]
_SHELL = re.compile(r"[|&;<>()$`\\\"'*?\[\]#~=%{}\n]")
_UNITS = {"b": "", "k": "Ki", "kb": "Ki", "m": "Mi", "mb": "Mi", "g": "Gi", "gb": "Gi"}


def dns(name: str) -> str:
    """A DNS-1123 label: lowercase, [a-z0-9-], at most 63, starts and ends alphanumeric."""
    text = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")[:63].strip("-")
    return text or "x"


def volume(volume: Any) -> tuple[str, str]:
    if isinstance(volume, dict):
        return str(volume.get("source") or ""), str(volume.get("target") or "")
    parts = str(volume).split(":")
    return (parts[0], parts[1]) if len(parts) > 1 else ("", parts[0])


def networks_of(spec: ServiceSpec) -> list[str]:
    """The compose networks a service is on (``default`` when it names none)."""
    nets = spec.raw.get("networks")
    if isinstance(nets, dict):
        return [str(n) for n in nets]
    return [str(n) for n in nets] if isinstance(nets, list) and nets else ["default"]


def container_ports(spec: ServiceSpec) -> list[int]:
    out: list[int] = []
    for port in list(spec.published) + list(spec.raw.get("expose") or []):
        target = port.get("target") if isinstance(port, dict) else \
            str(port).split("/")[0].split(":")[-1]
        if target and int(target) not in out:
            out.append(int(target))
    return out


def quantity(text: Any, cpu: bool = False) -> str:
    """A compose size or cpus as a Kubernetes quantity: 64m -> 64Mi, 0.5 -> 500m."""
    if cpu:
        return f"{int(round(float(text) * 1000))}m"
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", str(text))
    if not match or match.group(2).lower() not in _UNITS:
        return str(text)
    return f"{match.group(1)}{_UNITS[match.group(2).lower()]}"


def resources(raw: dict[str, Any]) -> Doc:
    res = as_dict(as_dict(raw.get("deploy")).get("resources"))
    out: Doc = {}
    for source, target in (("limits", "limits"), ("reservations", "requests")):
        given = as_dict(res.get(source))
        values = {}
        if given.get("cpus") is not None:
            values["cpu"] = quantity(given["cpus"], cpu=True)
        if given.get("memory") is not None:
            values["memory"] = quantity(given["memory"])
        if values:
            out[target] = values
    return out


def probes(spec: ServiceSpec) -> Doc:
    """startupProbe (start_period, start_interval), liveness and readiness (interval,
    timeout, retries) from the healthcheck: httpGet for a plain local HTTP GET (as
    :mod:`phoenix_compose.config.probes` recognises it for native checks)."""
    health, test = spec.health, spec.health_test
    if health is None or not test or test == ["NONE"]:
        return {}
    handler: Doc
    shell = isinstance(test, str) or test[0] == "CMD-SHELL"
    command = [test] if isinstance(test, str) else test[1:]
    line = " ".join(command)
    native = recognise(test) if mode(spec.raw) != "exec" else None
    if native is not None and native.kind == "http":
        handler = {"httpGet": {"path": native.path, "port": native.port}}
    else:  # nc -z stays exec: kube play (podman 4.3) is this export's other reader
        handler = {"exec": {"command": exec_argv(line) if shell else list(command)}}
    timing = {"periodSeconds": max(1, int(health.interval)),
              "timeoutSeconds": max(1, int(health.timeout)),
              "failureThreshold": max(1, health.retries)}
    start_every = max(1, int(health.start_interval or health.interval))
    startup = {"periodSeconds": start_every, "timeoutSeconds": timing["timeoutSeconds"],
               "failureThreshold": max(1, math.ceil(health.start_period / start_every)
                                       + health.retries)}
    return {"startupProbe": {**handler, **startup}, "livenessProbe": {**handler, **timing},
            "readinessProbe": {**handler, **timing}}


def exec_argv(line: str) -> list[str]:
    """A shell test as an exec command: plain argv when it has no shell syntax (and no
    ``|| exit 1``, which only maps the exit code), else ``sh -c LINE``."""
    import shlex

    plain = re.sub(r"\s*\|\|\s*exit\s+1\s*$", "", line)
    return shlex.split(plain) if not _SHELL.search(plain) else ["sh", "-c", line]


def grace(spec: ServiceSpec) -> int:
    return int(spec.stop_grace)


def pod_spec(stack: Stack, spec: ServiceSpec, name: str, claims: dict[str, str],
             warnings: list[str]) -> Doc:
    raw = spec.raw
    container: Doc = {"name": name, "image": spec.image, **probes(spec)}
    if raw.get("entrypoint"):
        container["command"] = _argv(raw["entrypoint"])
    if raw.get("command"):
        container["args"] = _argv(raw["command"])
    container.update(_environment(raw, name))
    if ports := container_ports(spec):
        container["ports"] = [{"containerPort": p} for p in ports]
    if res := resources(raw):
        container["resources"] = res
    volumes, mounts = _mounts(stack, spec, claims, warnings)
    if mounts:
        container["volumeMounts"] = mounts
    if security := _security(raw):
        container["securityContext"] = security
    pod: Doc = {"containers": [container], "terminationGracePeriodSeconds": grace(spec)}
    if volumes:
        pod["volumes"] = volumes
    waits = [_waiter(stack, spec, dep, warnings) for dep, cond in spec.depends_on.items()
             if dep in stack.services and cond == "service_healthy"]
    if any(waits):
        pod["initContainers"] = [w for w in waits if w]
    return pod


def _environment(raw: dict[str, Any], name: str) -> Doc:
    """envFrom the ConfigMap ``<name>-env``; what looks secret from the Secret of that name."""
    env = as_dict(raw.get("environment"))
    out: Doc = {}
    if any(not is_plaintext_secret(str(k), v) for k, v in env.items()):
        out["envFrom"] = [{"configMapRef": {"name": f"{name}-env"}}]
    if hidden := sorted(str(k) for k, v in env.items() if is_plaintext_secret(str(k), v)):
        out["env"] = [{"name": k, "valueFrom": {"secretKeyRef": {"name": f"{name}-env",
                                                                  "key": k}}} for k in hidden]
    return out


def _argv(value: Any) -> list[str]:
    import shlex

    return [str(a) for a in value] if isinstance(value, list) else shlex.split(str(value))


def _mounts(stack: Stack, spec: ServiceSpec, claims: dict[str, str],
            warnings: list[str]) -> tuple[list[Doc], list[Doc]]:
    volumes: list[Doc] = []
    mounts: list[Doc] = [{"name": claim, "mountPath": path} for claim, path in claims.items()]
    for item in spec.volumes:
        source, target = volume(item)
        if source and dns(source) not in claims:
            warnings.append(f"{spec.name}: bind mount {source} -> {target} is not carried")
    for i, path in enumerate(_tmpfs(spec.raw.get("tmpfs"))):
        volumes.append({"name": f"tmp{i}", "emptyDir": {"medium": "Memory"}})
        mounts.append({"name": f"tmp{i}", "mountPath": path})
    items = []
    for name, target in spec.secrets.items():
        items.append({"secret": {"name": dns(name),
                                 "items": [{"key": "value", "path": str(target)}]}})
    if items:  # files at /run/secrets/<target>, as compose mounts them; values never here
        volumes.append({"name": "secrets", "projected": {"sources": items}})
        mounts = [m for m in mounts if m["mountPath"] != "/run/secrets"]
        mounts.append({"name": "secrets", "mountPath": "/run/secrets", "readOnly": True})
    return volumes, mounts


def _tmpfs(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value] if value else []
    return [str(t).split(":")[0] for t in items]


def _security(raw: dict[str, Any]) -> Doc:
    out: Doc = {}
    if "ALL" in (raw.get("cap_drop") or []):
        out["capabilities"] = {"drop": ["ALL"]}
    if raw.get("read_only"):
        out["readOnlyRootFilesystem"] = True
    if any(str(o).replace("=", ":") in ("no-new-privileges:true", "no-new-privileges")
           for o in raw.get("security_opt") or []):
        out["allowPrivilegeEscalation"] = False
    user = str(raw.get("user") or "")
    if re.fullmatch(r"\d+(:\d+)?", user):
        uid, _, gid = user.partition(":")
        out["runAsUser"] = int(uid)
        if gid:
            out["runAsGroup"] = int(gid)
    return out


WAIT = ("until nc -z -w 2 {host} {port} 2>/dev/null || python3 -c \"import socket; "
        "socket.create_connection(('{host}', {port}), 2)\" 2>/dev/null; do "
        "echo waiting for {host}:{port}; sleep 2; done")


def _waiter(stack: Stack, spec: ServiceSpec, dep: str, warnings: list[str]) -> Doc | None:
    """``service_healthy``: wait until the dependency's Service answers (a ready pod is
    behind it), with the service's own image (nc or python3 in it)."""
    ports = container_ports(stack.services[dep])
    if not ports:
        warnings.append(f"{spec.name}: depends on {dep}, which publishes no port: no wait")
        return None
    host = dns(dep)
    return {"name": f"wait-for-{host}", "image": spec.image,
            "command": ["sh", "-c", WAIT.format(host=host, port=ports[0])]}
