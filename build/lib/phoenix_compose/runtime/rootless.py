"""What blocks rootless podman for a user on a host like this one (Debian, no logind), and
the fixes: applied where we have the rights (``inv doctor --fix``), else the exact command.

- subordinate uid/gid ranges (``useradd -m`` assigns them; older users may lack them);
- ``/dev/net/tun`` readable and writable by all, for slirp4netns (0600 on some VMs);
- ``/run/user/<uid>`` for ``XDG_RUNTIME_DIR``, which logind would make;
- the user's home directory: without it rootless podman never cleans up an exited
  container, so no ``died`` event comes (the watcher waits a tick) and it stays "stopped";
- native overlay in the user's ``storage.conf`` (vfs is the default, and fuse-overlayfs
  cannot open a 0600 ``/dev/fuse``).
"""

from __future__ import annotations

import grp
import os
import pwd
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TUN = Path("/dev/net/tun")
OVERLAY = '[storage]\ndriver = "overlay"\n'
SUBIDS = 65536  # a user namespace's size, as useradd gives it


@dataclass(frozen=True)
class Blocker:
    name: str
    detail: str
    command: str  # what a root shell would run to fix it
    fix: Callable[[], None] | None = None  # None: we lack the rights, print `command`


def blockers(user: str) -> list[Blocker]:
    try:
        entry = pwd.getpwnam(user)
    except KeyError:
        return [Blocker("user", f"no user named {user}", f"useradd -m {user}")]
    root = os.geteuid() == 0
    mine = root or os.geteuid() == entry.pw_uid
    return [b for b in (_subids(user, root), _tun(root), _home(entry, root),
                        _runtime_dir(entry, root), _storage(entry, mine)) if b is not None]


def _subids(user: str, root: bool) -> Blocker | None:
    missing = [f for f in ("/etc/subuid", "/etc/subgid") if not _listed(user, Path(f))]
    if not missing:
        return None
    first = max([100000] + [_end(Path(f)) for f in ("/etc/subuid", "/etc/subgid")])
    ids = f"{first}-{first + SUBIDS - 1}"
    command = ("usermod", "--add-subuids", ids, "--add-subgids", ids, "--", user)
    return Blocker("subordinate ids", f"{user} has no range in {' and '.join(missing)}",
                   " ".join(command), (lambda: _run(command)) if root else None)


def _end(path: Path) -> int:
    """Just past the highest range any user has in ``path`` (a new range goes there)."""
    try:
        rows = [line.split(":") for line in path.read_text().splitlines()]
        return max([int(r[1]) + int(r[2]) for r in rows if len(r) == 3] or [0])
    except (OSError, ValueError):
        return 0


def _run(command: tuple[str, ...]) -> None:
    from phoenix_compose.runtime import commands  # the one seam for commands

    commands.run(command, timeout=60)


def _listed(user: str, path: Path) -> bool:
    try:
        return any(line.split(":", 1)[0] == user for line in path.read_text().splitlines())
    except OSError:
        return False


def _tun(root: bool) -> Blocker | None:
    if not TUN.exists() or TUN.stat().st_mode & 0o006 == 0o006:
        return None
    return Blocker("/dev/net/tun", f"is {TUN.stat().st_mode & 0o777:04o}: slirp4netns (rootless "
                   "networking) cannot open it", f"chmod 0666 {TUN}",
                   (lambda: os.chmod(TUN, 0o666)) if root else None)


def _home(entry: pwd.struct_passwd, root: bool) -> Blocker | None:
    path = Path(entry.pw_dir)
    if path.is_dir():
        return None
    group = grp.getgrgid(entry.pw_gid).gr_name

    def make() -> None:
        path.mkdir(mode=0o700, parents=True)
        os.chown(path, entry.pw_uid, entry.pw_gid)

    return Blocker("home", f"{path} is missing: rootless podman then never cleans up an "
                   "exited container (no `died` event; it stays \"stopped\")",
                   f"install -d -m 0700 -o {entry.pw_name} -g {group} {path}",
                   make if root else None)


def _runtime_dir(entry: pwd.struct_passwd, root: bool) -> Blocker | None:
    path = Path(f"/run/user/{entry.pw_uid}")
    if path.is_dir() and path.stat().st_uid == entry.pw_uid:
        return None
    group = grp.getgrgid(entry.pw_gid).gr_name

    def make() -> None:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chown(path, entry.pw_uid, entry.pw_gid)
        os.chmod(path, 0o700)

    return Blocker("XDG_RUNTIME_DIR", f"{path} is missing (no logind); then export "
                   f"XDG_RUNTIME_DIR={path}",
                   f"install -d -m 0700 -o {entry.pw_name} -g {group} {path}",
                   make if root else None)


def _storage(entry: pwd.struct_passwd, allowed: bool) -> Blocker | None:
    conf = Path(entry.pw_dir) / ".config" / "containers" / "storage.conf"
    try:
        if 'driver = "overlay"' in conf.read_text():
            return None
    except OSError:
        pass

    def write() -> None:
        for folder in (conf.parent.parent, conf.parent):
            folder.mkdir(exist_ok=True)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        conf.write_text(OVERLAY)
        os.chown(conf, entry.pw_uid, entry.pw_gid)

    return Blocker("storage driver", f"{conf} does not choose native overlay (vfs copies "
                   "every layer; fuse-overlayfs cannot open /dev/fuse here)",
                   f"printf '[storage]\\ndriver = \"overlay\"\\n' > {conf}",
                   write if allowed else None)
