"""Which files make a stack, in its two layouts.

- **Stack root**: ``compose/*.yaml`` (in name order), ``templates/*.yaml.j2`` and
  ``envs/<env>.env``: the environments are the env files.
- **Compose project**: a folder as docker compose finds one, with no ``compose/`` folder:
  ``COMPOSE_FILE`` (the process or ``.env``; split on ``COMPOSE_PATH_SEPARATOR``, default
  ``:``; relative to the folder), else the first of docker compose's default names and the
  first of its override names.  Its ``.env`` is read first, and its single environment is
  ``default`` (``envs/<env>.env`` overlays still add environments when the folder has them).
"""

from __future__ import annotations

import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from phoenix_compose.config.files import WIDEN_HINT, Roots, link_problem
from phoenix_compose.errors import Loc, Problem
from phoenix_compose.statedir import ENV_NAME_RULE, valid_env_name  # noqa: F401

COMMON = "common"
PROJECT_ENV = "default"  # the environment of a compose project (named as identity's)
# compose-go's cli/options.go, in its order (docker compose warns when several exist)
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")
OVERRIDE_FILES = ("compose.override.yml", "compose.override.yaml",
                  "docker-compose.override.yml", "docker-compose.override.yaml")
DOTENV = ".env"


def bad_env_files(root: Path) -> list[Path]:
    """``envs/*.env`` files whose name is no env name: never an environment."""
    envs = root / "envs"
    return sorted(p for p in envs.glob("*.env") if not valid_env_name(p.name[:-4])) \
        if envs.is_dir() else []


@dataclass(frozen=True)
class StackFiles:
    root: Path
    compose_files: tuple[Path, ...]
    templates: tuple[Path, ...]

    def rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)


def _present(path: Path) -> bool:
    return path.is_file() or path.is_symlink()  # a link is checked (and refused) later


def _first(root: Path, names: tuple[str, ...]) -> Path | None:
    return next((root / n for n in names if _present(root / n)), None)


def is_compose_project(root: Path, compose_file: str | None = None) -> bool:
    """A folder without a stack's ``compose/`` that holds a compose file as docker compose
    finds one (or names them in ``COMPOSE_FILE``)."""
    if (root / "compose").is_dir():
        return False
    if compose_file or os.environ.get("COMPOSE_FILE"):  # the operator's (``phoenix -f``)
        return True
    return _first(root, DEFAULT_FILES) is not None or _present(root / DOTENV) and \
        "COMPOSE_FILE=" in _dotenv_head(root)


def _dotenv_head(root: Path) -> str:
    # lazy: fileio costs ~20 ms of import (-X importtime) on every start-up, --help too
    from phoenix_compose.fileio import read_bytes

    try:  # never through a link (the env file's own read reports one, located)
        return read_bytes(root / DOTENV)[:65536].decode("utf-8", "replace")
    except OSError:
        return ""


FOLDERS = ("compose", "templates")


def _listable(folder: Path, roots: Roots | None) -> bool:
    """A folder to list: never one that is a symlink leading outside ``roots``."""
    return folder.is_dir() and (roots is None or not folder.is_symlink()
                                or roots.holds(folder))


def stack_files(root: Path, compose_file: str | None = None,
                separator: str | None = None, roots: Roots | None = None) -> StackFiles:
    """The stack's compose files and templates; ``compose_file``: ``COMPOSE_FILE``;
    ``roots``: a compose/ or templates/ that links outside them is not listed."""
    if is_compose_project(root, compose_file):
        if compose_file:
            names = [p for p in compose_file.split(separator or os.pathsep) if p]
            files = [Path(os.path.normpath(root / n)) for n in names]
        else:
            files = [p for p in (_first(root, DEFAULT_FILES), _first(root, OVERRIDE_FILES))
                     if p is not None]
        return StackFiles(root, tuple(files), ())
    compose_dir, template_dir = root / "compose", root / "templates"
    compose = sorted(
        p for p in compose_dir.glob("*") if p.suffix in (".yaml", ".yml") and _present(p)
    ) if _listable(compose_dir, roots) else []
    templates = sorted(template_dir.glob("*.yaml.j2")) if _listable(template_dir, roots) \
        else []
    return StackFiles(root, tuple(compose), tuple(templates))


def confinement_problems(stack: StackFiles, roots: Roots,
                         refused: Collection[Path] = ()) -> list[Problem]:
    """compose/ or templates/ linking outside ``roots`` (located at the folder, nothing
    under it read), and every compose file and template that dangles or resolves outside
    (a link, or a ``COMPOSE_FILE`` path through a linked folder or ``..``)."""
    out = []
    for name in FOLDERS:
        folder = stack.root / name
        if folder.is_symlink() and not roots.holds(folder):
            out.append(Problem(Loc(name, 0, 0), f"{name}/ is a symlink to "
                               f"{os.readlink(folder)}, outside the stack root; refusing to "
                               "read anything under it", hint=WIDEN_HINT))
    for path in (*stack.compose_files, *stack.templates):
        if path in refused:  # reported already, where it was named (never probed again)
            continue
        name = stack.rel(path)
        found = link_problem(roots, path, name) or roots.refusal(path, name, Loc(name, 0, 0))
        out += [found] if found else []
    return out


def list_environments(root: Path) -> list[str]:
    envs = root / "envs"
    names = {p.name[:-4] for p in envs.glob("*.env") if p.name != f"{COMMON}.env"
             and valid_env_name(p.name[:-4])} if envs.is_dir() else set()
    return sorted(names | ({PROJECT_ENV} if is_compose_project(root) else set()))


def env_files(root: Path, env: str) -> list[Path]:
    """An environment's env files, in the order they apply (a later one wins)."""
    first = [root / DOTENV] if is_compose_project(root) else []
    return [p for p in (*first, root / "envs" / f"{COMMON}.env", root / "envs" / f"{env}.env",
                        root / "envs" / f"{env}.lock")  # the promoted images' digests
            if _present(p)]
