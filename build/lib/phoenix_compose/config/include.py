"""``include``: other compose projects pulled into this one, as the spec and compose-go's
``loader/include.go`` do.  Each entry (a path, or ``{path, project_directory, env_file}``)
is loaded as a project of its own: its files merge in order, are interpolated with the
variables plus its ``env_file``, and its relative paths resolve against its project
directory (default: the folder of its first file).  Its services, networks, volumes,
secrets and configs are then added; a resource defined differently on both sides is an
error (identical definitions are fine).  Include cycles are errors."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from phoenix_compose.config.bare import resolve_bare_environment
from phoenix_compose.config.environment import Var, parse_env_file
from phoenix_compose.config.extends import apply_extends
from phoenix_compose.config.loading import Context, load_file, read_text
from phoenix_compose.config.merge import merge_all, resolve_paths
from phoenix_compose.config.normalize import normalize
from phoenix_compose.config.secretnames import secret_values
from phoenix_compose.config.yamlsrc import N, flatten
from phoenix_compose.errors import Problem

RESOURCES = ("services", "networks", "volumes", "secrets", "configs")


def apply_include(doc: N, workdir: Path, ctx: Context) -> None:
    """Import every ``include`` entry of ``doc`` into it, in place; paths are relative to
    ``workdir``, the including project's directory."""
    entries = doc.value.pop("include", None) if isinstance(doc.value, dict) else None
    if entries is None:
        return
    if not isinstance(entries.value, list):
        ctx.problems.append(Problem(entries.loc, "`include` must be a list"))
        return
    for entry in entries.value:
        imported = _load_entry(entry, workdir, ctx)
        if imported is not None:
            _import(doc, imported, ctx)


def _paths(entry: N, ctx: Context) -> tuple[list[N], dict[str, N]]:
    if isinstance(entry.value, str):
        return [entry], {}
    if not isinstance(entry.value, dict) or "path" not in entry.value:
        ctx.problems.append(Problem(entry.loc, "an include entry is a path or a mapping with "
                                               "`path:`"))
        return [], {}
    path = entry.value["path"]
    return (path.value if isinstance(path.value, list) else [path]), entry.value


def _load_entry(entry: N, folder: Path, ctx: Context) -> N | None:
    paths, options = _paths(entry, ctx)
    if not paths:
        return None
    named = [Path(os.path.normpath(folder / str(p.value))) for p in paths]  # as named
    files = [f.resolve() for f in named]
    if files[0] in ctx.chain:
        chain = " -> ".join(ctx.name_of(f) for f in (*ctx.chain, files[0]))
        ctx.problems.append(Problem(paths[0].loc, f"include cycle: {chain}"))
        return None
    project = options.get("project_directory")
    project_dir = Path(os.path.normpath(folder / str(project.value))) if project else \
        named[0].parent  # a symlinked file's paths are relative to the link's folder
    sub = ctx.with_lookup(_lookup(options.get("env_file"), folder, ctx), (*ctx.chain, files[0]))
    docs = []
    for path, node in zip(files, paths):
        loaded = load_file(path, node.loc, sub)
        for loaded_doc in loaded or []:
            apply_include(loaded_doc, project_dir, sub)
            apply_extends(loaded_doc, path, project_dir, sub)
            docs.append(loaded_doc)
    merged = merge_all(docs)
    if merged is not None:
        resolve_paths(merged, project_dir)
        resolve_bare_environment(merged, sub.lookup)
    return merged


def _lookup(env_files: N | None, folder: Path, ctx: Context) -> Any:
    """The variables, plus the include's own env files; the outer ones win (compose-go
    merges them that way: the process and the stack's env files come first)."""
    values: dict[str, Var] = {}
    for node in (env_files.value if env_files and isinstance(env_files.value, list)
                 else [env_files] if env_files else []):
        path = folder / str(node.value)
        text = read_text(path, node.loc, ctx)
        if text is not None:
            ctx.problems += parse_env_file(text, ctx.name_of(path), values, {})
    ctx.secrets.update(secret_values((k, v.value) for k, v in values.items()))
    outer = ctx.lookup

    def lookup(name: str) -> str | None:
        value = outer(name)
        return value if value is not None else (values[name].value if name in values
                                                else None)
    return lookup


def _import(doc: N, imported: N, ctx: Context) -> None:
    target = normalize(doc).value  # spelled as the merged import, to compare them
    for section in RESOURCES:
        source = imported.value.get(section) if isinstance(imported.value, dict) else None
        if source is None or not isinstance(source.value, dict):
            continue
        if section not in target:
            target[section] = N({}, source.loc, source.kloc)
        here = target[section].value
        if not isinstance(here, dict):
            continue
        for name, resource in source.value.items():
            if name in here and flatten(here[name])[0] != flatten(resource)[0]:
                ctx.problems.append(Problem(here[name].kloc or here[name].loc,
                                            f"{section[:-1]} '{name}' conflicts with the one "
                                            f"included from {resource.loc.file}",
                                            hint="rename one of them, or extend the included "
                                                 "one instead"))
            elif name not in here:
                here[name] = resource
