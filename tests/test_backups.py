"""When a backup is trusted for a restore: under backups/<env>/ (or named with
``outside``: ``db.restore --from FILE --yes``), its manifest signed with the stack's key,
its bytes the manifest's; and the bytes checked are the bytes restored (one private
copy)."""

from __future__ import annotations

import hashlib
import json
import os
import types
from pathlib import Path

import pytest

from phoenix_compose.backups import trusted_copy, trusted_manifest, vouch, write_manifest
from phoenix_compose.errors import ConfigurationError

from support import REPO
from support.inprocess import inv

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
    with pytest.raises(ConfigurationError) as info:
        trusted_manifest(root, "dev", dump)
    assert info.value.hint.endswith("or name this file explicitly: --from FILE --yes")
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


def test_the_bytes_checked_are_a_private_copy_a_dump_swapped_afterwards_is_not_used(root
                                                                                    ) -> None:
    dump = backup(root, root / "backups" / "dev")
    with trusted_copy(root, "dev", dump) as (manifest, copy):
        evil = dump.with_name("evil")
        evil.write_bytes(b"PGDMP COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'")
        os.replace(evil, dump)  # swapped once the check passed
        dump.write_bytes(DATA.upper())  # and written again
        assert copy.read_bytes() == DATA and manifest["size"] == len(DATA)
        assert copy.parent.parent == root / "backups" / "dev"
        assert copy.parent.stat().st_mode & 0o777 == 0o700
        assert copy.stat().st_mode & 0o777 == 0o600
    assert not copy.parent.exists()  # the copy goes with the restore


def test_a_restore_removes_the_copy_a_killed_restore_left_but_not_a_verify_under_way(
        root) -> None:
    dump = backup(root, root / "backups" / "dev")
    killed, verifying = root / "backups" / "dev" / ".restore-x", root / "backups" / "dev" / \
        ".verify-y"
    for left in (killed, verifying):
        left.mkdir()
        (left / "backup.dump").write_bytes(DATA)
    with trusted_copy(root, "dev", dump, purpose="verify"):
        assert killed.exists()  # a verify takes no env lock: it removes nothing
    with trusted_copy(root, "dev", dump):
        assert not killed.exists() and verifying.exists()


class FakeDatabase:
    """What ``restore_backup`` uses of a ``Database``; every SQL is recorded."""

    def __init__(self, root: Path) -> None:
        self.db, self.user, self.sqls = "revenue", "phoenix", []
        self.service = types.SimpleNamespace(name="revenue-db", container="p_revenue-db_1")
        self.env = types.SimpleNamespace(root=root, name="dev", production=False,
                                         status=dict, dependents=lambda _name: [])

    def sql(self, statement: str, db: str | None = None, container: str | None = None
            ) -> str:
        self.sqls.append(statement)
        return ""

    def script(self, text: str, db: str = "postgres", container: str | None = None
               ) -> str:
        self.sqls.append(text)
        return ""

    def counts(self, db: str | None = None, container: str | None = None,
               user: str | None = None) -> dict[str, int]:
        return {"public.t": 1}


def test_db_restore_feeds_pg_restore_the_bytes_it_checked_not_a_dump_swapped_since(
        root, monkeypatch) -> None:
    """The seam: right after the check (``restore_into`` gets the copy once it is checked)
    the dump is replaced; pg_restore still gets the checked bytes."""
    from phoenix_compose.cli import load_plugins

    db = dict(load_plugins(REPO / "tasks"))["db"]
    dump = backup(root, root / "backups" / "dev")
    fed: list[bytes] = []
    restore_into = db.restoring.restore_into

    def swap_it(database, copy: Path, new: str) -> None:
        dump.write_bytes(b"PGDMP COPY (SELECT 1) TO PROGRAM 'touch /tmp/x'")
        restore_into(database, copy, new)

    monkeypatch.setattr(db.restoring, "restore_into", swap_it)
    monkeypatch.setattr(db.commands, "transfer", lambda argv, stdin: fed.append(stdin.read()))
    database = FakeDatabase(root)
    old, users = db.restore_backup(database, dump, yes=False)
    assert fed == [DATA] and old.startswith("revenue_before_") and users == []
    assert any("REASSIGN OWNED BY phoenix_restore TO \"phoenix_owner\"" in s
               for s in database.sqls)  # the live owner is a superuser: never it
    assert list((root / "backups" / "dev").glob(".restore-*")) == []


def test_db_restore_takes_one_backup_file_or_from_with_yes(phoenix_stack: Path,
                                                          monkeypatch) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(phoenix_stack.parent / "state"))
    elsewhere = backup(phoenix_stack, phoenix_stack.parent / "elsewhere")
    for args, said in ((("--from", str(elsewhere)), "--from restores a file from anywhere: "
                                                    "confirm with --yes"),
                       ((), "name one backup: FILE (of backups/<env>/), or --from FILE"),
                       (("x.dump", "--from", str(elsewhere), "--yes"), "name one backup")):
        refused = inv(phoenix_stack, "db.restore", *args)
        assert refused.returncode == 1, refused.stderr
        assert said in refused.stderr and "Traceback" not in refused.stderr
    inside = inv(phoenix_stack, "db.restore", str(elsewhere), "--yes")
    assert inside.returncode == 1
    assert inside.stderr.startswith(f"{elsewhere}:1:1: error: is outside backups/development/")
