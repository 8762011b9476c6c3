"""The ``[Container]`` section of one service's Quadlet unit (see :mod:`.quadlet`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.config.reference import reference_problem
from phoenix_compose.config.secretnames import is_plaintext_secret
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.integrations.kube import literal
from phoenix_compose.integrations.kubepod import dns, grace, networks_of, volume
from phoenix_compose.integrations.quadletkeys import has, parse
from phoenix_compose.runtime.stack import ServiceSpec, Stack
from phoenix_compose.shapes import as_dict

Items = list[tuple[str, str]]
_UNSAFE = re.compile(r"[\s\"'\\\x00-\x1f\x7f]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def word(text: Any) -> str:
    """A value of a key Quadlet splits into words (Environment, Label, Exec, PodmanArgs):
    ``%`` escaped, quoted when it has blanks or quotes."""
    value = raw_value(text)
    if not value or _UNSAFE.search(value):
        quoted = value.replace("\\", "\\\\").replace('"', '\\"')
        # a line break (or any control character) as a C escape: never a new unit line
        return '"' + CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", quoted) + '"'
    return value


def raw_value(text: Any) -> str:
    """A value Quadlet passes on whole (HealthCmd, Image, Volume...): only ``%`` escaped,
    because systemd expands specifiers in the generated service."""
    return str(text).replace("%", "%%")


def image_value(image: Any) -> str:
    """Quadlet puts ``Image=`` after ``podman run``'s options, without ``--``: anything but
    an image reference could be read as an option (``--privileged``).  The config's
    validation refuses it first, where it was written; this keeps the unit from ever
    holding one."""
    why = reference_problem(str(image))
    if why:
        raise ConfigurationError(f"error: [Container] Image={str(image)!r} is not an image "
                                 f"reference ({why}); nothing was written")
    return raw_value(image)


def container_section(stack: Stack, spec: ServiceSpec, root: Path, version: str, prefix: str,
                      warnings: list[str]) -> Items:
    raw = spec.raw
    items: Items = [("ContainerName", stack.container_of(spec.name)),
                    ("Image", image_value(spec.image))]
    args: list[str] = []  # PodmanArgs: only options with no key in this version
    for key, value in (("io.podman.compose.project", stack.project),
                       ("io.podman.compose.service", spec.name),
                       ("com.docker.compose.project", stack.project),
                       ("com.docker.compose.service", spec.name)):
        items.append(("Label", word(f"{key}={value}")))
    items += [("Label", word(f"{k}={'' if v is None else v}"))
              for k, v in spec.labels.items() if k != OWNER_LABEL]  # the service's own
    items += _network(spec, version, prefix, args)
    items += [("PublishPort", _port(p)) for p in spec.published]
    items += _volumes(stack, spec, root, prefix, warnings)
    items += [("Tmpfs", raw_value(t)) for t in _list(raw.get("tmpfs"))]
    items += _environment(stack, spec, warnings)
    items += _secrets(raw)
    items += _security(raw)
    items += _resources(raw, version, args, warnings)
    items += _process(spec, version, args)
    items += _health(spec, version, warnings)
    items += [("PodmanArgs", word(a)) for a in args]
    return items


def _list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)] if value else []


def _network(spec: ServiceSpec, version: str, prefix: str, args: list[str]) -> Items:
    items = [("Network", f"{prefix}{dns(n)}.network") for n in networks_of(spec)]
    if has(version, "Container", "NetworkAlias"):  # the service name, as compose gives it
        items.append(("NetworkAlias", raw_value(spec.name)))
    else:
        args.append(f"--network-alias={spec.name}")
    return items


def _port(port: Any) -> str:
    if isinstance(port, dict):
        host = f"{port['host_ip']}:" if port.get("host_ip") else ""
        published = f"{port['published']}:" if port.get("published") else ""
        proto = f"/{port['protocol']}" if port.get("protocol", "tcp") != "tcp" else ""
        return raw_value(f"{host}{published}{port['target']}{proto}")
    return raw_value(port)


def _volumes(stack: Stack, spec: ServiceSpec, root: Path, prefix: str,
             warnings: list[str]) -> Items:
    declared = as_dict(stack.top.get("volumes"))
    items: Items = []
    for item in spec.volumes:
        source, target = volume(item)
        mode = ":ro" if (isinstance(item, dict) and item.get("read_only")) or \
            str(item).endswith(":ro") else ""
        if not source:
            items.append(("Volume", raw_value(target)))
        elif source in declared:
            items.append(("Volume", raw_value(f"{prefix}{dns(source)}.volume:{target}{mode}")))
        else:
            path = (root / source).resolve() if not source.startswith("/") else Path(source)
            warnings.append(f"{spec.name}: bind mount {source} is {path} on this machine")
            items.append(("Volume", raw_value(f"{path}:{target}{mode}")))
    return items


def secret_name(stack: Stack, service: str, key: str) -> str:
    return f"{dns(stack.project)}-{dns(service)}-{dns(key)}"


def secret_values(stack: Stack) -> dict[str, str]:
    """The podman secret of each variable that looks secret (``Secret=...,type=env`` in
    the units) and its value as the container sees it (compose's ``$$`` is ``$``)."""
    return {secret_name(stack, spec.name, str(key)): literal("" if value is None else str(value))
            for spec in stack.services.values()
            for key, value in spec.environment.items()
            if is_plaintext_secret(str(key), value)}


def _environment(stack: Stack, spec: ServiceSpec, warnings: list[str]) -> Items:
    """Plain variables as Environment=; one that looks secret is read from a podman secret
    (type=env), never written here."""
    env = spec.environment
    items: Items = []
    for key, value in sorted(env.items()):
        if value is None:
            continue  # a pass-through the host did not set: a unit has no host to ask
        if is_plaintext_secret(str(key), value):
            name = secret_name(stack, spec.name, str(key))
            items.append(("Secret", raw_value(f"{name},type=env,target={key}")))
            warnings.append(f"{spec.name}: {key} looks secret: read from the podman secret "
                            f"{name} (inv deploy.quadlet-secrets creates it)")
        else:
            items.append(("Environment", word(f"{key}={value}")))
    return items


def _secrets(raw: dict[str, Any]) -> Items:
    items: Items = []
    for ref in raw.get("secrets") or []:
        if not isinstance(ref, dict):
            items.append(("Secret", raw_value(ref)))
            continue
        options = [str(ref["source"])] + [f"{k}={ref[k]}" for k in ("target", "uid", "gid",
                                                                       "mode") if ref.get(k)]
        items.append(("Secret", raw_value(",".join(options))))
    return items


def _security(raw: dict[str, Any]) -> Items:
    items: Items = []
    if raw.get("read_only"):
        items.append(("ReadOnly", "true"))
    items += [("DropCapability", raw_value(c)) for c in raw.get("cap_drop") or []]
    items += [("AddCapability", raw_value(c)) for c in raw.get("cap_add") or []]
    if any(str(o).replace("=", ":") in ("no-new-privileges:true", "no-new-privileges")
           for o in raw.get("security_opt") or []):
        items.append(("NoNewPrivileges", "true"))
    if raw.get("user"):
        items.append(("User", raw_value(raw["user"])))
    return items


def _resources(raw: dict[str, Any], version: str, args: list[str],
               warnings: list[str]) -> Items:
    limits = as_dict(as_dict(as_dict(raw.get("deploy")).get("resources")).get("limits"))
    items: Items = []
    if limits.get("memory") is not None:
        if has(version, "Container", "Memory"):
            items.append(("Memory", raw_value(limits["memory"])))
        else:
            args.append(f"--memory={limits['memory']}")
    if limits.get("cpus") is not None:
        args.append(f"--cpus={limits['cpus']}")  # no Quadlet key in any version
    if limits.get("pids") is not None:
        items.append(("PidsLimit", str(limits["pids"])))
    for name, value in as_dict(raw.get("ulimits")).items():  # nofile: 1024 or {soft, hard}
        both = as_dict(value)
        text = f"{name}={both.get('soft')}:{both.get('hard')}" if both else f"{name}={value}"
        if has(version, "Container", "Ulimit"):
            items.append(("Ulimit", raw_value(text)))
        else:
            args.append(f"--ulimit={text}")
    return items


def _process(spec: ServiceSpec, version: str, args: list[str]) -> Items:
    raw, items = spec.raw, []
    if raw.get("entrypoint"):
        entry = raw["entrypoint"] if isinstance(raw["entrypoint"], list) else \
            [raw["entrypoint"]]
        text = entry[0] if len(entry) == 1 else json.dumps(entry)
        if has(version, "Container", "Entrypoint"):
            items.append(("Entrypoint", raw_value(text)))
        else:
            args.append(f"--entrypoint={text}")
    if raw.get("command"):
        command = raw["command"] if isinstance(raw["command"], list) else [raw["command"]]
        items.append(("Exec", " ".join(word(a) for a in command)))
    if has(version, "Container", "StopTimeout"):
        items.append(("StopTimeout", str(grace(spec))))
    else:
        args.append(f"--stop-timeout={grace(spec)}")
    return items


def _health(spec: ServiceSpec, version: str, warnings: list[str]) -> Items:
    test = spec.health_test
    health = spec.health
    if health is None or not test or test == ["NONE"]:
        return []
    command = test if isinstance(test, str) else \
        test[1] if test[0] == "CMD-SHELL" else json.dumps(test[1:])
    if "\n" in command:  # a multi-line shell test, as an argv: JSON escapes the line breaks
        command = json.dumps(["/bin/sh", "-c", command])
    items = [("HealthCmd", raw_value(command)), ("HealthInterval", _sec(health.interval)),
             ("HealthTimeout", _sec(health.timeout)), ("HealthRetries", str(health.retries)),
             ("HealthStartPeriod", _sec(health.start_period)), ("HealthOnFailure", "kill")]
    if parse(version) >= (5, 0):
        items.append(("Notify", "healthy"))  # started = healthy: After= waits for health
    else:
        warnings.append(f"{spec.name}: podman {version} has no Notify=healthy (5.0): units "
                        "that depend on it start when it starts, not when it is healthy")
    return items


def _sec(value: float) -> str:
    return f"{value:g}s"
