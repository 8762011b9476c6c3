"""``db.restore``'s steps without podman: the two batched psql scripts (what they run, in
which order) and the order the concurrent copy keeps: pg_restore gets the dump only once
its private copy is checked, and a copy that fails its check drops the new database."""

from __future__ import annotations

import hashlib
import threading
import types
from pathlib import Path

import pytest

from phoenix_compose import backups
from phoenix_compose.backups import trusted_copy_started, write_manifest
from phoenix_compose.errors import ConfigurationError

from support import REPO

DATA = b"PGDMP pretend dump " * 1000


@pytest.fixture
def db():
    from phoenix_compose.cli import load_plugins

    return dict(load_plugins(REPO / "tasks"))["db"]


@pytest.fixture
def dump(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    root = tmp_path / "stack"
    (root / "backups" / "dev").mkdir(parents=True)
    path = root / "backups" / "dev" / "b.dump"
    path.write_bytes(DATA)
    write_manifest(root, path.with_suffix(".json"), {
        "file": path.name, "sha256": hashlib.sha256(DATA).hexdigest(), "size": len(DATA),
        "tables": {"public.t": 1}}, 0o640)
    return path


class Recorder:
    """What ``restore_backup`` uses of a ``Database``; every step is recorded in order."""

    def __init__(self, root: Path, opened: threading.Event) -> None:
        self.db, self.user, self.steps, self.opened = "revenue", "phoenix", [], opened
        self.service = types.SimpleNamespace(name="revenue-db", container="p_revenue-db_1")
        self.env = types.SimpleNamespace(root=root, name="dev", production=False,
                                         status=dict, dependents=lambda _name: [])

    def sql(self, statement: str, db: str | None = None) -> str:
        self.steps.append(("sql", statement))
        return ""

    def script(self, text: str, db: str = "postgres") -> str:
        self.steps.append(("script", text))
        if "CREATE DATABASE" in text:
            self.opened.set()
            return "DO\nleft|revenue_restore_20260101000000\nDROP DATABASE\nowner|\n"
        return ""

    def counts(self, db: str | None = None, user: str | None = None) -> dict[str, int]:
        self.steps.append(("counts", db))
        return {"public.t": 1}


def held_copy(monkeypatch: pytest.MonkeyPatch, opened: threading.Event,
              steps: list) -> None:
    """The copy starts only once the new database is made: it ends after that step."""
    copy = backups._copy

    def late(*args):
        assert opened.wait(60)
        result = copy(*args)
        steps.append(("copied", result[1]))
        return result

    monkeypatch.setattr(backups, "_copy", late)


def test_pg_restore_starts_only_once_the_copy_made_meanwhile_is_checked(
        db, dump, monkeypatch) -> None:
    opened = threading.Event()
    database = Recorder(dump.parent.parent.parent, opened)
    held_copy(monkeypatch, opened, database.steps)
    fed: list[bytes] = []
    monkeypatch.setattr(db.commands, "transfer", lambda argv, stdin: (
        database.steps.append(("pg_restore", argv[-3])), fed.append(stdin.read())))
    old, _users = db.restore_backup(database, dump, yes=False)
    kinds = [step[0] for step in database.steps]
    assert kinds == ["script", "copied", "pg_restore", "counts", "script"]
    assert "CREATE DATABASE" in database.steps[0][1] and fed == [DATA]
    assert database.steps[1] == ("copied", len(DATA))
    assert "RENAME TO" in database.steps[-1][1] and old.startswith("revenue_before_")


def test_a_copy_that_fails_its_check_drops_the_new_database_and_restores_nothing(
        db, dump, monkeypatch) -> None:
    opened = threading.Event()
    database = Recorder(dump.parent.parent.parent, opened)
    held_copy(monkeypatch, opened, database.steps)
    dump.write_bytes(DATA.upper())  # same size, other bytes
    monkeypatch.setattr(db.commands, "transfer", lambda argv, stdin: pytest.fail("restored"))
    with pytest.raises(ConfigurationError, match="checksum mismatch"):
        db.restore_backup(database, dump, yes=False)
    (script, _copied, (kind, drop)) = database.steps
    new = script[1].split('CREATE DATABASE "')[1].split('"')[0]
    assert kind == "sql" and drop == f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)'
    assert list(dump.parent.glob(".restore-*")) == []


def test_a_refused_dump_costs_a_production_env_no_backup(db, dump, monkeypatch) -> None:
    """The pre-restore backup prunes the oldest one: it is taken only once the dump to
    restore passed its check, so a bad dump (retried) never rotates good backups out."""
    opened = threading.Event()
    database = Recorder(dump.parent.parent.parent, opened)
    database.env.production = True
    held_copy(monkeypatch, opened, database.steps)
    dump.write_bytes(DATA.upper())  # same size, other bytes
    monkeypatch.setattr(db.restoring, "take_backup",
                        lambda *_a, **_k: pytest.fail("a backup was taken (and pruned)"))
    with pytest.raises(ConfigurationError, match="checksum mismatch"):
        db.restore_backup(database, dump, yes=True)


def test_leaving_before_the_check_stops_the_copy_and_removes_it(dump, monkeypatch
                                                                ) -> None:
    started, stopped = threading.Event(), []

    def slow_copy(root, env, path, outside, copy, cancel):
        started.set()
        stopped.append(cancel.wait(60))  # held until the caller leaves
        return "", 0

    monkeypatch.setattr(backups, "_copy", slow_copy)
    with pytest.raises(RuntimeError), trusted_copy_started(
            dump.parent.parent.parent, "dev", dump) as (_manifest, _checked):
        assert started.wait(60)
        private = next(dump.parent.glob(".restore-*"))
        raise RuntimeError("the new database could not be made")
    assert stopped == [True] and not private.exists()


def test_the_open_script_cleans_leftovers_before_it_makes_the_new_database(db) -> None:
    script = db.restoring.open_script("revenue", "revenue_restore_20260101000000")
    order = ["SELECT 'left|' || datname FROM pg_database WHERE datname ~ "
             "'^revenue_restore_[0-9]{14}$'",
             "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', datname)",
             "\\gexec\n", "SELECT 'closed|' || datname FROM pg_database WHERE datname = "
             "'revenue' AND NOT datallowconn",
             "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', datname)",
             "SELECT 'owner|' || (SELECT coalesce(", "ALTER ROLE phoenix_restore LOGIN",
             "CREATE DATABASE \"revenue_restore_20260101000000\" OWNER phoenix_restore;\n"]
    where = [script.index(part) for part in order]
    assert where == sorted(where) and script.endswith(order[-1])


def test_the_open_script_reports_leftovers_and_the_owner(db) -> None:
    database = types.SimpleNamespace(db="revenue", script=lambda text: (
        "DO\nleft|revenue_restore_20250101000000\nDROP DATABASE\nclosed|revenue\n"
        "ALTER DATABASE\nowner|app\nCREATE DATABASE\n"))
    left, owner = db.restoring.open_restore(database, "revenue_restore_20260101000000")
    assert left == ["revenue_restore_20250101000000", "revenue (closed to connections)"]
    assert owner == "app"


@pytest.mark.parametrize(("owner", "to"), [("app", '"app"'), ("", '"phoenix_owner"')])
def test_the_finish_script_hands_over_then_swaps_in_one_run(db, owner, to) -> None:
    new, old = "revenue_restore_20260101000000", "revenue_before_20260101000000"
    script = db.restoring.finish_script("revenue", new, old, owner)
    order = [f'ALTER DATABASE "{new}" RESET ALL;', f'ALTER DATABASE "{new}" OWNER TO {to};',
             f"\\connect '{new}'\n", f"REASSIGN OWNED BY phoenix_restore TO {to};",
             "DROP OWNED BY phoenix_restore;", "\\connect postgres\n",
             'ALTER DATABASE "revenue" ALLOW_CONNECTIONS false;', "BEGIN;",
             f'ALTER DATABASE "revenue" RENAME TO "{old}";',
             f'ALTER DATABASE "{new}" RENAME TO "revenue";', "COMMIT;"]
    where = [script.index(part) for part in order]
    assert where == sorted(where)
    assert ("CREATE ROLE phoenix_owner" in script) == (not owner)
    assert script.index("role app is" if owner else "role phoenix_owner is") < where[0]


def test_a_failed_finish_opens_the_live_database_again(db) -> None:
    ran: list[str] = []

    def failing(text: str) -> str:
        raise ConfigurationError([], hint="psql failed")

    database = types.SimpleNamespace(db="revenue", script=failing,
                                     sql=lambda text, db: ran.append(text))
    with pytest.raises(ConfigurationError):
        db.restoring.finish_restore(database, "revenue_restore_1", "revenue_before_1", "")
    assert ran == ['ALTER DATABASE "revenue" ALLOW_CONNECTIONS true']


def test_a_cancelled_copy_stops_before_its_next_block(dump, tmp_path) -> None:
    cancel = threading.Event()
    cancel.set()
    copy = dump.parent / "copy.dump"
    digest, size = backups._copy(dump.parent.parent.parent, "dev", dump, False, copy, cancel)
    assert size == 0 and copy.read_bytes() == b""
    assert backups._copy(dump.parent.parent.parent, "dev", dump, False,
                         dump.parent / "whole.dump") == (hashlib.sha256(DATA).hexdigest(),
                                                         len(DATA))
