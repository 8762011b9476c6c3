"""Backup files a plugin keeps under ``backups/<env>/`` and the rule for trusting one.

A backup is ``<name>.dump`` and its manifest ``<name>.json`` (sha256, size, what it holds),
written atomically.  The manifest carries an HMAC-SHA256 with the stack's key
(:mod:`phoenix_compose.stackkey`, kept outside the repository): a checksum alone only
catches accidents, since anyone who can write a file can write a matching manifest.  A
restore trusts a backup only when

- its real path is under ``<stack root>/backups/<env>/`` (or the operator named a file
  elsewhere explicitly: ``outside``, ``db.restore --from FILE --yes``),
- its manifest's HMAC is this stack's, and
- the dump's size and sha256 are the manifest's.

The bytes checked are the bytes restored: :func:`trusted_copy` reads the dump once into a
private copy, checks that copy, and hands it to the restore.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from phoenix_compose import fileio, stackkey
from phoenix_compose.errors import ConfigurationError, Loc, Problem

CHUNK = 1 << 20
COPY_CHUNK = 4 << 20  # read into one buffer: no allocation per block
MAC = "hmac"  # the manifest key that holds the signature of every other key


def folder(root: Path, env: str) -> Path:
    return root / "backups" / env


def located(path: Path | str, message: str, hint: str = "") -> ConfigurationError:
    """An error about a file the user gave, printed ``FILE:1:1: error: MESSAGE``, then
    ``hint: HINT`` (not the config files' "run config.validate")."""
    return ConfigurationError([Problem(Loc(str(path), 1, 1), message)],
                              hint=hint or "check the file named above")


def _signed_bytes(manifest: dict[str, Any]) -> bytes:
    body = {k: v for k, v in manifest.items() if k != MAC}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def write_manifest(root: Path, path: Path, manifest: dict[str, Any], mode: int) -> None:
    """Sign ``manifest`` with the stack's key and write it atomically to ``path``."""
    signed = {**manifest, MAC: stackkey.sign(root, _signed_bytes(manifest))}
    write_atomic(path, json.dumps(signed, indent=2) + "\n", mode)


def trusted_manifest(root: Path, env: str, dump: Path, *, outside: bool = False
                     ) -> dict[str, Any]:
    """The manifest of backup ``dump`` once it is trusted (the module's rule), or a
    located error before anything is touched.  ``outside``: the operator named a file
    outside ``backups/<env>/`` explicitly.  To restore it, use :func:`trusted_copy`."""
    with trusted_copy(root, env, dump, outside=outside) as (manifest, _copy):
        return manifest


@contextmanager
def trusted_copy(root: Path, env: str, dump: Path, *, outside: bool = False,
                 purpose: str = "restore") -> Iterator[tuple[dict[str, Any], Path]]:
    """The manifest of backup ``dump`` once it is trusted, and a private copy of its bytes:
    the bytes that were checked are the bytes to restore.  ``dump`` is opened once, never
    through a symlink, and copied (hashed on the way) into a 0600 file of a 0700 folder
    ``backups/<env>/.<purpose>-*``; a file swapped after the check is not what is restored.
    The copy goes on leaving; a ``purpose`` run under the env lock (``restore``) removes
    what a killed one of its kind left."""
    with trusted_copy_started(root, env, dump, outside=outside, purpose=purpose) as (
            manifest, checked):
        yield manifest, checked()


@contextmanager
def trusted_copy_started(root: Path, env: str, dump: Path, *, outside: bool = False,
                         purpose: str = "restore"
                         ) -> Iterator[tuple[dict[str, Any], Callable[[], Path]]]:
    """:func:`trusted_copy`, its copy made in a thread: the manifest once it is signed by
    this stack, and ``checked``, which waits for the private copy and returns it once its
    size and sha256 are the manifest's (else raises the located error).  Meanwhile the
    caller may prepare what the dump decides nothing of; it uses the copy only through
    ``checked()``.  On leaving, a copy under way is stopped and waited for, then removed."""
    _inside(root, env, dump.resolve(), dump, outside)
    manifest = _read_manifest(dump)
    if not stackkey.verify(root, _signed_bytes(manifest), manifest.get(MAC)):
        raise located(dump.with_suffix(".json"), "not signed with this stack's key (written "
                      "by hand, edited, or made by another stack); refusing it (nothing was "
                      "touched)", hint=f"a backup of this stack made on another host needs "
                      f"that host's key, copied to {stackkey.key_path(root)}; or, if you "
                      f"vouch for it, sign it: inv db.trust {dump} --yes")
    scratch = folder(root, env)
    scratch.mkdir(parents=True, exist_ok=True, mode=0o700)
    if purpose == "restore":
        for stale in scratch.glob(".restore-*"):
            shutil.rmtree(stale, ignore_errors=True)
    private = Path(tempfile.mkdtemp(prefix=f".{purpose}-", dir=scratch))
    copy, cancel = private / "backup.dump", threading.Event()
    pool = ThreadPoolExecutor(1, thread_name_prefix="trusted-copy")
    try:
        job = pool.submit(lambda: _check_content(dump, manifest, *_copy(
            root, env, dump, outside, copy, cancel)))

        def checked() -> Path:
            job.result()
            return copy

        yield manifest, checked
    finally:
        cancel.set()  # a copy still under way stops at its next block
        pool.shutdown(wait=True)
        shutil.rmtree(private, ignore_errors=True)


def _inside(root: Path, env: str, real: Path, dump: Path, outside: bool) -> None:
    if not outside and not real.is_relative_to(folder(root.resolve(), env)):
        raise located(dump, f"is outside backups/{env}/ of this stack; refusing it (nothing "
                            "was touched)", hint="restore a backup of backups/<env>/, or name "
                                                 "this file explicitly: --from FILE --yes")


def _copy(root: Path, env: str, dump: Path, outside: bool, copy: Path,
          cancel: threading.Event | None = None) -> tuple[str, int]:
    """Copy ``dump`` (its real path, opened without following a link, checked again where
    the open file really is) to ``copy``; its sha256 and size.  Every byte written is
    hashed; ``cancel`` set: stop (the copy is left incomplete, its size tells)."""
    try:
        source = fileio.open_nofollow(dump.resolve(), os.O_RDONLY)
    except OSError as exc:
        raise located(dump, f"cannot be read ({exc.strerror}); refusing it (nothing was "
                            "touched)") from None
    digest, size = hashlib.sha256(), 0
    with os.fdopen(source, "rb") as stream, \
            os.fdopen(fileio.open_nofollow(copy, os.O_WRONLY | os.O_CREAT | os.O_EXCL,
                                           0o600), "wb") as out:
        opened = Path(f"/proc/self/fd/{source}")
        _inside(root, env, Path(os.readlink(opened)) if opened.exists() else dump.resolve(),
                dump, outside)  # the file opened, not the name resolved a moment before
        buffer = bytearray(COPY_CHUNK)
        view = memoryview(buffer)
        while (count := stream.readinto(buffer)) and not (cancel and cancel.is_set()):
            digest.update(view[:count])  # the very bytes written next
            out.write(view[:count])
            size += count
    return digest.hexdigest(), size


def vouch(root: Path, dump: Path) -> dict[str, Any]:
    """Sign the manifest of ``dump`` with this stack's key once its bytes match it: the
    operator vouches for a backup made before manifests were signed, or by a host whose
    key is lost.  Returns the signed manifest."""
    manifest = _read_manifest(dump)
    _check_content(dump, manifest, *checksum(dump))
    json_file = dump.with_suffix(".json")
    write_manifest(root, json_file, manifest, json_file.stat().st_mode & 0o777)
    return manifest


def _read_manifest(dump: Path) -> dict[str, Any]:
    if not dump.is_file():
        raise located(dump, "no such backup")
    json_file = dump.with_suffix(".json")
    try:
        manifest = json.loads(json_file.read_text(encoding="utf-8"))
        if not isinstance(manifest, dict):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        raise located(dump, f"its manifest {json_file.name} is missing or damaged "
                            f"({getattr(exc, 'strerror', None) or exc})") from None
    return manifest


def _check_content(dump: Path, manifest: dict[str, Any], digest: str, size: int) -> None:
    if size != manifest.get("size"):
        raise located(dump, f"truncated or grown: {size} bytes, the manifest says "
                            f"{manifest.get('size')}; refusing it (nothing was touched)")
    if digest != manifest.get("sha256"):
        raise located(dump, f"checksum mismatch (sha256 {digest[:16]}..., the manifest says "
                            f"{str(manifest.get('sha256'))[:16]}...): tampered or damaged; "
                            "refusing it (nothing was touched)")


def checksum(path: Path) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as stream:
        while block := stream.read(CHUNK):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def write_atomic(path: Path, text: str, mode: int) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with open(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def complete(path: Path) -> list[Path]:
    """The complete backups in folder ``path``, oldest first (a dump whose manifest is
    missing is not one)."""
    return sorted(p for p in path.glob("*.dump") if p.with_suffix(".json").is_file())


def prune(path: Path, keep: Any) -> list[Path]:
    """Remove all but the newest ``keep`` backups of folder ``path`` (None: keep all)."""
    if keep is None:
        return []
    old = complete(path)[:-int(keep)] if int(keep) > 0 else complete(path)
    for dump in old:
        dump.unlink(missing_ok=True)
        dump.with_suffix(".json").unlink(missing_ok=True)
    return old
