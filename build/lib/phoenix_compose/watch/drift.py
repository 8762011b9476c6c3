"""Drift: running containers compared with the validated ``compose.yaml``.

Per service: the image (by digest where the config pins one), the environment (key names,
never values), volume mounts, published ports, the config's labels and podman-compose's
config-hash label (checked against ``.phoenix/<env>/applied.json``).  For the project:
containers the config does not have (orphans) and services that should run but have no
container (missing).  Drift is reported, never "fixed": only the watcher's usual
recreation of a missing container acts on it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from phoenix_compose.config.identity import OWNER_LABEL
from phoenix_compose.errors import ConfigurationError
from phoenix_compose.runtime import argv, containers
from phoenix_compose.runtime.fingerprint import Applied, Fingerprint, fingerprint
from phoenix_compose.runtime.ownership import Owner
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.shapes import as_dict

Diff = dict[str, Any]  # {"field": ..., "name"?: ..., "expected"?: ..., "actual"?: ...}
# set by podman or the image for every container: not drift when the config is silent
_AMBIENT_ENV = {"container", "HOSTNAME", "HOME", "PATH", "TERM"}
_IMAGE_PREFIXES = ("docker.io/library/", "docker.io/", "localhost/")
DEFAULT_INTERVAL = 60.0
INTERVAL_KEY = "x-phoenix-drift-interval"


def interval(stack: Stack) -> float:
    """Seconds between drift checks (0: off)."""
    try:
        return max(0.0, float(stack.top.get(INTERVAL_KEY, DEFAULT_INTERVAL)))
    except (TypeError, ValueError):
        return DEFAULT_INTERVAL


def detect(stack: Stack, run: containers.Runner, applied: Applied,
           expected_running: Callable[[str], bool], owner: Owner | None = None
           ) -> dict[str, list[Diff]]:
    """Every drifting service (or orphan container, by its name) with its diffs; a
    container of another stack root (``owner`` tells) is neither."""
    names: list[str] = []
    for label in (argv.PROJECT_LABEL, "com.docker.compose.project"):  # made by hand: either
        listing = json.loads(run(argv.ps(stack.project, label), timeout=60).stdout or "[]")
        names += [n for item in listing for n in (item.get("Names") or [])[:1]
                  if n not in names]
    raw = json.loads(run(argv.inspect(*names), tolerate=argv.NO_SUCH_CONTAINER,
                         timeout=60).stdout or "[]") if names else []
    by_name = {item.get("Name", "").lstrip("/"): item for item in raw
               if owner is None or not _foreign(owner, item)}
    image_env = _image_env(run, {item.get("Image", "") for item in raw})
    out: dict[str, list[Diff]] = {}
    for name, spec in stack.services.items():
        item = by_name.pop(spec.container, None)
        if item is None:
            if expected_running(name):
                out[name] = [{"field": "container", "expected": spec.container,
                              "actual": None}]
            continue
        diffs = compare(stack, name, item, image_env.get(item.get("Image", ""), {}), applied)
        if diffs:
            out[name] = diffs
    for container, item in by_name.items():  # the project's, but not the config's
        service = as_dict(as_dict(item.get("Config")).get("Labels")).get(
            "com.docker.compose.service", "")
        out[f"orphan:{container}"] = [{"field": "orphan", "actual": container,
                                       "service": service or None}]
    return out


def _foreign(owner: Owner, item: Mapping[str, Any]) -> bool:
    labels = as_dict(as_dict(item.get("Config")).get("Labels"))
    return owner.owns(labels.get(OWNER_LABEL, ""),
                      labels.get(containers.WORKING_DIR_LABEL, "")) is False


def compare(stack: Stack, name: str, item: Mapping[str, Any], image_env: Mapping[str, str],
            applied: Applied) -> list[Diff]:
    spec = stack.services[name]
    config = as_dict(item.get("Config"))
    diffs = _image(spec.image, item)
    diffs += _environment(spec.environment, config.get("Env") or [], image_env)
    diffs += _set_diff("mounts", _expected_mounts(spec.volumes),
                       {m.get("Destination", "") for m in item.get("Mounts") or []
                        if m.get("Type") in ("bind", "volume")
                        and not str(m.get("Destination", "")).startswith("/run/secrets/")})
    diffs += _set_diff("ports", _expected_ports(spec.ports), _actual_ports(item))
    labels = as_dict(config.get("Labels"))
    for key, value in sorted(spec.labels.items()):
        if labels.get(key) != value:
            diffs.append({"field": "labels", "name": key, "expected": value,
                          "actual": labels.get(key)})
    stored = applied.get(labels.get(containers.CONFIG_HASH_LABEL, ""))
    if stored is None:
        diffs.append({"field": "config-hash", "expected": "made by phoenix from this config",
                      "actual": labels.get(containers.CONFIG_HASH_LABEL) or None})
    else:
        diffs += _fingerprint_diff(stack, name, stored)
    return diffs


def _fingerprint_diff(stack: Stack, name: str, stored: Fingerprint) -> list[Diff]:
    """What changed since the container was made; a secret or config file that cannot be
    read (a FIFO, a link, too large) is a drift of its own, never a hang or a crash."""
    try:
        changes = stored.changes(fingerprint(stack, name))
    except ConfigurationError as exc:
        return [{"field": "config-hash", "changes": [str(exc).splitlines()[0]]}]
    return [{"field": "config-hash", "changes": changes}] if changes else []


def _image(image: str | None, item: Mapping[str, Any]) -> list[Diff]:
    if not image:
        return []
    if "@sha256:" in image:
        digest = image.split("@", 1)[1]
        actual = item.get("ImageDigest") or ""
        return [] if actual == digest else [{"field": "image", "expected": digest,
                                             "actual": actual or None}]
    actual = str(item.get("ImageName") or "")
    return [] if _plain(actual) == _plain(image) else [{"field": "image", "expected": image,
                                                         "actual": actual or None}]


def _plain(image: str) -> str:
    for prefix in _IMAGE_PREFIXES:
        if image.startswith(prefix):
            return image[len(prefix):]
    return image


def _environment(declared: Any, env: list[str], image_env: Mapping[str, str]) -> list[Diff]:
    declared = _mapping(declared)
    passed = {k for k, v in declared.items() if v is None}  # the host's, if it has one
    actual = {key: value for key, _, value in (e.partition("=") for e in env)}
    expected = {k: str(v) for k, v in declared.items() if v is not None}
    diffs = []
    for key in sorted((set(expected) | set(actual)) - passed):
        if key not in actual:
            diffs.append({"field": "environment", "name": key, "change": "removed"})
        elif key not in expected:
            if key not in _AMBIENT_ENV and image_env.get(key) != actual[key]:
                diffs.append({"field": "environment", "name": key, "change": "added"})
        elif actual[key] != expected[key]:
            diffs.append({"field": "environment", "name": key, "change": "changed"})
    return diffs  # names only: a value may be secret


def _mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    if isinstance(value, list):  # KEY=VALUE items
        return {key: value if sep else None
                for key, sep, value in (str(v).partition("=") for v in value)}
    return {}


def _expected_mounts(volumes: Sequence[Any]) -> set[str]:
    out = set()
    for volume in volumes:
        target = volume.get("target") if isinstance(volume, dict) else \
            str(volume).split(":")[1] if ":" in str(volume) else str(volume)
        if target:
            out.add(str(target))
    return out


def _expected_ports(ports: Sequence[Any]) -> set[str]:
    out = set()
    for port in ports:
        if isinstance(port, dict):
            ip, host, target = port.get("host_ip", ""), port.get("published"), port["target"]
            proto = port.get("protocol", "tcp")
        else:
            parts, proto = str(port).rsplit("/", 1) if "/" in str(port) else (str(port), "tcp")
            fields = parts.split(":")
            target, host = fields[-1], fields[-2] if len(fields) > 1 else None
            ip = fields[0] if len(fields) > 2 else ""
        if host:
            out.add(f"{ip or '0.0.0.0'}:{host}->{target}/{proto}")
    return out


def _actual_ports(item: Mapping[str, Any]) -> set[str]:
    ports = as_dict(as_dict(item.get("NetworkSettings")).get("Ports")).items()
    return {f"{b.get('HostIp') or '0.0.0.0'}:{b.get('HostPort')}->{target}"
            for target, binds in ports for b in binds or []}


def _set_diff(field: str, expected: set[str], actual: set[str]) -> list[Diff]:
    return [{"field": field, "expected": v, "actual": None} for v in sorted(expected - actual)] \
        + [{"field": field, "expected": None, "actual": v} for v in sorted(actual - expected)]


def _image_env(run: containers.Runner, image_ids: set[str]) -> dict[str, dict[str, str]]:
    ids = sorted(i for i in image_ids if i)
    if not ids:
        return {}
    result = run(argv.image_inspect(*ids), tolerate=argv.NO_SUCH_IMAGE, timeout=60)
    out = {}
    for item in json.loads(result.stdout or "[]"):
        env = as_dict(item.get("Config")).get("Env") or []
        out[item.get("Id", "")] = dict(e.split("=", 1) for e in env if "=" in e)
    return out


class DriftWatch:
    """Runs :func:`detect` every :func:`interval` seconds in the watcher's pool; a service's
    diff is reported (``drift_detected``) when it appears or changes, ``drift_resolved``
    when it goes away, and every check ends with a quiet ``drift_checked``."""

    def __init__(self, stack: Stack, run: containers.Runner, applied_path: Any,
                 emit: Callable[..., Any], owner: Owner | None = None) -> None:
        self.stack, self.run, self.applied_path, self.emit = stack, run, applied_path, emit
        self.owner = owner
        self.every = interval(stack)
        self.last_at: float | None = None
        self.known: dict[str, list[Diff]] = {}
        self.busy = False

    def maybe(self, pool: Any, now: float, expected_running: Callable[[str], bool]) -> None:
        if self.every <= 0 or self.busy or (self.last_at is not None and
                                            now - self.last_at < self.every):
            return
        self.last_at, self.busy = now, True
        pool.submit(self.check, expected_running)

    def check(self, expected_running: Callable[[str], bool]) -> dict[str, list[Diff]]:
        try:
            found = detect(self.stack, self.run, Applied(self.applied_path), expected_running,
                           self.owner)
        except Exception as exc:  # noqa: BLE001 - podman failing: reported, tried again later
            self.emit("watch_error", None, error=f"drift check: {str(exc).splitlines()[0]}")
            return {}
        finally:
            self.busy = False
        for key, diffs in sorted(found.items()):
            if self.known.get(key) != diffs:
                service, orphan = (None, key.split(":", 1)[1]) if key.startswith("orphan:") \
                    else (key, None)
                self.emit("drift_detected", service, orphan=orphan, diff=diffs)
        for key in sorted(set(self.known) - set(found)):
            self.emit("drift_resolved", None if key.startswith("orphan:") else key,
                      orphan=key.split(":", 1)[1] if key.startswith("orphan:") else None)
        self.known = found
        self.emit("drift_checked", None, drifted=sorted(found))
        return found
