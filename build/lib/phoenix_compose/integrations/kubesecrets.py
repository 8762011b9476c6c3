"""The Secrets the manifests of :mod:`.kube` reference, made from the env's own secret
store: a compose secret ``S`` is the Secret ``dns(S)`` with the key ``value`` (read from
podman's store through a throwaway container with no network, or from its ``file:``), and
the variables of a service that look secret are the Secret ``<service>-env``, from the
validated config.  Values stay in memory and go on stdin only: to ``kubectl apply -f -``,
or into podman as JSON-shaped secrets (what ``podman kube play`` reads, podman#16269)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

from phoenix_compose.config.secretnames import is_plaintext_secret
from phoenix_compose.errors import ComposeRuntimeError
from phoenix_compose.integrations.kube import literal
from phoenix_compose.integrations.kubepod import Doc, dns
from phoenix_compose.runtime import argv, argv_deploy, busybox, containers
from phoenix_compose.runtime.secret_swap import check_value, replace_secret
from phoenix_compose.runtime.secrets import Driver
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict


def referenced(files: Mapping[str, list[Doc]]) -> dict[str, set[str]]:
    """Secret name -> the keys the manifests read from it."""
    out: dict[str, set[str]] = {}
    for docs in files.values():
        for doc in docs:
            pod = as_dict(as_dict(as_dict(doc.get("spec")).get("template")).get("spec"))
            for container in pod.get("containers") or []:
                for var in container.get("env") or []:
                    ref = as_dict(var.get("valueFrom")).get("secretKeyRef")
                    if ref:
                        out.setdefault(ref["name"], set()).add(ref["key"])
            for volume in pod.get("volumes") or []:
                for source in as_dict(volume.get("projected")).get("sources") or []:
                    if "secret" in source:
                        out.setdefault(source["secret"]["name"], set()).update(
                            item["key"] for item in source["secret"].get("items") or [])
    return out


def values(stack: Stack, root: Path, wanted: Mapping[str, set[str]],
           run: containers.Runner) -> dict[str, dict[str, str]]:
    """Secret name -> key -> value, for every Secret in ``wanted``; a missing one is an
    error naming what to set (nothing is created then)."""
    env_secrets = {f"{dns(name)}-env": _secret_env(literal(spec.raw))
                   for name, spec in stack.services.items()}
    declared = as_dict(stack.top.get("secrets"))
    by_dns = {dns(name): (name, spec) for name, spec in declared.items()}
    out: dict[str, dict[str, str]] = {}
    for secret, keys in sorted(wanted.items()):
        if secret in env_secrets:
            out[secret] = {k: env_secrets[secret][k] for k in sorted(keys)
                           if k in env_secrets[secret]}
        elif secret in by_dns:
            name, spec = by_dns[secret]
            out[secret] = {"value": _compose_secret(name, as_dict(spec), root, run)}
        else:
            raise ComposeRuntimeError(f"the manifests reference the Secret {secret}, which "
                                      "no service or compose secret provides")
    return out


def _secret_env(raw: dict[str, Any]) -> dict[str, str]:
    env = as_dict(raw.get("environment"))
    return {str(k): "" if v is None else str(v) for k, v in env.items()
            if is_plaintext_secret(str(k), v)}


def _compose_secret(name: str, spec: dict[str, Any], root: Path,
                    run: containers.Runner) -> str:
    if spec.get("file"):
        return (root / str(spec["file"])).read_text(encoding="utf-8")
    from phoenix_compose.runtime.doctor import SMOKE_IMAGE  # only /bin/busybox

    image = busybox.ensure_image(run, SMOKE_IMAGE, busybox.SMOKE)
    # every exit code is an answer: a CommandError would carry stdout, which is the value
    result = run(argv_deploy.read_secret(image, name), timeout=120, ok_codes=range(256))
    if result.code:
        raise ComposeRuntimeError(f"secret {name} could not be read from podman's store",
                                  hint=f"is it set? inv secrets.list (podman said: "
                                       f"{result.stderr.strip()[-200:]})")
    return result.stdout


def secret_docs(found: Mapping[str, Mapping[str, str]], labels: Mapping[str, str]) -> str:
    """Kubernetes Secret documents (base64 ``data``), for ``kubectl apply -f -`` only."""
    docs = [{"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
             "metadata": {"name": name, "labels": dict(labels)},
             "data": {k: _b64(v) for k, v in sorted(keys.items())}}
            for name, keys in sorted(found.items())]
    return yaml.safe_dump_all(docs, sort_keys=False)


def podman_json(keys: Mapping[str, str]) -> str:
    """The data of a podman secret ``podman kube play`` reads for ``secretKeyRef``."""
    return json.dumps({k: _b64(v) for k, v in sorted(keys.items())})


def _b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def to_podman(found: Mapping[str, Mapping[str, str]], prefix: str, driver: Driver,
              run: containers.Runner, say: Callable[[str], None]) -> list[str]:
    """Create (or replace) the JSON-shaped podman secret ``<prefix><name>`` of each, with
    the env's own driver (``pass`` in production: encrypted at rest)."""
    made = put_secrets({f"{prefix}{name}": podman_json(keys) for name, keys in found.items()},
                       driver, run)
    for name, keys in sorted(found.items()):
        say(f"podman secret {prefix}{name}: {', '.join(sorted(keys))}")
    return made


def put_secrets(data: Mapping[str, str], driver: Driver, run: containers.Runner) -> list[str]:
    """Create (or replace) podman secret ``name`` holding ``data[name]``, given on stdin."""
    have = set(run(argv.secret_names(), timeout=60).stdout.split())
    for name, value in sorted(data.items()):
        check_value(name, value)
    for name, value in sorted(data.items()):
        replace_secret(run, name, value, have, driver=driver.name, options=driver.options)
    return sorted(data)
