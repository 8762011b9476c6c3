"""Compose-spec merge of located trees (spec ``13-merge.md``, compose-go ``override``).

Each file is first brought to one spelling per attribute (:mod:`.normalize`).  Mappings
then merge recursively (so ``environment``, ``labels``, ``build.args`` ... merge per key);
``command``, ``entrypoint`` and ``healthcheck.test`` are replaced; other sequences append,
then ``ports`` de-duplicate on (ip, target, published, protocol), ``volumes``/``secrets``/
``configs``/``devices`` on their container path (the later definition wins, in the earlier
one's place) and ``extra_hosts`` and the other sets on their text; ``!reset`` removes a
value and ``!override`` replaces it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path as FsPath
from typing import Any

from phoenix_compose.config.normalize import normalize
from phoenix_compose.config.yamlsrc import OVERRIDE, RESET, N, Path, flatten

_REPLACED = {("command",), ("entrypoint",), ("healthcheck", "test")}
_UNION = {"cap_add", "cap_drop", "dns", "dns_opt", "dns_search", "expose", "profiles",
          "env_file", "tmpfs", "security_opt", "group_add", "extra_hosts"}


def merge_all(docs: list[N]) -> N | None:
    """Merge documents in order, then de-duplicate and drop ``!reset`` leftovers."""
    result: N | None = None
    for doc in docs:
        doc = normalize(doc)
        result = _clean(doc) if result is None else merge(result, doc, ())
    if result is not None:
        _enforce_unique(result)
    return result


def merge(base: N, over: N, path: Path) -> N:
    if over.tag == OVERRIDE:
        return _clean(over)
    special = _SPECIAL.get(_shape(path))
    if special is not None and isinstance(base.value, type(over.value)):
        return special(base, over, path)
    return _merge_plain(base, over, path)


def _merge_plain(base: N, over: N, path: Path) -> N:
    if isinstance(base.value, dict) and isinstance(over.value, dict):
        merged = dict(base.value)
        for key, value in over.value.items():
            if value.tag == RESET:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = merge(merged[key], value, path + (key,))
            else:
                merged[key] = _clean(value)
        return N(merged, base.loc, base.kloc)
    if isinstance(base.value, list) and isinstance(over.value, list):
        if _rule(path) in _REPLACED:
            return _clean(over)
        return N(base.value + _clean(over).value, base.loc, base.kloc)
    return _clean(over)


def _logging(base: N, over: N, path: Path) -> N:
    """Options merge only when both name the same driver, or one names none
    (compose-go's mergeLogging): another driver's options mean nothing to this one."""
    mine, theirs = base.value.get("driver"), over.value.get("driver")
    if mine is None or theirs is None or mine.value == theirs.value:
        return _merge_plain(base, over, path)
    return _clean(over)


def _ipam_config(base: N, over: N, path: Path) -> N:
    """``ipam.config`` entries merge by subnet: an override entry for a subnet the base
    has is merged into it; the override's list is the result (compose-go's
    mergeIPAMConfig, without its aliasing of one base entry into several results)."""
    by_subnet = {_subnet(n): n for n in base.value if isinstance(n.value, dict)}
    out = []
    for entry in over.value:
        same = by_subnet.get(_subnet(entry)) if isinstance(entry.value, dict) else None
        out.append(_merge_plain(same, entry, path) if same is not None else _clean(entry))
    return N(out, base.loc, base.kloc)


def _subnet(node: N) -> object:
    subnet = node.value.get("subnet") if isinstance(node.value, dict) else None
    return subnet.value if subnet is not None else None


_SPECIAL: dict[tuple[Any, ...], Callable[[N, N, Path], N]] = {
    ("services", "*", "logging"): _logging,
    ("networks", "*", "ipam", "config"): _ipam_config,
}


def _shape(path: Path) -> tuple[Any, ...]:
    """``("services", "web", "logging")`` -> ``("services", "*", "logging")``."""
    return (path[0], "*", *path[2:]) if len(path) >= 2 else tuple(path)


def _clean(node: N) -> N:
    """Drop ``!reset`` entries in a value that has nothing to merge with; clear tags."""
    if isinstance(node.value, dict):
        node.value = {k: _clean(v) for k, v in node.value.items() if v.tag != RESET}
    elif isinstance(node.value, list):
        node.value = [_clean(v) for v in node.value if v.tag != RESET]
    node.tag = ""
    return node


def _rule(path: Path) -> tuple[Any, ...]:
    """``("services", "db", "healthcheck", "test")`` -> ``("healthcheck", "test")``."""
    return tuple(path[2:]) if len(path) > 2 and path[0] == "services" else ("",)


def _enforce_unique(doc: N) -> None:
    services = doc.value.get("services") if isinstance(doc.value, dict) else None
    if services is None or not isinstance(services.value, dict):
        return
    for service in services.value.values():
        if not isinstance(service.value, dict):
            continue
        for key, index in _UNIQUE.items():
            node = service.value.get(key)
            if node is not None and isinstance(node.value, list):
                node.value = _dedupe(node.value, index)
        networks = service.value.get("networks")
        for net in networks.value.values() if networks is not None and \
                isinstance(networks.value, dict) else ():
            aliases = net.value.get("aliases") if isinstance(net.value, dict) else None
            if aliases is not None and isinstance(aliases.value, list):
                aliases.value = _dedupe(aliases.value, _identity)  # a set, as in compose


def _dedupe(items: list[N], index: Callable[[Any], Any]) -> list[N]:
    seen: dict[Any, int] = {}
    out: list[N] = []
    for item in items:
        key = index(flatten(item)[0])
        if key in seen:
            out[seen[key]] = item  # the later definition wins, in the earlier one's place
        else:
            seen[key] = len(out)
            out.append(item)
    return out


def port_key(port: Any) -> tuple[str, str, str, str]:
    """(host ip, container port, published port, protocol) of a short or long port."""
    if isinstance(port, dict):
        return (str(port.get("host_ip", "")), str(port.get("target", "")),
                str(port.get("published", "")), str(port.get("protocol", "tcp")))
    text, _, proto = str(port).partition("/")
    ip = ""
    if text.startswith("["):
        ip, _, text = text[1:].partition("]")
        text = text.lstrip(":")
    parts = text.rsplit(":", 2)
    if len(parts) == 3:
        ip, published, target = parts
    elif len(parts) == 2:
        published, target = parts
    else:
        published, target = "", parts[0]
    return ip, target, published, proto or "tcp"


def mount_target(default_dir: str) -> Callable[[Any], str]:
    def index(value: Any) -> str:
        if isinstance(value, dict):
            target = str(value.get("target") or value.get("source", ""))
        else:
            target = str(value)
        return target if target.startswith("/") else f"{default_dir}/{target}"
    return index


def device_target(value: Any) -> str:
    """A device's path in the container: ``src[:dst[:perms]]`` or the long form."""
    if isinstance(value, dict):
        return str(value.get("target") or value.get("source", ""))
    parts = str(value).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def volume_target(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("target", ""))
    parts = str(value).split(":")
    return parts[1] if len(parts) > 1 else parts[0]


def _identity(value: Any) -> Any:
    return str(value) if not isinstance(value, (dict, list)) else repr(value)


_UNIQUE: dict[str, Callable[[Any], Any]] = {
    "ports": port_key,
    "volumes": volume_target,
    "secrets": mount_target("/run/secrets"),
    "configs": mount_target(""),
    "devices": device_target,
    **{key: _identity for key in _UNION},
}


def resolve_paths(doc: N, project_dir: FsPath) -> None:
    """Make relative host paths absolute against the project directory (in place)."""
    value = doc.value if isinstance(doc.value, dict) else {}
    for section in ("secrets", "configs"):
        block = value.get(section)
        for item in (block.value.values() if block and isinstance(block.value, dict) else ()):
            if isinstance(item.value, dict) and "file" in item.value:
                _absolute(item.value["file"], project_dir)
    services = value.get("services")
    for service in (services.value.values() if services and isinstance(services.value, dict)
                    else ()):
        if isinstance(service.value, dict):
            resolve_service_paths(service.value, project_dir)


def resolve_service_paths(svc: dict[str, N], project_dir: FsPath, *,
                          defaults: bool = True) -> None:
    """One service's relative host paths made absolute (in place).  ``defaults``: a build
    without a context gets the project directory; not for the base of an ``extends`` from
    another file (compose-go loads it with SkipDefaultValues: the extending project's
    directory is the default, filled in after the merge)."""
    build = svc.get("build")
    if build is not None and isinstance(build.value, dict):
        _resolve_build(build, project_dir, defaults)
    label_file = svc.get("label_file")
    for item in label_file.value if label_file and isinstance(label_file.value, list) else ():
        _absolute(item, project_dir)
    env_file = svc.get("env_file")
    if env_file is not None:
        for item in env_file.value if isinstance(env_file.value, list) else [env_file]:
            target = item.value.get("path") if isinstance(item.value, dict) else item
            if isinstance(target, N):
                _absolute(target, project_dir)
    volumes = svc.get("volumes")
    for item in volumes.value if volumes and isinstance(volumes.value, list) else ():
        _resolve_volume(item, project_dir)


def _resolve_build(build: N, project_dir: FsPath, defaults: bool) -> None:
    if "context" not in build.value and defaults:
        build.value["context"] = N(".", build.loc, kloc=build.kloc)
    target = build.value.get("context")
    if target is not None and not _is_remote(str(target.value)):
        _absolute(target, project_dir)
    extra = build.value.get("additional_contexts")
    for item in extra.value.values() if extra and isinstance(extra.value, dict) else ():
        if not (_is_remote(str(item.value)) or str(item.value).startswith("service:")):
            _absolute(item, project_dir)  # as compose-go: from the project directory


def _resolve_volume(item: N, project_dir: FsPath) -> None:
    if isinstance(item.value, dict):
        kind = item.value.get("type")
        if kind is not None and kind.value == "bind" and "source" in item.value:
            _absolute(item.value["source"], project_dir)
    elif isinstance(item.value, str) and item.value[:1] in (".", "~") and ":" in item.value:
        source, sep, rest = item.value.partition(":")
        item.value = f"{_join(project_dir, source)}{sep}{rest}"


def _is_remote(text: str) -> bool:
    return "://" in text or text.startswith("git@")


def _absolute(node: N, project_dir: FsPath) -> None:
    if isinstance(node.value, str) and node.value:
        node.value = _join(project_dir, node.value)


def _join(project_dir: FsPath, text: str) -> str:
    """``text`` against ``project_dir``, cleaned as Go's ``filepath.Join`` cleans it: a
    symlink on the way stays as named, as in docker compose; a Windows absolute path
    (``C:\\data``) is absolute to compose-go too, and stays as written."""
    path = FsPath(text).expanduser()
    if path.is_absolute() or re.match(r"[A-Za-z]:[\\/]", text):
        return str(path)
    return os.path.normpath(project_dir / path)
