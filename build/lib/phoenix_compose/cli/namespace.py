"""The root namespace of invoke collections: the built-in tasks and the ``tasks/*.py``
plugins.  The first import of invoke is here (under ``deferred_mock``, ``deferred_metadata``)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from phoenix_compose._upstream import deferred_metadata, deferred_mock

# the first import of invoke, for `phoenix`: without unittest.mock or importlib.metadata
with deferred_mock(), deferred_metadata():  # (see _upstream.py)
    from invoke import Collection, Program

from phoenix_compose.cli import (  # noqa: E402
    ci,
    compose,
    config,
    deploy,
    health,
    lifecycle,
    parsing,
    release,
    secrets,
    stack,
    vscode,
)
from phoenix_compose.cli.common import DEFAULTS, project_defaults
from phoenix_compose.errors import shown

PLUGIN_PACKAGE = "phoenix_plugins"
__all__ = ["Program", "build_namespace", "load_plugins"]  # Program: for the program
CURRENT: dict[str, Collection] = {}  # the namespace being run, for vscode.tasks


parsing.install()


def build_namespace(root: Path, plugins: bool = True) -> Collection:
    """The root namespace: built-in collections plus, with ``plugins``, every
    ``tasks/*.py`` as a plugin collection (never one that would replace a built-in)."""
    ns = Collection()
    for task in stack.ROOT_TASKS + lifecycle.ROOT_TASKS + compose.ROOT_TASKS + ci.ROOT_TASKS:
        ns.add_task(task)
    ns.add_task(lifecycle.build, name="build")  # docker compose build; also images.build
    ns.add_task(release.releases)
    ns.add_task(release.plan)
    ns.add_task(release.rollback)
    ns.add_collection(Collection.from_module(config, name="config"))
    ns.add_collection(Collection("images", lifecycle.build, release.promote))
    ns.add_collection(Collection("schema", ci.schema_update))
    ns.add_collection(Collection("registry", release.registry_up, release.registry_down,
                                 release.registry_status))
    ns.add_collection(Collection("secrets", secrets.set_, secrets.list_, secrets.rm,
                                 secrets.rotate))
    ns.add_collection(Collection("certs", secrets.certs_init))
    ns.add_collection(Collection.from_module(health, name="health"))
    ns.add_collection(Collection.from_module(vscode, name="vscode"))
    ns.add_collection(Collection("deploy", deploy.kube, deploy.kube_secrets, deploy.kube_play,
                                 deploy.quadlet, deploy.quadlet_secrets, deploy.check_all))
    built_in = set(ns.collections) | set(ns.tasks)
    for name, module in load_plugins(root / "tasks") if plugins else ():
        if name in built_in:
            print(shown(f"{_shown(root, module)}:1:1: error: plugin '{name}' would "
                        f"replace the built-in '{name}'; not loaded (rename the file)"),
                  file=sys.stderr)
            continue
        ns.add_collection(Collection.from_module(module, name=name))
    ns.configure({"phoenix": {**DEFAULTS, "root": str(root), **project_defaults(root)}})
    for name in ns.task_names:
        task = ns[name]
        if not hasattr(task, "phoenix_help"):  # invoke pops help when it parses: keep a copy
            task.phoenix_help = dict(task.help)
    CURRENT["namespace"] = ns
    return ns


def load_plugins(folder: Path) -> list[tuple[str, ModuleType]]:
    """Import ``tasks/*.py`` and ``tasks/*/__init__.py`` (a plugin in several modules, which
    import each other relatively) by path: ``tasks`` is not a package (``tasks.py``
    shadows it)."""
    plugins = []
    if PLUGIN_PACKAGE not in sys.modules:  # the parent ``from . import x`` looks up
        sys.modules[PLUGIN_PACKAGE] = parent = ModuleType(PLUGIN_PACKAGE)
        parent.__path__ = []
    for path in _plugin_files(folder):
        stem = path.parent.name if path.name == "__init__.py" else path.stem
        name = f"{PLUGIN_PACKAGE}.{stem}"
        refused = _refused(folder, path, stem)
        if refused:
            print(shown(f"{path.relative_to(folder.parent)}:1:1: error: plugin not "
                        f"loaded: {refused}"), file=sys.stderr)
            continue
        for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[loaded]  # loaded afresh: its hooks register again
        spec = importlib.util.spec_from_file_location(
            name, path, submodule_search_locations=[str(path.parent)]
            if path.name == "__init__.py" else None)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before it runs: its relative imports look it up
        try:
            spec.loader.exec_module(module)
        except Exception as exc:  # a broken plugin must not take the whole suite down
            del sys.modules[name]
            where, line = _traceback_line(exc, folder)
            print(shown(f"{(where or path).relative_to(folder.parent)}:{line}:1: error: "
                        f"plugin not loaded: {type(exc).__name__}: {exc}"), file=sys.stderr)
            continue
        plugins.append((stem.replace("_", "-"), module))
    return plugins


def _shown(root: Path, module: ModuleType) -> str:
    """A plugin's file as the messages name it: ``tasks/db.py``, ``tasks/db/``."""
    path = Path(module.__file__ or "")
    return str(path.parent.relative_to(root)) + "/" if path.name == "__init__.py" else \
        str(path.relative_to(root))


def _plugin_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    found = [p for p in folder.glob("*.py")] + [p for p in folder.glob("*/__init__.py")]
    return sorted((p for p in found if not (p.parent if p.name == "__init__.py" else p)
                   .name.startswith("_")), key=lambda p: str(p.relative_to(folder)))


def _refused(folder: Path, path: Path, stem: str) -> str:
    """Why a plugin is not loaded before it runs: a file of it that resolves outside the
    stack root (a link: every read stays inside the root), or a package beside a module of
    the same name (both would be one module, one collection)."""
    root = folder.parent.resolve()
    files = [path] if path.name != "__init__.py" else [path.parent, *path.parent.rglob("*")]
    for file in files:
        if not file.resolve().is_relative_to(root):
            return f"{file.relative_to(folder.parent)} resolves outside the stack root"
    if path.name == "__init__.py" and (folder / f"{stem}.py").exists():
        return f"{folder.name}/{stem}.py is a plugin of the same name"
    return ""


def _traceback_line(exc: BaseException, folder: Path) -> tuple[Path | None, int]:
    """The innermost frame of the plugin ``folder``: its file and line (a syntax error's
    own line and file first)."""
    found: tuple[Path | None, int]
    filename, lineno = getattr(exc, "filename", None), getattr(exc, "lineno", None)
    if lineno and isinstance(filename, str) and Path(filename).is_relative_to(folder):
        return Path(filename), int(lineno)
    tb, found = exc.__traceback__, (None, 1)
    while tb is not None:
        code = Path(tb.tb_frame.f_code.co_filename)
        if code.is_relative_to(folder):
            found = (code, tb.tb_lineno)
        tb = tb.tb_next
    return found
