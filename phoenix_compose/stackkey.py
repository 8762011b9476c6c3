"""The per-stack secret key that seals what phoenix records and later runs again: each
release (``rollback``) and the last valid ``compose.yaml`` (``down`` with a broken config).

The key lives outside the stack root and outside ``.phoenix/``, under the operator's
``$XDG_STATE_HOME/phoenix-compose/keys/<sha256 of the stack root's real path>`` (default
``~/.local/state``), 0600 in a 0700 folder, made on first use and never opened through a
symlink.  Whoever can write ``.phoenix/`` (a repository that ships one, another user of a
shared checkout) but not the operator's home cannot make a release that ``rollback``
accepts.  Moving the stack folder means a new key: the old releases are then refused.
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

_FLAGS = os.O_NOFOLLOW | os.O_CLOEXEC


def key_file(root: Path) -> Path:
    base = os.environ.get("XDG_STATE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".local" / "state")
        except RuntimeError:  # no HOME and no passwd entry
            raise OSError(errno.ENOENT, "no home folder for the stack key (set "
                                        "XDG_STATE_HOME)") from None
    identity = hashlib.sha256(os.fsencode(os.path.realpath(root))).hexdigest()
    return Path(base) / "phoenix-compose" / "keys" / identity


def stack_key(root: Path, create: bool = True) -> bytes:
    """The key of the stack at ``root``; made when missing (unless ``create`` is false:
    FileNotFoundError).  Any other trouble is an OSError naming the key file."""
    path = key_file(root)
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _FLAGS, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32) + "\n")
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # complete or absent: never a half-written key
        except FileExistsError:
            pass  # another process made it first: theirs is the key
    finally:
        os.unlink(tmp)
    return _read(path)


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | _FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "a symbolic link; refusing to follow it", str(path)) \
                from None
        raise
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.getuid() or \
                info.st_mode & 0o077:
            raise OSError(errno.EPERM, "not a private (0600) file of this user", str(path))
        text = handle.read(200).decode("ascii", "replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise OSError(errno.EINVAL, "not a phoenix stack key", str(path))
    return key


def _message(domain: str, parts: tuple[bytes, ...]) -> bytes:
    """Each part length-prefixed: no two different part lists give the same bytes."""
    out = domain.encode() + b"\0"
    for part in parts:
        out += len(part).to_bytes(8, "big") + part
    return out


def seal(root: Path, domain: str, *parts: bytes) -> str:
    """HMAC-SHA256 of ``parts`` under the stack's key (made when missing)."""
    return hmac.new(stack_key(root), _message(domain, parts), hashlib.sha256).hexdigest()


def is_sealed(root: Path, mac: object, domain: str, *parts: bytes) -> bool:
    """Does ``mac`` seal ``parts``?  No key (never sealed here) is a no.  An unreadable key
    is an OSError."""
    if not isinstance(mac, str):
        return False
    try:
        key = stack_key(root, create=False)
    except FileNotFoundError:
        return False
    expected = hmac.new(key, _message(domain, parts), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)
