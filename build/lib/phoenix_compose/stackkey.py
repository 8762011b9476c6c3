"""The per-stack key: a secret kept outside the repository, for HMACs over what the stack
records and later trusts again: backup manifests (``db.restore``), each release
(``rollback``) and the last valid ``compose.yaml`` (``down`` with a broken config).  Whoever
can write the repository or ``.phoenix/`` (a repository that ships one, another user of a
shared checkout) but not the operator's home cannot forge one that we would then trust.

It lives at ``$XDG_STATE_HOME/phoenix-compose/keys/<sha256 of the stack root's real
path>`` (``XDG_STATE_HOME`` defaults to ``~/.local/state``): 32 random bytes, mode 0600 in
a 0700 folder, made on first use, never opened through a symlink.  Two first uses at once
agree on one key (it is made under a temporary name and linked into place, which fails for
the second).  A key file that is a symlink, is not the user's own, can be read by others,
or is not 32 bytes is refused.  Moving a stack to another host needs this file too (copy
it, 0600); moving the stack folder means a new key, so what the old one sealed is refused.

>>> mac = sign(root, b"data")
>>> verify(root, b"data", mac)
True
"""

from __future__ import annotations

import errno
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from phoenix_compose.errors import StateError

KEY_BYTES = 32


def key_path(root: Path) -> Path:
    """Where the key of the stack at ``root`` is kept (it may not exist yet)."""
    state = os.environ.get("XDG_STATE_HOME")
    if not state:
        try:
            state = str(Path.home() / ".local" / "state")
        except RuntimeError:  # no HOME and no passwd entry
            raise StateError("no home folder for the stack key",
                             hint="set XDG_STATE_HOME (or HOME)") from None
    digest = hashlib.sha256(os.path.realpath(root).encode("utf-8", "surrogateescape"))
    return Path(state) / "phoenix-compose" / "keys" / digest.hexdigest()


key_file = key_path


def stack_key(root: Path, create: bool = True) -> bytes:
    """The key of the stack at ``root``, made on first use (unless ``create`` is false:
    FileNotFoundError); StateError when it cannot be made or is not safe to use."""
    path = key_path(root)
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            raise
    try:
        _make(path)
        return _read(path)
    except OSError as exc:
        raise StateError(f"cannot make the stack key {path}: {exc.strerror or exc}") from None


def sign(root: Path, data: bytes) -> str:
    """The HMAC-SHA256 of ``data`` with the stack's key, as hex."""
    return hmac.new(stack_key(root), data, hashlib.sha256).hexdigest()


def verify(root: Path, data: bytes, mac: object) -> bool:
    """Is ``mac`` the stack key's HMAC of ``data``?  (Constant-time; False for anything
    that is not a string.)"""
    if not isinstance(mac, str):
        return False
    return hmac.compare_digest(sign(root, data), mac)


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        if exc.errno == errno.ELOOP:
            raise StateError(f"the stack key {path} is a symlink; refusing it",
                             hint=f"remove it (a new key is made; what the old one signed "
                                  f"is no longer trusted): rm {path}") from None
        raise StateError(f"cannot read the stack key {path}: {exc.strerror or exc}",
                         hint=f"check {path.parent} and its parents") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid() or \
                info.st_mode & 0o077:
            raise StateError(f"the stack key {path} is not a private file of this user "
                             f"(mode {stat.filemode(info.st_mode)}, uid {info.st_uid})",
                             hint=f"chmod 600 {path} if it is yours")
        key = os.read(fd, KEY_BYTES + 1)
    finally:
        os.close(fd)
    if len(key) != KEY_BYTES:
        raise StateError(f"the stack key {path} is damaged ({len(key)} bytes, not "
                         f"{KEY_BYTES})", hint=f"remove it (a new key is made; what the old "
                                               f"one signed is no longer trusted): rm {path}")
    return key


def _make(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with open(fd, "wb") as out:
            out.write(secrets.token_bytes(KEY_BYTES))
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # never replaces a key another process made meanwhile
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)


def _message(domain: str, parts: tuple[bytes, ...]) -> bytes:
    """Each part length-prefixed: no two different part lists give the same bytes."""
    out = domain.encode() + b"\0"
    for part in parts:
        out += len(part).to_bytes(8, "big") + part
    return out


def seal(root: Path, domain: str, *parts: bytes) -> str:
    """HMAC-SHA256 of ``parts`` in ``domain`` under the stack's key (made when missing)."""
    return hmac.new(stack_key(root), _message(domain, parts), hashlib.sha256).hexdigest()


def is_sealed(root: Path, mac: object, domain: str, *parts: bytes) -> bool:
    """Does ``mac`` seal ``parts``?  No key (never sealed here) is a no; an unsafe or
    unreadable key is a StateError."""
    if not isinstance(mac, str):
        return False
    try:
        key = stack_key(root, create=False)
    except FileNotFoundError:
        return False
    expected = hmac.new(key, _message(domain, parts), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, mac)
