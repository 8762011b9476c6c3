"""When a backup is trusted for a restore: under backups/<env>/ (or named with
``outside``), its manifest signed with the stack's key, its bytes the manifest's."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from phoenix_compose.backups import trusted_manifest, vouch, write_manifest
from phoenix_compose.errors import ConfigurationError

from support import inv

DATA = b"PGDMP pretend dump"


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    stack = tmp_path / "stack"
    (stack / "backups" / "dev").mkdir(parents=True)
    return stack


def backup(root: Path, folder: Path, name: str = "b", sign: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    dump = folder / f"{name}.dump"
    dump.write_bytes(DATA)
    manifest = {"file": dump.name, "sha256": hashlib.sha256(DATA).hexdigest(),
                "size": len(DATA), "tables": {"public.t": 1}}
    if sign:
        write_manifest(root, dump.with_suffix(".json"), manifest, 0o640)
    else:
        dump.with_suffix(".json").write_text(json.dumps(manifest))
    return dump


def refusal(root: Path, dump: Path, **kw) -> str:
    with pytest.raises(ConfigurationError) as info:
        trusted_manifest(root, "dev", dump, **kw)
    (problem,) = info.value.problems
    return str(problem)


def test_a_signed_backup_of_the_env_is_trusted(root) -> None:
    dump = backup(root, root / "backups" / "dev")
    manifest = trusted_manifest(root, "dev", dump)
    assert manifest["tables"] == {"public.t": 1} and len(manifest["hmac"]) == 64
    assert dump.with_suffix(".json").stat().st_mode & 0o777 == 0o640


def test_a_hand_written_manifest_with_the_right_checksum_is_refused(root) -> None:
    dump = backup(root, root / "backups" / "dev", sign=False)
    assert refusal(root, dump) == (f"{dump.with_suffix('.json')}:1:1: error: not signed with "
                                   "this stack's key (written by hand, edited, or made by "
                                   "another stack); refusing it (nothing was touched)")


def test_an_edited_signed_manifest_is_refused(root) -> None:
    dump = backup(root, root / "backups" / "dev")
    manifest = json.loads(dump.with_suffix(".json").read_text())
    manifest["tables"]["public.t"] = 2
    dump.with_suffix(".json").write_text(json.dumps(manifest))
    assert "not signed with this stack's key" in refusal(root, dump)


def test_another_stacks_backup_is_refused(root, tmp_path) -> None:
    other = tmp_path / "other"
    dump = backup(other, root / "backups" / "dev")  # signed, but with the other's key
    assert "not signed with this stack's key" in refusal(root, dump)


def test_a_tampered_dump_is_refused_after_the_signature(root) -> None:
    dump = backup(root, root / "backups" / "dev")
    dump.write_bytes(DATA.upper())
    assert "checksum mismatch" in refusal(root, dump)


@pytest.mark.parametrize("where", ["backups/prod", "elsewhere", "backups/dev/../.."])
def test_a_backup_outside_backups_env_needs_outside(root, where) -> None:
    dump = backup(root, root / where)
    assert refusal(root, dump) == (f"{dump}:1:1: error: is outside backups/dev/ of this "
                                   "stack; refusing it (nothing was touched)")
    assert trusted_manifest(root, "dev", dump, outside=True)["size"] == len(DATA)


def test_a_symlink_in_backups_env_to_a_file_elsewhere_is_outside(root, tmp_path) -> None:
    real = backup(root, tmp_path / "mnt")
    link = root / "backups" / "dev" / "b.dump"
    link.symlink_to(real)
    (root / "backups" / "dev" / "b.json").symlink_to(real.with_suffix(".json"))
    assert "is outside backups/dev/" in refusal(root, link)


def test_an_operator_can_vouch_for_an_unsigned_backup_whose_bytes_match(root) -> None:
    dump = backup(root, root / "backups" / "dev", sign=False)
    vouch(root, dump)
    assert trusted_manifest(root, "dev", dump)["size"] == len(DATA)
    other = backup(root, root / "backups" / "dev", "c", sign=False)
    other.write_bytes(DATA.upper())
    with pytest.raises(ConfigurationError, match="checksum mismatch"):
        vouch(root, other)  # nothing is signed that does not match its manifest
    assert "not signed" in refusal(root, other)


def test_db_trust_needs_yes_then_signs(phoenix_stack: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(phoenix_stack.parent / "state"))
    dump = backup(phoenix_stack, phoenix_stack / "backups" / "development", sign=False)
    refused = inv(phoenix_stack, "db.trust", str(dump))
    assert refused.returncode == 1 and "hint: only for a backup you know the origin of: " \
                                       "run again with --yes" in refused.stderr
    done = inv(phoenix_stack, "db.trust", str(dump), "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{dump}: signed with this stack's key")
    assert trusted_manifest(phoenix_stack, "development", dump)["size"] == len(DATA)
