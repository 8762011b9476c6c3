"""Where the edge's runtime API socket lives.  In its env's folder,
``.phoenix/<env>/edge/admin.sock``, when that path is short enough for HAProxy (97 bytes:
``edge.model.SOCKET_PATH_MAX``); a stack kept deeper gets a private folder of the user's
instead: ``$XDG_RUNTIME_DIR/phoenix-edge/`` (else ``/run/user/<uid>/phoenix-edge/``, else
``/tmp/phoenix-edge-<uid>/``), the socket named after a digest of the folder it stands
for, so two stacks never share one.  The folder is made mode 700 and used only when it is
a real folder (not a link) owned by this user that no one else may enter."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

from phoenix_compose.edge.model import SOCKET_PATH_MAX
from phoenix_compose.errors import EdgeError

DIGEST = 32  # hex digits of the socket's name
LAST_RESORT = Path("/tmp")  # not $TMPDIR: it may be as deep as the stack


def socket_path(folder: Path) -> str:
    own = str(folder / "admin.sock")
    if len(own.encode()) <= SOCKET_PATH_MAX:
        return own
    digest = hashlib.sha256(own.encode()).hexdigest()[:DIGEST]
    return str(private_folder() / f"{digest}.sock")


def _bases() -> list[Path]:
    uid, runtime = os.geteuid(), os.environ.get("XDG_RUNTIME_DIR", "")
    found = [Path(runtime)] if runtime.startswith("/") else []
    return found + [Path(f"/run/user/{uid}")]


def private_folder() -> Path:
    """The first usable base's ``phoenix-edge`` folder (see the module's text)."""
    for base in _bases():
        if _ours(base, 0o022) and _fits(base / "phoenix-edge"):
            return _made(base / "phoenix-edge")
    return _made(LAST_RESORT / f"phoenix-edge-{os.geteuid()}")


def _fits(folder: Path) -> bool:
    return len(str(folder).encode()) + 1 + DIGEST + len(".sock") <= SOCKET_PATH_MAX


def _ours(path: Path, forbidden: int) -> bool:
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISDIR(info.st_mode) and info.st_uid == os.geteuid() and \
        not info.st_mode & forbidden


def _made(folder: Path) -> Path:
    try:
        folder.mkdir(mode=0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise EdgeError(f"edge: cannot make {folder} for its socket: {exc.strerror}") from None
    if not _ours(folder, 0o077):
        raise EdgeError(f"edge: {folder} (for the edge's socket) is not a private folder of "
                        "this user (a link, another owner, or open to others): remove it")
    return folder
