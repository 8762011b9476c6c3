"""Environments: ``envs/<name>.env`` files, the variables they define, and the stack files.

An environment exists iff ``envs/<name>.env`` exists; ``envs/common.env`` is shared.
Variables resolve as ``common.env`` < ``<env>.env`` < ``<env>.lock`` (written by
``inv images.promote``: image digests) < the process environment.  Operator settings
(:mod:`.operator`) come from the process environment alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from phoenix_compose._upstream import env_bindings
from phoenix_compose.config import envlines, identity
from phoenix_compose.config.files import Roots, link_problem, read
from phoenix_compose.config.interpolate import interpolate
from phoenix_compose.config.operator import NAMES, Operator, ignored
from phoenix_compose.config.stackfiles import (  # noqa: F401 (list_environments: re-exported)
    COMMON,
    StackFiles,
    confinement_problems,
    env_files,
    is_compose_project,
    list_environments,
    stack_files,
)
from phoenix_compose.errors import ConfigurationError, Loc, Problem, UnknownEnvironmentError
from phoenix_compose.statedir import StateDir

DEFAULT_ENV = "development"
PRODUCTION_ENVS = ("prod",)
_SINGLE_QUOTED = re.compile(r"^\s*(?:export\s+)?[^=]+=\s*'")
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Var:
    value: str
    loc: Loc | None  # None: from the process environment


class Variables(Mapping[str, str]):
    """Resolved variables that remember which names were read (for the cache key)."""

    def __init__(self, defined: Mapping[str, Var], process: Mapping[str, str]) -> None:
        self._defined = dict(defined)
        self._process = process
        self.used: set[str] = set()
        self._defaults: dict[str, Callable[[], str]] = {}  # for a name nothing sets

    @property
    def process(self) -> Mapping[str, str]:
        return self._process

    def var(self, name: str) -> Var | None:
        self.used.add(name)
        if name in self._process:
            return Var(self._process[name], None)
        return self._defined.get(name)

    def lookup(self, name: str) -> str | None:
        var = self.var(name)
        if var is None:
            default = self._defaults.get(name)
            return None if default is None else default()
        return var.value

    def set_default(self, name: str, value: Callable[[], str]) -> None:
        """What ``name`` interpolates to when nothing sets it (``COMPOSE_PROJECT_NAME``:
        the project's name, as compose does)."""
        self._defaults[name] = value

    def declared(self, name: str) -> bool:
        """Does an env file name ``name`` (with a value, or bare)?"""
        return name in self._defined

    def origin(self, name: str) -> Loc | None:
        """The env-file line that set ``name``; None when it came from the process."""
        var = self._defined.get(name)
        return None if name in self._process or var is None else var.loc

    def __getitem__(self, name: str) -> str:
        value = self.lookup(name)
        if value is None:
            raise KeyError(name)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._defined))

    def __len__(self) -> int:
        return len(self._defined)

    def snapshot(self, names: set[str]) -> dict[str, list]:
        """For the cache: where each used name came from and a digest of its value."""
        from hashlib import sha256

        out: dict[str, list] = {}
        for name in sorted(names):
            var = self.var(name)
            out[name] = [None, None] if var is None else [
                "process" if var.loc is None else "file", sha256(var.value.encode()).hexdigest()]
        return out


@dataclass(frozen=True)
class EnvironmentConfig:
    """One environment, as the design's data model names it."""

    name: str
    stack: StackFiles
    env_files: tuple[Path, ...]
    variables: Variables = field(compare=False)
    warnings: tuple[Problem, ...] = ()  # from the env files, e.g. a variable used but unset
    operator: Operator = field(default=Operator(), compare=False)
    # the compose files' located documents parsed for the project's name, by (path, text):
    # the build takes them (``loading.parse``) instead of parsing the same text again
    parsed: dict[tuple[Path, str], list[Any]] = field(default_factory=dict, compare=False,
                                                      repr=False)

    @property
    def roots(self) -> Roots:
        """Where the engine may read: the stack root and the operator's extra roots."""
        return Roots(self.stack.root, self.operator.extra_roots)

    @property
    def production(self) -> bool:
        return is_production(self.name, self.variables.lookup("PHOENIX_PRODUCTION"))

    @property
    def project_name(self) -> str:
        return self.project.value

    @cached_property
    def project(self) -> identity.ProjectName:
        """COMPOSE_PROJECT_NAME, else the compose files' ``name:``, else the folder's name
        (see :mod:`.identity`)."""
        var = self.variables.var(identity.PROJECT_VARIABLE)

        def lookup(name: str) -> str | None:
            found = self.variables.var(name)
            return None if found is None else found.value

        files = [(p, self.stack.rel(p)) for p in self.stack.compose_files]
        return identity.resolve(self.stack.root, self.name,
                                None if var is None else (var.value, var.loc),
                                identity.top_level_name(files, lookup, self.parsed))

    @property
    def owner(self) -> str:
        """The owner label phoenix writes on what this env creates."""
        return identity.owner_id(self.stack.root, self.name)

    @property
    def state(self) -> StateDir:
        """Where this environment's generated files live."""
        return StateDir(self.stack.root, self.name)


def is_production(env: str, flag: str | None = None) -> bool:
    """The production rule: the env named ``prod``, or ``PHOENIX_PRODUCTION`` set true."""
    return env in PRODUCTION_ENVS or (flag or "").strip().lower() in _TRUE


def describe_environments(root: Path) -> list[tuple[str, bool]]:
    """Every environment and whether it is production (a broken env file is reported by
    ``config.validate``; here it counts by its name alone)."""
    out = []
    for name in list_environments(root):
        try:
            production = load_environment(root, name).production
        except ConfigurationError:
            production = is_production(name)
        out.append((name, production))
    return out


def check_environment(root: Path, env: str) -> None:
    names = list_environments(root)
    if env not in names:
        import difflib  # for the message alone

        valid = ", ".join(names) or "none: add envs/<name>.env"
        close = difflib.get_close_matches(env, names, n=1)
        raise UnknownEnvironmentError(
            f"unknown environment '{env}'"
            + (f" (did you mean '{close[0]}'?)" if close else "")
            + f"; valid environments: {valid}",
            hint=f"pick one of them with --env, or create envs/{env}.env",
        )


def load_environment(
    root: Path, env: str, process: Mapping[str, str] | None = None
) -> EnvironmentConfig:
    """Resolve ``env``'s variables and stack files; every bad env-file line is reported."""
    check_environment(root, env)
    process = os.environ if process is None else process
    operator = Operator.of(process, root)
    roots = Roots(root, operator.extra_roots)
    files = env_files(root, env)
    named = StackFiles(root, (), ())  # for names in messages, before the files are known
    defined: dict[str, Var] = {}
    problems = [p for p in (link_problem(roots, path, named.rel(path)) for path in files) if p]
    broken = {p.loc.file for p in problems}
    for path in files:
        if named.rel(path) in broken:
            continue
        text, problem = read(path, named.rel(path), roots=roots)
        if text is None:
            problems += [problem] if problem else []
            continue
        found = envlines.file_problems(text, named.rel(path), lock=path.suffix == ".lock")
        problems += found or parse_env_file(text, named.rel(path), defined, process)
    named_files = _setting("COMPOSE_FILE", defined, process)
    stack = stack_files(root, named_files, _setting("COMPOSE_PATH_SEPARATOR", defined, process),
                        roots)
    refused = _compose_file_problems(roots, stack, None if "COMPOSE_FILE" in process
                                     else defined.get("COMPOSE_FILE")) \
        if named_files and is_compose_project(root, named_files) else {}
    problems += list(refused.values()) + confinement_problems(stack, roots, refused)
    if any(p.severity == "error" for p in problems):
        raise ConfigurationError(problems, hint="fix the env files, files or folders named above")
    warnings = tuple(p for p in problems if p.severity != "error")
    cfg = EnvironmentConfig(env, stack, tuple(files), Variables(defined, process), warnings,
                            operator)
    cfg.variables.set_default(identity.PROJECT_VARIABLE, lambda: cfg.project_name)
    return cfg


def _compose_file_problems(roots: Roots, stack: StackFiles,
                           var: Var | None) -> dict[Path, Problem]:
    """``COMPOSE_FILE`` names files in the roots, by names the system can open."""
    where = var.loc if var is not None and var.loc else \
        Loc("COMPOSE_FILE (process environment)", 1, 1)
    problems = {}
    for path in stack.compose_files:
        name = stack.rel(path)
        if len(os.fsencode(path)) >= 4096 or any(len(os.fsencode(p)) > 255 for p in path.parts):
            problems[path] = Problem(where, f"COMPOSE_FILE names a path too long to open "
                                            f"({name[:60]}...)")
        elif refusal := roots.refusal(path, name, where):
            problems[path] = refusal
    return problems


def _setting(name: str, defined: Mapping[str, Var], process: Mapping[str, str]) -> str | None:
    var = defined.get(name)
    return process.get(name) or (var.value if var else None)


def parse_env_file(
    text: str, rel: str, defined: dict[str, Var], process: Mapping[str, str]
) -> list[Problem]:
    problems: list[Problem] = []
    for binding in env_bindings(text):
        loc = Loc(rel, binding.line, 1)
        if binding.error:
            statement = envlines.masked(binding.text.strip().splitlines()[0])
            problems.append(Problem(loc, f"cannot parse '{statement}': expected KEY=VALUE",
                                    hint="quote values that contain spaces or '#'"))
            continue
        if binding.key is None or binding.key in NAMES:  # a comment, or not the repo's
            problems += [ignored(binding.key, loc)] if binding.key else []
            continue
        if binding.value is None:
            # A bare KEY takes its value from the process environment, as compose does.
            if binding.key in process:
                defined[binding.key] = Var(process[binding.key], loc)
            continue
        value = binding.value
        if not _SINGLE_QUOTED.match(binding.text):
            def lookup(name: str) -> str | None:
                if name in process:
                    return process[name]
                var = defined.get(name)
                return None if var is None else var.value
            value, findings = interpolate(value, lookup)
            for f in findings:
                problems.append(Problem(loc, f.message, f.severity))
        defined[binding.key] = Var(value, loc)
    return problems
