"""The service keys each export carries, and the warning for every one it does not: a key
that is not in an export's list is named, with where it is in the final compose file, so
a field the export cannot carry (``ulimits``, ``labels``...) is never dropped in silence.

A key in a list may still be carried only in part; :func:`partial` names what of it is
left out (``cap_drop`` other than ALL in Kubernetes, ``security_opt`` other than
no-new-privileges, a ``restart`` policy other than always)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from phoenix_compose.runtime.stack import ServiceSpec
from phoenix_compose.shapes import as_dict

# handled (or warned about where they are handled) by every export
_COMMON = frozenset({
    "image", "build", "profiles", "environment", "env_file", "ports", "volumes", "tmpfs",
    "secrets", "healthcheck", "depends_on", "deploy", "entrypoint", "command", "cap_drop",
    "read_only", "security_opt", "user", "stop_grace_period", "networks", "restart",
    "container_name", "labels", "x-phoenix-probe", "x-phoenix-restart",
    "x-phoenix-edge-mode"})  # the edge's proxy mode: a Service and a port are TCP anyway
KUBE = (_COMMON - {"container_name"}) | {"expose", "x-phoenix-backup"}  # pods: own names
QUADLET = _COMMON | {"cap_add", "expose", "ulimits"}
KUBE_DEPLOY = frozenset({"replicas", "resources", "update_config", "rollback_config"})
QUADLET_DEPLOY = frozenset({"replicas", "resources"})


def uncarried(spec: ServiceSpec, keys: frozenset[str], deploy_keys: frozenset[str],
              compose_file: Path | None = None) -> list[str]:
    """A warning for each key of ``spec`` (and of its ``deploy``) not in the lists."""
    lines = _key_lines(compose_file, spec.name) if compose_file else {}
    out = []
    names = [k for k in spec.raw if k not in keys]
    names += [f"deploy.{k}" for k in as_dict(spec.raw.get("deploy")) if k not in deploy_keys]
    for key in names:
        where = f" ({compose_file}:{lines[key]})" if key in lines else ""
        out.append(f"{spec.name}: {key} is not carried{where}")
    return out


def partial(spec: ServiceSpec, kube: bool) -> list[str]:
    """What of a carried key is left out."""
    raw, out = spec.raw, []
    if kube:
        drops = [str(c) for c in raw.get("cap_drop") or [] if str(c) != "ALL"]
        if drops:
            out.append(f"{spec.name}: cap_drop {', '.join(drops)} is not carried (only ALL)")
        restart = str(raw.get("restart") or "always").split(":")[0]
        if restart not in ("always", "unless-stopped"):
            out.append(f"{spec.name}: restart: {restart} is not carried (a Deployment's "
                       "pods always restart)")
    opts = [str(o) for o in raw.get("security_opt") or []
            if str(o).replace("=", ":") not in ("no-new-privileges:true", "no-new-privileges")]
    if opts:
        out.append(f"{spec.name}: security_opt {', '.join(opts)} is not carried")
    return out


def _key_lines(compose_file: Path, service: str) -> dict[str, int]:
    """``key`` / ``deploy.key`` -> its line in the final compose file; {} when the file
    cannot be read."""
    from phoenix_compose.config import yamlsrc
    from phoenix_compose.errors import ConfigurationError

    try:
        root = yamlsrc.load(compose_file.read_text(encoding="utf-8"),
                            yamlsrc.plain_locator(str(compose_file)))
    except (OSError, UnicodeDecodeError, ConfigurationError):
        return {}
    services = _child(root, "services")
    node = _child(services, service)
    out = {}
    for key, child in _items(node):
        out[key] = (child.kloc or child.loc).line
        if key == "deploy":
            out.update({f"deploy.{k}": (c.kloc or c.loc).line for k, c in _items(child)})
    return out


def _child(node: Any, key: str) -> Any:
    return dict(_items(node)).get(key)


def _items(node: Any) -> list[tuple[str, Any]]:
    value = getattr(node, "value", None)
    return [(str(k), v) for k, v in value.items()] if isinstance(value, dict) else []
