"""VS Code integration: ``.vscode/tasks.json`` generated from the invoke task list.

The design's VSCodeIntegration maps onto this: ``register_tasks`` is the generation,
``execute_task`` is a generated task running ``inv``, status notifications are exit codes
and problem matchers, ``open_logs_panel`` is the logs task in its dedicated panel.
Generation is pure and deterministic; writing is atomic and only when the text changed.
"""

from __future__ import annotations

import difflib
import json
import shutil
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phoenix_compose import fileio  # write_files: the seam tests patch (a read-only .phoenix/)
from phoenix_compose.config.environment import list_environments
from phoenix_compose.config.pipeline import final_model
from phoenix_compose.errors import ConfigurationError, IntegrationError, Loc, Problem
from phoenix_compose.fileio import check_below, read_bytes
from phoenix_compose.shapes import as_dict

INV = "${workspaceFolder}/.venv/bin/inv"  # a repository with tasks.py and its venv
INV_WINDOWS = "${workspaceFolder}\\.venv\\Scripts\\inv.exe"
PHOENIX = "phoenix"  # a repository holding only a stack: the installed console script
LOCATED = {
    "owner": "phoenix",
    "source": "phoenix-compose",
    "fileLocation": ["relative", "${workspaceFolder}"],
    "pattern": {"regexp": r"^(.+?):(\d+):(\d+): (error|warning): (.*)$",
                "file": 1, "line": 2, "column": 3, "severity": 4, "message": 5},
}
VALIDATING = {"up", "restart", "ci", "config.validate", "config.render", "config.show",
              "config.watch", "vscode.tasks"}
GROUPS: dict[str, Any] = {"up": {"kind": "build", "isDefault": True},
                          "config.validate": "build", "config.render": "build",
                          "images.build": "build", "test": {"kind": "test", "isDefault": True},
                          "ci": "test", "health.check": "test"}
DEDICATED = {"logs", "health.watch", "config.watch"}
BACKGROUND = ("health.watch", "config.watch")  # long-running: VS Code tracks them
SERVICE_ARGS = {"service": "service", "services": "services"}
ALIASES = {"wait-timeout", "lines"}  # second names for flags the task already has


@dataclass(frozen=True)
class ArgSpec:
    flag: str  # the long option, without dashes
    kind: str  # bool, str, int, float
    default: Any
    help: str = ""
    positional: bool = False


@dataclass(frozen=True)
class TaskSpec:
    name: str  # dotted invoke name
    doc: str  # the docstring's first line
    args: tuple[ArgSpec, ...] = ()


@dataclass
class _Inputs:
    envs: Sequence[str]
    services: Sequence[str]
    default_service: str | None = None
    defined: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ref(self, task: str, arg: ArgSpec) -> str | None:
        """``${input:id}`` for an argument, defining the input once; None: leave it out."""
        if arg.flag == "env":
            return self._define("env", {"type": "pickString", "description": "Environment",
                                        "options": list(self.envs),
                                        "default": _default_env(self.envs)})
        if arg.flag in SERVICE_ARGS and self.services:
            return self._service(SERVICE_ARGS[arg.flag])
        if arg.kind == "bool" or (arg.default is None and not arg.positional) or \
                arg.flag in ALIASES:
            return None  # a flag, an optional override or an alias: the task's default applies
        input_id = f"{task}-{arg.flag}".replace(".", "-")
        spec = {"type": "promptString", "description": arg.help or arg.flag}
        if arg.default is not None:
            spec["default"] = str(arg.default)
        return self._define(input_id, spec)

    def _service(self, kind: str) -> str:
        if kind == "service":
            return self._define("service", {"type": "pickString", "description": "Service",
                                            "options": list(self.services),
                                            "default": self.default_service
                                            if self.default_service in self.services
                                            else self.services[0]})
        return self._define("services", {
            "type": "pickString", "description": "Services (empty: all)",
            "options": [{"label": "(all services)", "value": ""}, *self.services],
            "default": ""})

    def _define(self, input_id: str, spec: dict[str, Any]) -> str:
        self.defined.setdefault(input_id, {"id": input_id, **spec})
        return f"${{input:{input_id}}}"


def _default_env(envs: Sequence[str]) -> str:
    return "development" if "development" in envs else (list(envs) or [""])[0]


def phoenix_command(root: Path, here: Path | None = None,
                    which: Callable[[str], str | None] = shutil.which) -> tuple[str, str]:
    """The ``phoenix`` that generates the tasks, as they call it (POSIX, Windows): bare
    when ``phoenix`` on PATH is this one (or this one is not a console script: ``python -m``);
    else its path, resolved now: under ``${workspaceFolder}`` when it lives in the
    repository (a ``.venv`` there), else absolute (the one case a machine's path is written,
    and only because PATH does not reach this ``phoenix``)."""
    here = here or Path(sys.executable).with_name("phoenix")
    found = which(PHOENIX)
    if not here.is_file() or (found and Path(found).resolve() == here.resolve()):
        return PHOENIX, PHOENIX
    try:
        inside = here.absolute().relative_to(root.absolute())
    except ValueError:
        return str(here), str(here)
    windows = "\\".join("Scripts" if p == "bin" else p for p in inside.parts) + ".exe"
    return f"${{workspaceFolder}}/{inside.as_posix()}", f"${{workspaceFolder}}\\{windows}"


def build_tasks(specs: Sequence[TaskSpec], envs: Sequence[str], services: Sequence[str], *,
                default_service: str | None = None,
                stack_only: tuple[str, str] | None = None) -> dict[str, Any]:
    """The tasks.json document for ``specs`` (pure, deterministic).  ``default_service``:
    one the default env runs; ``stack_only``: no tasks.py, so tasks call this ``phoenix``
    (:func:`phoenix_command`)."""
    inputs = _Inputs(list(envs), sorted(set(services)), default_service)
    command = stack_only or (INV, INV_WINDOWS)
    tasks = [_task(spec, inputs, command) for spec in sorted(specs, key=lambda s: s.name)]
    return {"version": "2.0.0", "tasks": tasks,
            "inputs": [inputs.defined[k] for k in sorted(inputs.defined)]}


def _task(spec: TaskSpec, inputs: _Inputs, command: tuple[str, str]) -> dict[str, Any]:
    args: list[str] = [spec.name]
    for arg in spec.args:
        ref = inputs.ref(spec.name, arg)
        if ref is None:
            continue
        args += [ref] if arg.positional else [f"--{arg.flag}", ref]
    task: dict[str, Any] = {
        "label": f"phoenix: {spec.name}",
        "type": "process",
        "command": command[0],
        "windows": {"command": command[1]},
        "args": args,
        "options": {"cwd": "${workspaceFolder}"},
        "detail": spec.doc,
        "problemMatcher": [LOCATED] if spec.name in VALIDATING else [],
    }
    if spec.name in GROUPS:
        task["group"] = GROUPS[spec.name]
    if spec.name in DEDICATED:
        task["presentation"] = {"panel": "dedicated", "reveal": "always", "clear": True}
    if spec.name in BACKGROUND:
        # A background task needs begin/end patterns, or VS Code never learns that it has
        # started (a dependent task would wait for ever).  Both watchers frame each cycle
        # with these lines; config.watch prints FILE:LINE:COL problems between them.
        from phoenix_compose.watch.service import BEGIN_LINE, READY_LINE

        task["isBackground"] = True
        task["problemMatcher"] = [{**LOCATED, "background": {
            "activeOnStart": True, "beginsPattern": f"^{BEGIN_LINE}",
            "endsPattern": f"^{READY_LINE}"}}]
    return task


def task_specs(namespace: Any) -> list[TaskSpec]:
    """Every task of an invoke namespace as plain data.  The help texts come from the copy
    the namespace kept when it was built (``phoenix_help``): invoke consumes ``help`` when it
    parses the command line."""
    specs = []
    for name in sorted(namespace.task_names):
        body = namespace[name]
        doc = (body.__doc__ or body.body.__doc__ or "").strip().splitlines()
        helps = getattr(body, "phoenix_help", {})
        args = []
        for arg in body.get_arguments():
            flag = arg.names[0]
            kind = getattr(arg.kind, "__name__", str(arg.kind))
            args.append(ArgSpec(flag, kind, arg.default,
                                helps.get(arg.name, helps.get(flag, "")), arg.positional))
        specs.append(TaskSpec(name, doc[0] if doc else name, tuple(args)))
    return specs


def _services(root: Path, envs: list[str]) -> dict[str, dict[str, Any]]:
    """The services of each environment whose config is valid (nothing is written; each
    environment built once)."""
    found = {}
    for env in envs:
        try:
            found[env] = as_dict(final_model(root, env).get("services"))
        except ConfigurationError:
            continue
    return found


def tasks_document(namespace: Any, root: Path,
                   keep: tuple[str, str] | None = None) -> dict[str, Any]:
    """The tasks.json document of ``namespace`` for the stack at ``root``; ``keep``: the
    ``phoenix`` command of the committed file, for a check (:func:`committed_command`)."""
    envs = list_environments(root)
    services = _services(root, envs)
    return build_tasks(task_specs(namespace), envs,
                       sorted({name for each in services.values() for name in each}),
                       default_service=default_service(services.get(_default_env(envs))),
                       stack_only=None if (root / "tasks.py").is_file() else
                       keep or phoenix_command(root))


def default_service(services: dict[str, Any] | None) -> str | None:
    """The first service of the default environment that runs by default (none behind a
    profile); None when its config is invalid."""
    running = sorted(n for n, s in (services or {}).items()
                     if not (isinstance(s, dict) and s.get("profiles")))
    return running[0] if running else None


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_inputs(document: dict[str, Any]) -> list[str]:
    """What SchemaStore's loose schema does not check: every input used is defined, ids
    are unique, pickString defaults are among the options, labels are unique."""
    import re

    problems = []
    inputs = document.get("inputs", [])
    ids = [i.get("id") for i in inputs]
    problems += [f"input id '{i}' defined twice" for i in sorted({i for i in ids
                                                                   if ids.count(i) > 1})]
    for item in inputs:
        if item.get("type") == "pickString":
            values = [o["value"] if isinstance(o, dict) else o for o in item.get("options", [])]
            if "default" in item and item["default"] not in values:
                problems.append(f"input '{item['id']}': default {item['default']!r} is not "
                                "among its options")
    labels = [t.get("label") for t in document.get("tasks", [])]
    problems += [f"task label '{x}' is not unique" for x in sorted({x for x in labels
                                                                     if labels.count(x) > 1})]
    used = set()
    for task in document.get("tasks", []):
        for text in [task.get("command", ""), *task.get("args", []),
                     json.dumps(task.get("options", {}))]:
            used |= set(re.findall(r"\$\{input:([^}]+)\}", str(text)))
    problems += [f"input '{i}' is used but not defined" for i in sorted(used - set(ids))]
    return problems


def sync(path: Path, text: str, check: bool) -> str | None:
    """Write ``text`` (if changed); with ``check``, write nothing and raise on a stale file.
    ``path`` is ``ROOT/.vscode/tasks.json``: never read or written through a link."""
    root = path.parent.parent
    try:
        check_below(root, path)
        current = read_bytes(path).decode("utf-8") if path.exists() or path.is_symlink() \
            else ""
    except (OSError, UnicodeDecodeError) as exc:
        where = Path(getattr(exc, "filename", None) or path)
        rel = where.relative_to(root) if where.is_relative_to(root) else where
        raise ConfigurationError([Problem(Loc(str(rel), 1, 1), "cannot read or write it: "
                                          f"{getattr(exc, 'strerror', None) or exc}")],
                                 hint="nothing was written") from None
    if current == text:
        return None
    diff = "".join(difflib.unified_diff(current.splitlines(True), text.splitlines(True),
                                        f"{path.name} (committed)", f"{path.name} (generated)"))
    if check:
        raise IntegrationError(f"{path} is stale:\n{diff}",
                               hint="run `inv vscode.tasks` and commit the result")
    fileio.write_files({path: text}, inside=root)
    return diff
