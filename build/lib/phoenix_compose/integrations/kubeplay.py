"""``inv deploy.kube-play``: the manifests of :mod:`.kube` run on this host's podman
(``podman kube play``), to try them without a cluster.

Podman 4.3 is not a cluster, so the documents are adapted first, and each change is a
difference from Kubernetes (README says so):

- a StatefulSet becomes a Deployment plus a PersistentVolumeClaim per claim template
  (4.3 skips StatefulSets), named ``<project>-<claim>`` (a podman volume);
- Services are skipped by podman; each played service's name is added to the later pods
  as a ``hostAliases`` entry for its pod's address, which is what the Service's DNS name
  gives on a cluster;
- initContainers are dropped (under a Deployment 4.3 restarts them for ever): services are
  played in dependency order, each once the one before is healthy, which is what the
  waiters do on a cluster;
- only the liveness probe is kept (4.3 drops startup and readiness probes), and it is
  driven by ``podman healthcheck run`` because there is no systemd timer here; an httpGet
  probe only when the image has curl, which 4.3 runs it with (looked for in the image);
- a play that fails takes down what it made (and the claims' volumes it created);
- Secret env reads JSON-shaped podman secrets named ``<project>-<secret>`` (podman#16269);
- published ports get ``hostPort`` on 127.0.0.1 (plus ``--port-offset``).
"""

from __future__ import annotations

import copy
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.integrations.kubepod import Doc, dns
from phoenix_compose.runtime import argv, argv_deploy, containers
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict


@dataclass(frozen=True)
class Played:
    service: str
    container: str
    address: str
    ports: tuple[str, ...]


def variant(docs: list[Doc], spec: ServiceSpec, project: str, offset: int,
            aliases: Mapping[str, str], limits: bool = True, curl: bool = False) -> list[Doc]:
    """One service's documents as podman 4.3 can play them (see the module's text);
    ``curl``: the image has curl, which 4.3 runs an httpGet probe with."""
    out: list[Doc] = []
    prefix = f"{dns(project)}-"
    for doc in copy.deepcopy(docs):
        if doc["kind"] == "ConfigMap":
            doc["metadata"]["name"] = prefix + doc["metadata"]["name"]
            out.append(doc)
        elif doc["kind"] in ("Deployment", "StatefulSet"):
            out += _workload(doc, spec, prefix, offset, aliases, limits, curl)
    return out


def _workload(doc: Doc, spec: ServiceSpec, prefix: str, offset: int,
              aliases: Mapping[str, str], limits: bool, curl: bool) -> list[Doc]:
    pod = doc["spec"]["template"]["spec"]
    pod.pop("initContainers", None)
    if aliases:
        pod["hostAliases"] = [{"ip": ip, "hostnames": [name]} for name, ip in aliases.items()]
    claims = doc["spec"].pop("volumeClaimTemplates", [])
    doc["spec"].pop("serviceName", None)
    pvcs = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": prefix + c["metadata"]["name"]}, "spec": c["spec"]}
            for c in claims]
    pod.setdefault("volumes", []).extend(
        {"name": c["metadata"]["name"],
         "persistentVolumeClaim": {"claimName": prefix + c["metadata"]["name"]}}
        for c in claims)
    if not pod["volumes"]:
        del pod["volumes"]
    if any("projected" in v for v in pod.get("volumes") or []):
        raise ComposeRuntimeError(f"{spec.name}: secret files (a projected volume) cannot "
                                  "be played by podman 4.3; play an env without them")
    for container in pod["containers"]:
        _container(container, spec, prefix, offset, curl)
        if not limits:
            container.pop("resources", None)
    doc.update(kind="Deployment")
    doc["metadata"]["name"] = prefix + doc["metadata"]["name"]
    return [*pvcs, doc]


def _container(container: Doc, spec: ServiceSpec, prefix: str, offset: int,
               curl: bool) -> None:
    container.pop("startupProbe", None)
    container.pop("readinessProbe", None)
    if http_probe(container) and not curl:
        raise ComposeRuntimeError(f"{spec.name}: podman 4.3 runs an httpGet probe with curl, "
                                  f"which the image {spec.image} lacks",
                                  hint="use an exec healthcheck (x-phoenix-probe: exec), "
                                       "or an image with curl")
    for ref in container.get("envFrom") or []:
        if "configMapRef" in ref:
            ref["configMapRef"]["name"] = prefix + ref["configMapRef"]["name"]
    for var in container.get("env") or []:
        ref = as_dict(var.get("valueFrom")).get("secretKeyRef")
        if ref:
            ref["name"] = prefix + ref["name"]
    published = _published(spec)
    for port in container.get("ports") or []:
        if port["containerPort"] in published:
            port.update(hostPort=published[port["containerPort"]] + offset,
                        hostIP="127.0.0.1")


def http_probe(container: Doc) -> bool:
    return "httpGet" in (container.get("livenessProbe") or {})


def _published(spec: ServiceSpec) -> dict[int, int]:
    """Container port -> published host port, from the compose ``ports:``."""
    out = {}
    for port in spec.published:
        if isinstance(port, dict):
            if port.get("published"):
                out[int(port["target"])] = int(str(port["published"]).split("-")[0])
            continue
        parts = str(port).split("/")[0].split(":")
        if len(parts) >= 2 and parts[-2]:
            out[int(parts[-1])] = int(parts[-2])
    return out


class Player:
    """Plays an env's adapted manifests in dependency order, each healthy before the
    next, and takes exactly what it made down again (``played.json``)."""

    def __init__(self, stack: Stack, folder: Path, run: containers.Runner,
                 say: Callable[[str], None]) -> None:
        self.stack, self.folder, self.run, self.say = stack, folder, run, say
        self.prefix = f"{dns(stack.project)}-"
        self.network = f"{dns(stack.project)}-kube"
        self.record = folder / "played.json"

    def play(self, files: Mapping[str, list[Doc]], secrets: list[str], offset: int = 0,
             timeout: float = 300, limits: bool = True) -> list[Played]:
        """``limits=False``: resources left out (rootless podman on cgroups v1 cannot set
        them, and kube play fails where compose ignores them)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        state: dict[str, Any] = {"network": self.network, "secrets": secrets, "files": [],
                                 "volumes": [], "created": []}
        self._save(state)
        try:
            if self.run(argv_deploy.network_exists(self.network), ok_codes=(0, 1)).code:
                self.run(argv.network_create(self.network, internal=False), timeout=60)
            aliases: dict[str, str] = {}
            out = []
            for name in self.stack.order():
                if f"{dns(name)}.yaml" not in files:
                    continue
                spec = self.stack.services[name]
                docs = variant(files[f"{dns(name)}.yaml"], spec, self.stack.project, offset,
                               aliases, limits, self._curl(files[f"{dns(name)}.yaml"], spec))
                played = self._play_one(name, docs, state, timeout)
                aliases[dns(name)] = played.address
                out.append(played)
        except BaseException:  # an error or ^C: nothing this play made is left behind
            try:
                self._undo()
            except Exception as exc:  # noqa: BLE001 - the play's own error is the one raised
                self.say(f"warning: taking the failed play down failed too: {exc}; "
                         "take it down with --down")
            raise
        return out

    def _curl(self, docs: list[Doc], spec: ServiceSpec) -> bool:
        """Whether the image has curl, asked only when a probe needs it."""
        needed = any(http_probe(c) for d in docs if d["kind"] in ("Deployment", "StatefulSet")
                     for c in d["spec"]["template"]["spec"]["containers"])
        return needed and self.run(argv_deploy.image_has_program(str(spec.image), "curl"),
                                   ok_codes=(0, 1, 125, 126, 127), timeout=300).code == 0

    def _undo(self) -> None:
        """Take down a failed play: its pods, secrets and network, and the volumes it
        created (a claim's volume that was there before, with its data, is kept)."""
        created = set(json.loads(self.record.read_text(encoding="utf-8")).get("created", []))
        kept = self.down()
        gone = "no such|not found"
        if mine := [v for v in kept if v in created]:
            self.run(argv_deploy.volume_remove(*mine), tolerate=((1, gone), (125, gone)),
                     timeout=60)
        if rest := [v for v in kept if v not in created]:
            self._save({"network": self.network, "files": [], "secrets": [],
                        "volumes": rest, "created": []})
        elif self.record.exists():
            self.record.unlink()
        self.say("the failed play was taken down" + (
            f"; kept the volume(s) {', '.join(rest)} it found" if rest else ""))

    def _play_one(self, name: str, docs: list[Doc], state: dict[str, Any],
                  timeout: float) -> Played:
        file = self.folder / f"{dns(name)}.yaml"
        file.write_text(yaml.safe_dump_all(docs, sort_keys=False), encoding="utf-8")
        state["files"].append(str(file))
        claims = [d["metadata"]["name"] for d in docs if d["kind"] == "PersistentVolumeClaim"]
        state["volumes"] += claims
        state["created"] += [v for v in claims if self.run(
            argv_deploy.volume_exists(v), ok_codes=(0, 1)).code]
        self._save(state)
        self.run(argv_deploy.kube_play(str(file), self.network), timeout=300)
        workload = next(d for d in docs if d["kind"] == "Deployment")
        container = f"{workload['metadata']['name']}-pod-0-{dns(name)}"
        healthy = self._wait(container, workload, timeout)
        ports = tuple(f"127.0.0.1:{p['hostPort']}->{p['containerPort']}"
                      for c in workload["spec"]["template"]["spec"]["containers"]
                      for p in c.get("ports") or [] if "hostPort" in p)
        self.say(f"{name}: {container} {'healthy' if healthy else 'NOT healthy'}"
                 + (f" on {', '.join(ports)}" if ports else ""))
        if not healthy:
            raise ComposeRuntimeError(f"{name} did not become healthy under podman kube "
                                      "play; what the play made was taken down",
                                      hint="look at its healthcheck, or try the env with "
                                           "`inv up`, which keeps the failed container")
        return Played(name, container, self._address(container), ports)

    def _wait(self, container: str, workload: Doc, timeout: float) -> bool:
        """Drive the liveness probe with ``podman healthcheck run`` until it passes."""
        probe = workload["spec"]["template"]["spec"]["containers"][0].get("livenessProbe")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if probe is None:
                state = containers.inspect(self.run, [container]).get(container)
                if state is not None and state.running:
                    return True
            elif self.run(argv.healthcheck_run(container), ok_codes=(0, 1, 125),
                          timeout=60).code == 0:
                return True
            time.sleep(1)
        return False

    def _address(self, container: str) -> str:
        data = json.loads(self.run(argv.inspect(container), timeout=60).stdout or "[]")
        networks = as_dict(as_dict(data[0].get("NetworkSettings")).get("Networks")) \
            if data else {}
        return str(as_dict(networks.get(self.network)).get("IPAddress") or "")

    def down(self, volumes: bool = False) -> list[str]:
        """Take down what ``play`` made; the claims' volumes only with ``volumes``."""
        if not self.record.exists():
            return []
        state = json.loads(self.record.read_text(encoding="utf-8"))
        gone = "no such|not found|no pod with name"
        for file in reversed(state["files"]):
            if Path(file).exists():
                self.run(argv_deploy.kube_down(file), tolerate=((125, gone),), timeout=300)
        if state["secrets"]:
            self.run(argv.secret_remove(*state["secrets"]), tolerate=((1, gone), (125, gone)),
                     timeout=60)
        self.run(argv_deploy.network_remove(state["network"]), tolerate=((1, gone), (125, gone)),
                 timeout=60)
        kept = list(state["volumes"])
        if volumes and kept:
            self.run(argv_deploy.volume_remove(*kept), tolerate=((1, gone), (125, gone)),
                     timeout=60)
            kept = []
        if kept:  # what a later `--down --volumes` still removes
            self._save({**state, "files": [], "secrets": [], "volumes": kept})
        else:
            self.record.unlink()
        return kept

    def _save(self, state: dict[str, Any]) -> None:
        self.record.write_text(json.dumps(state, indent=1), encoding="utf-8")
