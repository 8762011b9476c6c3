"""Releases: every ``up`` that ends healthy records what runs, in
``.phoenix/<env>/releases/<n>/``: the final ``compose.yaml`` and ``release.json`` (time,
user, git revision, and each service's image and image id).  The last ``keep`` are kept;
``current`` names the one running.

A release is written whole into a hidden temporary folder and renamed into place, so a
full disk never leaves an empty ``releases/<n>/``.  ``release.json`` carries a MAC of the
release (its compose file and its record) under the stack's key (:mod:`..stackkey`, kept
outside the stack): ``rollback`` runs only a release whose MAC matches."""

from __future__ import annotations

import getpass
import json
import os
import shutil
import socket
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose import stackkey
from phoenix_compose.config import enginefile
from phoenix_compose.errors import (
    CommandError,
    ComposeRuntimeError,
    ConfigurationError,
    Loc,
    Problem,
    StateError,
)
from phoenix_compose.fileio import check_folders, read_bytes, read_json, write_files
from phoenix_compose.runtime import argv_git, containers
from phoenix_compose.runtime.stack import Stack
from phoenix_compose.statedir import StateDir

KEEP = 10
DOMAIN = "phoenix-release/1"


@dataclass(frozen=True)
class Release:
    number: int
    time: str
    user: str
    git: str
    images: dict[str, dict[str, str]]  # service -> {"image": ..., "id": ...}
    current: bool = False
    protected: dict[str, Any] | None = None  # what pre-deploy hooks did (a backup's name)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "time": self.time, "user": self.user, "git": self.git,
                "images": self.images, "current": self.current, "protected": self.protected}


def record(state: StateDir, stack: Stack, names: list[str], run: containers.Runner,
           keep: int = KEEP, protected: dict[str, Any] | None = None) -> int:
    """Record the running ``names`` as the next release; returns its number.  A release
    that cannot be written (a full or read-only disk) is a StateError: the stack runs."""
    number = max(_numbers(state), default=0) + 1
    states = containers.inspect(run, [stack.services[n].container for n in names])
    images = {n: {"image": stack.services[n].image or "",
                  "id": getattr(states.get(stack.services[n].container), "image_id", "")}
              for n in names}
    meta = {"number": number, "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "user": _user(), "host": socket.gethostname(), "git": _git(state, run),
            "images": images, **({"protected": protected} if protected else {})}
    try:
        text = read_bytes(stack.compose_file).decode("utf-8")
        meta["mac"] = stackkey.seal(state.root, DOMAIN, *_sealed(state, number, text, meta))
        _write(state, number, text, json.dumps(meta, indent=1, sort_keys=True) + "\n")
    except OSError as exc:
        raise StateError(
            f"the stack is up, but release {number} could not be recorded in "
            f"{state.releases.relative_to(state.root)}: {exc.strerror or exc}",
            hint="free space in (or make writable) .phoenix/ and the operator's "
                 "$XDG_STATE_HOME, then run `inv up` again to record it") from None
    for old in sorted(_numbers(state))[:-keep] if keep else ():
        shutil.rmtree(state.releases / str(old), ignore_errors=True)
    return number


def _sealed(state: StateDir, number: int, text: str, meta: dict[str, Any]) -> tuple[bytes, ...]:
    """What the MAC covers: the env, the number, the compose file and the record (all of
    it but the MAC), so no part can be edited or moved to another number or env."""
    record = {k: v for k, v in meta.items() if k != "mac"}
    return (state.env.encode(), str(number).encode(), text.encode("utf-8"),
            json.dumps(record, sort_keys=True, default=str).encode())


def _write(state: StateDir, number: int, compose: str, meta: str) -> None:
    """Whole or not at all: staged in ``releases/.<n>.*`` (a killed run's leftovers are
    removed here), then renamed to ``releases/<n>``; ``current`` follows."""
    check_folders(state.releases / "current")
    state.releases.mkdir(parents=True, exist_ok=True)
    for stale in state.releases.glob(".*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
    staging = Path(tempfile.mkdtemp(dir=state.releases, prefix=f".{number}."))
    try:
        write_files({**enginefile.files(staging / "compose.yaml", compose),
                     staging / "release.json": meta})
        os.rename(staging, state.releases / str(number))
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    write_files({state.releases / "current": f"{number}\n"})


def verified_text(state: StateDir, number: int) -> str:
    """The compose file of release ``number``, if its MAC matches; else a ConfigurationError
    located in it."""
    path = compose_file(state, number)
    loc = Loc(str(path.relative_to(state.root)), 1, 1)
    try:
        text = read_bytes(path).decode("utf-8")
        meta = json.loads(read_bytes(path.with_name("release.json")).decode("utf-8"))
        mac = meta.pop("mac", None) if isinstance(meta, dict) else None
        sealed = stackkey.is_sealed(state.root, mac, DOMAIN,
                                    *_sealed(state, number, text, meta))
    except (OSError, ValueError) as exc:
        why = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and \
            exc.strerror else str(exc)
        raise ConfigurationError([Problem(loc, f"release {number} cannot be read: {why}")],
                                 hint="roll back to another release (`inv releases`)") from None
    if mac is None:
        raise ConfigurationError([Problem(loc, f"release {number} has no MAC (recorded by "
                                               "an older phoenix): it cannot be verified")],
                                 hint="roll back to a release recorded since, or check out "
                                      "that revision and run `inv up` to record it again")
    if not sealed:
        raise ConfigurationError([Problem(loc, f"release {number} was changed after it was "
                                               "recorded (its MAC does not match the stack "
                                               "key); refusing to run it")],
                                 hint="inspect it; roll back to another release")
    return text


def list_releases(state: StateDir) -> list[Release]:
    """The kept releases, oldest first; a damaged one is left out."""
    now = current(state)
    out = []
    for number in sorted(_numbers(state)):
        meta = read_json(state.releases / str(number) / "release.json")
        if not isinstance(meta, dict):
            continue
        out.append(Release(number, str(meta.get("time", "")), str(meta.get("user", "")),
                           str(meta.get("git", "")), dict(meta.get("images") or {}),
                           number == now, meta.get("protected") or None))
    return out


def protected_after(state: StateDir, number: int) -> Release | None:
    """The first release after ``number`` whose deploy ran pre-deploy hooks (a backup of
    the data as it was under ``number``), if any is kept."""
    return next((r for r in list_releases(state) if r.number > number and r.protected), None)


def current(state: StateDir) -> int | None:
    """The number of the release running now (None before the first one)."""
    try:
        return int(read_bytes(state.releases / "current").decode().strip())
    except (OSError, ValueError):
        return None


def set_current(state: StateDir, number: int) -> None:
    try:
        write_files({state.releases / "current": f"{number}\n"})
    except OSError as exc:  # the rollback is done: say so, never a traceback
        raise StateError(f"release {number} runs, but {state.releases.relative_to(state.root)}"
                         f"/current could not be updated: {exc.strerror or exc}") from None


def find(state: StateDir, number: int | None) -> Release:
    """Release ``number`` (default: the one before the current one)."""
    kept = {r.number: r for r in list_releases(state)}
    if number is None:
        now = current(state)
        older = [n for n in kept if now is None or n < now]
        if not older:
            raise ComposeRuntimeError(
                f"environment '{state.env}' has no release before the current one "
                f"({now or 'none'}) to roll back to",
                hint="`inv releases` lists them; each healthy `inv up` records one")
        number = max(older)
    if number not in kept:
        raise ComposeRuntimeError(
            f"environment '{state.env}' has no release {number}; kept: "
            f"{', '.join(map(str, sorted(kept))) or 'none'}",
            hint="`inv releases` lists them (the last 10 are kept)")
    return kept[number]


def compose_file(state: StateDir, number: int) -> Path:
    return state.releases / str(number) / "compose.yaml"


def _numbers(state: StateDir) -> list[int]:
    if not state.releases.is_dir():
        return []
    return [int(p.name) for p in state.releases.iterdir() if p.is_dir() and p.name.isdigit()]


def _git(state: StateDir, run: containers.Runner) -> str:
    try:
        return run(argv_git.describe(), timeout=30, cwd=state.root).stdout.strip()
    except CommandError:
        return ""


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return str(os.getuid())
