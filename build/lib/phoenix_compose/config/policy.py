"""The production policy: rules a production environment (``prod``, or any env with
``PHOENIX_PRODUCTION=true``) must also pass."""

from __future__ import annotations

import re
from typing import Any

from phoenix_compose.config.locator import Locator
from phoenix_compose.config.merge import port_key
from phoenix_compose.config.secretnames import is_plaintext_secret, looks_secret, url_passwords
from phoenix_compose.errors import Problem


def _map(value: Any) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def image_is_pinned(image: str) -> bool:
    if "@sha256:" in image or "@" in image:
        return True
    name = image.rsplit("/", 1)[-1]
    return ":" in name and name.rsplit(":", 1)[1] not in ("", "latest")


DANGEROUS_CAPS = {"ALL", "SYS_ADMIN", "CAP_SYS_ADMIN", "CAP_ALL"}
HOST_NAMESPACES = ("network_mode", "pid", "ipc")
SENSITIVE_MOUNTS = ("/", "/etc", "/root", "/var/run", "/run")
SOCKETS = ("docker.sock", "podman.sock")
PUBLIC_PORTS = "x-phoenix-public-ports"  # per service: published ports allowed on all IPs


def production_problems(model: dict[str, Any], where: Locator,
                        profiles: frozenset[str] = frozenset()) -> list[Problem]:
    """The production rules, on the typed final model (``privileged: "TRUE"`` is already the
    boolean true here); ``profiles``: the env's active ones (``COMPOSE_PROFILES``)."""
    out = []
    for name, svc in _map(model.get("services")).items():
        if isinstance(svc, dict):
            out += _image_rule(name, svc, where, _enabled(svc, profiles))
            for rule in (_privilege_rules, _mount_rules, _port_rules, _secret_rules):
                out += rule(name, svc, where)
    out += _internal_port_rules(model, where)
    for name, secret in _map(model.get("secrets")).items():
        if isinstance(secret, dict) and "file" in secret:
            out.append(_problem(where, ("secrets", name, "file"),
                                f"secret '{name}' is a plaintext file",
                                hint="declare it `external: true` and store it with `inv "
                                     "secrets.set NAME --env ENV` (podman secrets)"))
    return out


def _enabled(svc: dict[str, Any], profiles: frozenset[str]) -> bool:
    named = svc.get("profiles")
    return not isinstance(named, list) or not named or bool(profiles.intersection(named))


def _problem(where: Locator, path: tuple, message: str, hint: str = "",
             key: bool = False) -> Problem:
    if key:
        return Problem(where.at(path, key=True), f"production policy: {message}", hint=hint)
    loc, note = where.value(path)
    return Problem(loc, f"production policy: {message}{note}", hint=hint)


def _image_rule(name: str, svc: dict, where: Locator, enabled: bool) -> list[Problem]:
    """Every image the env runs is pinned by digest: a tag can move, a digest cannot.  A
    service its profiles leave out needs a fixed tag here (``up --profile`` then wants a
    digest)."""
    image = svc.get("image")
    if not isinstance(image, str):
        return []
    if enabled and not pinned_by_digest(image):
        return [_problem(where, ("services", name, "image"),
                         f"image '{image}' of service '{name}' is not pinned by digest",
                         hint="promote it (`inv images.promote --to <env>`), which pins "
                              "the variable its image: reads to <registry>/...@sha256:... "
                              "in envs/<env>.lock")]
    if not image_is_pinned(image):
        return [_problem(where, ("services", name, "image"),
                         f"image '{image}' of service '{name}' is not pinned",
                         hint="use a digest, or at least a fixed tag other than latest")]
    return []


def pinned_by_digest(image: str) -> bool:
    return re.search(r"@sha256:[0-9a-f]{64}$", image) is not None


def _privilege_rules(name: str, svc: dict, where: Locator) -> list[Problem]:
    base = ("services", name)
    out = []
    if svc.get("privileged") is True:
        out.append(_problem(where, base + ("privileged",),
                            f"service '{name}' must not be privileged", key=True))
    caps = svc.get("cap_add")
    for i, cap in enumerate(caps if isinstance(caps, list) else []):
        if str(cap).upper() in DANGEROUS_CAPS:
            out.append(_problem(where, base + ("cap_add", i),
                                f"service '{name}' must not add capability {cap}",
                                hint="add only the narrow capabilities it needs"))
    for key in HOST_NAMESPACES:
        if svc.get(key) == "host":
            out.append(_problem(where, base + (key,),
                                f"service '{name}' must not use the host's {key} namespace"))
    return out


def _mount_source(volume: Any) -> str | None:
    if isinstance(volume, dict):
        return str(volume.get("source") or "") if volume.get("type", "volume") == "bind" \
            else None
    text = str(volume)
    return text.split(":")[0] if ":" in text and text.startswith(("/", ".", "~")) else None


def _mount_rules(name: str, svc: dict, where: Locator) -> list[Problem]:
    out = []
    volumes = svc.get("volumes")
    for i, volume in enumerate(volumes if isinstance(volumes, list) else []):
        source = _mount_source(volume)
        if not source:
            continue
        normal = source.rstrip("/") or "/"
        if normal.endswith(SOCKETS):
            out.append(_problem(where, ("services", name, "volumes", i),
                                f"service '{name}' must not mount the container engine's "
                                f"socket {source}"))
        elif normal in SENSITIVE_MOUNTS:
            out.append(_problem(where, ("services", name, "volumes", i),
                                f"service '{name}' must not bind-mount the host's {normal}"))
    return out


def _port_rules(name: str, svc: dict, where: Locator) -> list[Problem]:
    allowed = {str(p) for p in svc.get(PUBLIC_PORTS) or []} if isinstance(
        svc.get(PUBLIC_PORTS), list) else set()
    out = []
    ports = svc.get("ports")
    for i, port in enumerate(ports if isinstance(ports, list) else []):
        ip, _target, published, _proto = port_key(port)
        if published and ip in ("", "0.0.0.0", "::", "[::]") and published not in allowed:
            out.append(_problem(where, ("services", name, "ports", i),
                                f"service '{name}' publishes port {published} on every "
                                "interface",
                                hint=f"bind it to 127.0.0.1 (or a specific IP), or list "
                                     f"{published} in the service's {PUBLIC_PORTS}"))
    return out


def _internal_port_rules(model: dict[str, Any], where: Locator) -> list[Problem]:
    """A service only on ``internal: true`` networks must not publish ports: the network
    is meant to be unreachable from the host (the database's backend)."""
    internal = {n for n, d in _map(model.get("networks")).items()
                if isinstance(d, dict) and d.get("internal") is True}
    out = []
    for name, svc in _map(model.get("services")).items():
        nets = set(_map(svc.get("networks"))) if isinstance(svc, dict) else set()
        if nets and nets <= internal and isinstance(svc.get("ports"), list) and svc["ports"]:
            out.append(_problem(where, ("services", name, "ports"),
                                f"service '{name}' publishes ports but sits only on internal "
                                f"network(s) {', '.join(sorted(nets))}", key=True,
                                hint="remove its ports, or attach it to a non-internal "
                                     "network as well"))
    return out


def _secret_rules(name: str, svc: dict, where: Locator) -> list[Problem]:
    """No secret in plain text (the one rule of :mod:`.secretnames`): neither a value under
    a secret-looking name nor a URL with a password, in a mapping or a list environment."""
    env = svc.get("environment")
    items = env.items() if isinstance(env, dict) else ()
    out = []
    for key, value in items:
        if not is_plaintext_secret(str(key), value):
            continue
        what = f"plaintext secret '{key}'" if looks_secret(str(key)) else \
            f"a password in the URL of '{key}'"
        out.append(_problem(where, ("services", name, "environment", key),
                            f"{what} in the environment of service '{name}'",
                            key=not url_passwords(str(value)),
                            hint=f"use a compose secret and {key}_FILE=/run/secrets/..."))
    return out
