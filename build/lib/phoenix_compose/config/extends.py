"""``extends``: a service built on another one, from the same file or another, as compose-go
applies it (``loader/extends.go``): the base (itself resolved first) is merged under the
extending service with the usual merge rules; a base from another file has its relative
paths resolved against that file's folder; chains are followed and cycles are errors."""

from __future__ import annotations

import os
from pathlib import Path

from phoenix_compose.config.loading import Context, load_file
from phoenix_compose.config.merge import merge, resolve_service_paths
from phoenix_compose.config.normalize import normalize_service
from phoenix_compose.config.yamlsrc import N
from phoenix_compose.errors import Problem

Key = tuple[Path, str]  # (file, service)


def apply_extends(doc: N, file: Path, workdir: Path, ctx: Context) -> None:
    """Resolve every ``extends`` of ``doc`` (read from ``file``) in place; ``extends.file``
    is relative to ``workdir``: the project directory, as in compose-go, and for a file
    read for an ``extends``, that file's folder."""
    services = _services(doc)
    for name in list(services):
        _resolve(services, name, (file, workdir), ctx, ())


def _services(doc: N) -> dict[str, N]:
    node = doc.value.get("services") if isinstance(doc.value, dict) else None
    return node.value if node is not None and isinstance(node.value, dict) else {}


def _resolve(services: dict[str, N], name: str, where: tuple[Path, Path], ctx: Context,
             chain: tuple[Key, ...]) -> N:
    node = services[name]
    if not isinstance(node.value, dict) or "extends" not in node.value:
        return node
    ext = node.value.pop("extends")
    ref, ref_file = _reference(ext, name, ctx)
    if ref is None:
        return node
    file, workdir = where
    base_services, base_where = services, where
    if ref_file is not None:
        named = Path(os.path.normpath(workdir / str(ref_file.value)))
        path = named.resolve()
        docs = load_file(path, ref_file.loc, ctx)
        if docs is None:
            return node
        base_where = (path, named.parent)  # as named: a symlink's own folder
        base_services = _services(docs[-1]) if docs else {}
    base_file = base_where[0]
    if (base_file, ref) in chain or (base_file, ref) == (file, name):
        ctx.problems.append(Problem(ext.loc, f"extends cycle: service '{name}' extends "
                                             f"'{ref}', which extends it back"))
        return node
    if ref not in base_services:
        in_file = f" in {ctx.name_of(base_file)}" if ref_file is not None else ""
        ctx.problems.append(Problem(ext.loc, f"cannot extend service '{name}': service "
                                             f"'{ref}' not found{in_file}"))
        return node
    base = _clone(_resolve(base_services, ref, base_where, ctx, chain + ((file, name),)))
    if not isinstance(base.value, dict):
        return node
    if ref_file is not None:
        resolve_service_paths(base.value, base_where[1], defaults=False)
    normalize_service(base.value)
    normalize_service(node.value)
    merged = merge(base, node, ("services", name))
    merged.kloc = node.kloc
    services[name] = merged
    return merged


def _reference(ext: N, name: str, ctx: Context) -> tuple[str | None, N | None]:
    if isinstance(ext.value, str):
        return ext.value, None
    if isinstance(ext.value, dict) and isinstance(ext.value.get("service", N(None, ext.loc))
                                                  .value, str):
        return ext.value["service"].value, ext.value.get("file")
    ctx.problems.append(Problem(ext.loc, f"extends of service '{name}' needs `service:` "
                                         "(the service to extend)"))
    return None, None


def _clone(node: N) -> N:
    if isinstance(node.value, dict):
        value: object = {k: _clone(v) for k, v in node.value.items()}
    elif isinstance(node.value, list):
        value = [_clone(v) for v in node.value]
    else:
        value = node.value
    copy = N(value, node.loc, node.kloc, node.tag)
    copy.via, copy.uses, copy.written = node.via, node.uses, node.written
    return copy
