"""The ``db`` plugin (tasks/db/) on real podman and real PostgreSQL: the development
env's revenue-db (its own project and volume), backed up, restored and verified through
``inv`` as an operator types it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from phoenix_compose.runtime import argv, commands

from support import LIMITS_APPLY, REPO, STACK_DIRS, free_port, inv, remove_project

pytestmark = pytest.mark.podman


class Stack:
    def __init__(self, root: Path, project: str) -> None:
        self.root, self.project = root, project
        self.env = {"COMPOSE_PROJECT_NAME": project, "PHOENIX_CORE_PORT": str(free_port()),
                    "NCA_TOOLKIT_PORT": str(free_port()),
                    "XDG_STATE_HOME": str(root.parent / "state")}  # the stack key's home
        self.container = f"{project}_revenue-db_1"

    def inv(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return inv(self.root, *args, env=self.env, timeout=timeout)

    def sql(self, statement: str, db: str = "revenue") -> str:
        return commands.run(argv.exec_(self.container, ["psql", "-X", "-v", "ON_ERROR_STOP=1",
                                                      "-U", "phoenix", "-d", db, "-Atc",
                                                      statement]), timeout=300).stdout.strip()

    def rows(self) -> list[str]:
        return self.sql("SELECT id || ':' || note FROM revenue ORDER BY id").splitlines()

    def backups(self) -> list[Path]:
        return sorted((self.root / "backups" / "development").glob("*.dump"))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    root = tmp_path_factory.mktemp("dbstack") / "phoenix"
    for name in STACK_DIRS:
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    stack = Stack(root, f"pt{uuid.uuid4().hex[:8]}")
    up = stack.inv("up", "--env", "development", "--services", "revenue-db")
    assert up.returncode == 0, up.stdout + up.stderr
    stack.sql("CREATE TABLE revenue (id int PRIMARY KEY, note text); CREATE TABLE audit "
              "(at timestamptz DEFAULT now()); INSERT INTO revenue SELECT g, 'row ' || g "
              "FROM generate_series(1, 2000) g; INSERT INTO audit DEFAULT VALUES;")
    yield stack
    left = remove_project(stack.project)
    assert not left, left


def test_backup_writes_a_dump_and_a_manifest_and_keep_prunes(db) -> None:
    first = db.inv("db.backup", "--env", "development")
    assert first.returncode == 0, first.stderr
    (dump,) = db.backups()
    manifest = json.loads(dump.with_suffix(".json").read_text())
    assert manifest["tables"] == {"public.audit": 1, "public.revenue": 2000}
    assert manifest["size"] == dump.stat().st_size and len(manifest["sha256"]) == 64
    assert manifest["server_version"].startswith("15.") and manifest["database"] == "revenue"
    assert not list(dump.parent.glob(".*partial"))
    for _ in range(2):
        assert db.inv("db.backup", "--env", "development").returncode == 0
    assert len(db.backups()) == 3
    kept = db.inv("db.backup", "--env", "development", "--keep", "2")
    assert kept.returncode == 0, kept.stderr
    assert len(db.backups()) == 2 and dump not in db.backups()
    assert not dump.with_suffix(".json").exists()


@pytest.mark.skipif(not LIMITS_APPLY, reason="rootless on cgroups v1: podman cannot pause "
                                            "(a rootless container has no cgroup there)")
def test_a_database_that_is_not_healthy_is_not_backed_up(db) -> None:
    before = db.backups()
    commands.run(("podman", "pause", "--", db.container))
    try:
        refused = db.inv("db.backup", "--env", "development")
    finally:
        commands.run(("podman", "unpause", "--", db.container))
    assert refused.returncode == 1
    assert "error: revenue-db is stopped: refusing to back up a database that is not " \
           "healthy" in refused.stderr
    assert db.backups() == before and not list(db.root.glob("backups/*/.*partial"))


def test_round_trip_every_row_back_after_down_volumes(db) -> None:
    before = db.rows()
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.backups()[-1]
    down = db.inv("down", "--env", "development", "--volumes")
    assert down.returncode == 0, down.stderr
    assert db.inv("up", "--env", "development", "--services", "revenue-db").returncode == 0
    assert db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'revenue'") == "0"
    restored = db.inv("db.restore", str(dump), "--env", "development")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert db.rows() == before  # by content
    kept = restored.stdout.split("kept as '")[1].split("'")[0]
    assert db.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{kept}'") == "1"


@pytest.mark.parametrize("damage", ["tamper", "truncate"])
def test_a_damaged_backup_is_refused_with_the_live_db_untouched(db, damage) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.backups()[-1]
    data = bytearray(dump.read_bytes())
    if damage == "tamper":
        data[len(data) // 2] ^= 0xFF
    else:
        del data[len(data) // 2:]
    dump.write_bytes(bytes(data))
    before, dbs = db.rows(), db.sql("SELECT string_agg(datname, ',') FROM pg_database")
    refused = db.inv("db.restore", str(dump), "--env", "development")
    assert refused.returncode == 1
    reason = "checksum mismatch" if damage == "tamper" else "truncated or grown"
    assert f"{dump}:1:1: error: " in refused.stderr and reason in refused.stderr
    assert "Traceback" not in refused.stderr
    assert db.rows() == before
    assert db.sql("SELECT string_agg(datname, ',') FROM pg_database") == dbs
    dump.unlink()
    dump.with_suffix(".json").unlink()


def restoring(db) -> list[str]:
    """The partial copies a restore is making (or a killed one left)."""
    return db.sql("SELECT datname FROM pg_database WHERE datname LIKE 'revenue_restore_%'",
                  db="postgres").split()


def start_restore(db, dump: Path) -> subprocess.Popen:
    """`inv db.restore` in its own session, once its partial copy exists."""
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "db.restore", str(dump), "--env",
                             "development"], cwd=db.root, env={**os.environ, **db.env},
                            start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not restoring(db):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    return proc


def test_a_restore_killed_halfway_leaves_the_live_db_as_it_was(db) -> None:
    db.sql("CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS h FROM "
           "generate_series(1, 300000) g")
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.backups()[-1]
    db.sql("DROP TABLE bulk; UPDATE revenue SET note = note || ' (live)' WHERE id = 1")
    before = db.rows()
    proc = start_restore(db, dump)
    os.killpg(proc.pid, signal.SIGKILL)  # the tool and its pg_restore, halfway
    proc.wait(10)
    assert db.rows() == before and db.rows()[0].endswith("(live)")
    assert db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'bulk'") == "0"
    (left,) = restoring(db)  # nothing could clean up after a SIGKILL...
    again = db.inv("db.restore", str(dump), "--env", "development")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"removed what an interrupted restore left: {left}" in again.stdout
    assert restoring(db) == []  # ...so the next run did
    assert db.sql("SELECT count(*) FROM bulk") == "300000"
    db.sql("DROP TABLE bulk")


def test_sigterm_during_a_restore_drops_its_partial_copy(db) -> None:
    db.sql("CREATE TABLE bulk AS SELECT g AS id, md5(g::text) AS h FROM "
           "generate_series(1, 300000) g")
    assert db.inv("db.backup", "--env", "development").returncode == 0
    db.sql("DROP TABLE bulk")
    before = db.rows()
    proc = start_restore(db, db.backups()[-1])
    proc.send_signal(signal.SIGTERM)  # the tool only, as a service manager stops it
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, out + err
    assert "interrupted" in err and "Traceback" not in err
    assert restoring(db) == [] and db.rows() == before


def test_production_refuses_a_restore_without_yes(db) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.root / "backups" / "prod" / db.backups()[-1].name
    dump.parent.mkdir()
    for suffix in (".dump", ".json"):
        shutil.copy(db.backups()[-1].with_suffix(suffix), dump.with_suffix(suffix))
    refused = db.inv("db.restore", str(dump), "--env", "prod")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "error: 'prod' is a production env: db.restore replaces its live database" in \
        refused.stderr and "hint: run again with --yes" in refused.stderr


def test_verify_passes_on_a_good_backup_and_fails_when_the_counts_differ(db) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.backups()[-1]
    good = db.inv("db.verify", str(dump), "--env", "development")
    assert good.returncode == 0, good.stdout + good.stderr
    manifest = json.loads(dump.with_suffix(".json").read_text())
    assert "verified" in manifest
    manifest["tables"]["public.revenue"] += 1
    signed(db, dump, manifest)  # a manifest the stack signed, whose counts are wrong
    bad = db.inv("db.verify", str(dump), "--env", "development")
    assert bad.returncode == 1
    assert "row counts differ from the manifest: public.revenue: manifest 2001, restored " \
           "2000" in bad.stderr
    assert verifying(db.project) == []  # the throwaway is gone


def verifying(project: str) -> list[str]:
    """The throwaway verify containers and networks of ``project`` that exist now."""
    return [name for kind in (("ps", "-a", "--format", "{{.Names}}"),
                              ("network", "ls", "--format", "{{.Name}}"))
            for name in commands.run(("podman", *kind, "--filter",
                                    f"label=io.phoenix.verify={project}")).stdout.split()]


def test_the_watcher_takes_scheduled_backups_verifies_them_and_keep_prunes(db) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    newest = db.backups()[-1]
    os.utime(newest, (time.time() - 1000, time.time() - 1000))  # the watcher was away
    services = db.root / "compose" / "10-services.yaml"
    services.write_text(services.read_text().replace(
        "x-phoenix-backup: {every: 6h, keep: 28, verify: true}",
        "x-phoenix-backup: {every: 3s, keep: 2, verify: true}"))
    watch = subprocess.Popen([sys.executable, "-m", "invoke", "health.watch", "--env",
                              "development", "--json", "--interval", "1"], cwd=db.root,
                             env={**os.environ, **db.env}, stdout=subprocess.PIPE, text=True)
    events: list[dict] = []
    import threading

    threading.Thread(target=lambda: [events.append(json.loads(line)) for line in watch.stdout
                                     if line.startswith("{")], daemon=True).start()
    try:
        deadline = time.monotonic() + 90
        while sum(e["type"] == "backup_taken" for e in events) < 2 or \
                not any(e["type"] == "backup_verified" for e in events):
            assert time.monotonic() < deadline, [(e["type"], e.get("error")) for e in events
                                                 if e["type"] != "container_event"]
            time.sleep(0.2)
        while not verifying(db.project):  # stopped mid-verify, its throwaway still goes
            assert time.monotonic() < deadline + 30
            time.sleep(0.1)
    finally:
        watch.terminate()
        watch.wait(75)
    assert watch.returncode == 0
    assert verifying(db.project) == []
    missed = [e for e in events if e["type"] == "backup_failed"]
    assert missed and missed[0]["reason"] == "missed" and missed[0]["service"] == "revenue-db"
    assert len(db.backups()) <= 2  # keep: 2
    verified = json.loads(db.backups()[-1].with_suffix(".json").read_text())
    assert verified["reason"] == "scheduled"


def test_a_production_deploy_backs_the_database_up_before_recreating_it(db, monkeypatch
                                                                          ) -> None:
    from phoenix_compose.cli import load_plugins
    from phoenix_compose.runtime import releases
    from phoenix_compose.runtime.lifecycle import ComposeManager
    from phoenix_compose.runtime.startup import StartOptions

    for key, value in db.env.items():
        monkeypatch.setenv(key, value)
    assert "db" in dict(load_plugins(db.root / "tasks"))  # registers its pre-deploy hook
    services = db.root / "compose" / "10-services.yaml"
    services.write_text(services.read_text().replace(
        "      POSTGRES_DB: revenue\n", "      POSTGRES_DB: revenue\n      TZ: UTC\n", 1))
    manager = ComposeManager(db.root, "development")
    deployer = manager.deployer()
    deployer.production = True  # the rule as a production env has it (dev images here)
    stack = manager.stack()
    plan = deployer.plan(stack, ["revenue-db"])
    assert [s.change.value for s in plan.steps] == ["recreate"]
    rows, before = db.rows(), db.backups()
    deployer.apply(stack, plan, StartOptions(120, True, ()))
    assert db.backups()[-1] not in before and db.rows() == rows  # taken; the data kept
    backup = deployer.protected["db.backup"]["backup"]
    assert backup == str(db.backups()[-1].relative_to(db.root))
    assert "pre-deploy" in json.loads(db.backups()[-1].with_suffix(".json").read_text())[
        "reason"]
    releases.record(manager.state, stack, ["revenue-db"], commands.run,
                    protected=deployer.protected)
    assert releases.list_releases(manager.state)[-1].protected == {"db.backup": {
        "backup": backup}}


@pytest.mark.slow
def test_a_1_gb_table_streams_to_the_backup_with_the_tool_under_100_mb(db) -> None:
    db.sql("CREATE TABLE big AS SELECT g, md5(random()::text) || md5(random()::text) || "
           "md5(random()::text) || md5(random()::text) || md5(random()::text) || "
           "md5(random()::text) || md5(random()::text) || md5(random()::text) AS t "
           "FROM generate_series(1, 3600000) g")
    size = int(db.sql("SELECT pg_total_relation_size('big')"))
    assert size >= 1 << 30, size
    proc = subprocess.Popen([sys.executable, "-m", "invoke", "db.backup", "--env",
                             "development"], cwd=db.root, env={**os.environ, **db.env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:  # the tool's own peak RSS (VmHWM), podman's not counted
        try:
            status = Path(f"/proc/{proc.pid}/status").read_text()
            peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
        except (OSError, IndexError):
            pass
        time.sleep(0.05)
    out, err = proc.communicate()
    assert proc.returncode == 0, out + err
    assert peak < 100 * 1024, f"{peak} kB"
    dump = db.backups()[-1]
    manifest = json.loads(dump.with_suffix(".json").read_text())
    assert manifest["tables"]["public.big"] == 3600000
    assert dump.stat().st_size > 256 << 20  # random text: it really streamed ~0.5 GB
    db.sql("DROP TABLE big")


def signed(db, dump: Path, manifest: dict) -> None:
    """Write ``manifest`` for ``dump``, signed with the stack's key (as a backup is)."""
    from phoenix_compose.backups import write_manifest

    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = db.env["XDG_STATE_HOME"]
    try:
        write_manifest(db.root, dump.with_suffix(".json"), manifest, 0o640)
    finally:
        if saved is None:
            del os.environ["XDG_STATE_HOME"]
        else:
            os.environ["XDG_STATE_HOME"] = saved


def crafted_dump(db, sql: str) -> Path:
    """A custom-format dump whose one comment entry is replaced by ``sql`` (same length:
    the archive stays well-formed), under backups/development/, with a manifest whose
    sha256 and size match: what anyone who can write a file can make."""
    import hashlib

    db.sql("CREATE DATABASE craft", db="postgres")
    try:
        db.sql("CREATE TABLE t (id int); COMMENT ON TABLE t IS '" + "A" * 150 + "'", db="craft")
        chunks: list[bytes] = []
        commands.transfer(argv.exec_(db.container, ["pg_dump", "-U", "phoenix", "-d", "craft",
                                                  "--format=custom"]), sink=chunks.append)
    finally:
        db.sql("DROP DATABASE craft", db="postgres")
    data = b"".join(chunks)
    start = data.index(b"COMMENT ON TABLE public.t IS '")
    end = data.index(b"';\n", start) + 3
    evil = sql.encode().ljust(end - start - 1) + b"\n"
    assert len(evil) == end - start
    data = data[:start] + evil + data[end:]
    dump = db.root / "backups" / "development" / f"crafted{uuid.uuid4().hex[:6]}.dump"
    dump.parent.mkdir(parents=True, exist_ok=True)
    dump.write_bytes(data)
    manifest = {"file": dump.name, "sha256": hashlib.sha256(data).hexdigest(),
                "size": len(data), "tables": {"public.t": 0}, "database": "revenue"}
    dump.with_suffix(".json").write_text(json.dumps(manifest))
    return dump


def pwned(db) -> bool:
    return commands.run(argv.exec_(db.container, ["ls", "/tmp/pwned"]), ok_codes=(0, 1, 2)
                        ).code == 0


def databases(db) -> str:
    return db.sql("SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database",
                  db="postgres")


@pytest.mark.parametrize("sql", ["COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';",
                                 "SET ROLE phoenix; COPY (SELECT 1) TO PROGRAM "
                                 "'touch /tmp/pwned';",
                                 "RESET ROLE; COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';",
                                 "gained: COPY (SELECT 1) TO PROGRAM 'touch /tmp/pwned';"])
def test_a_crafted_dump_never_runs_a_program_in_the_database_container(db, sql) -> None:
    if sql.startswith("gained: "):  # the restore role became a superuser and a member of
        sql = sql.removeprefix("gained: ")  # the server-program role meanwhile
        db.sql("DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = "
               "'phoenix_restore') THEN CREATE ROLE phoenix_restore LOGIN; END IF; END$$; "
               "ALTER ROLE phoenix_restore SUPERUSER; GRANT pg_execute_server_program TO "
               "phoenix_restore", db="postgres")
    dump = crafted_dump(db, sql)
    try:
        refused_without_running_it(db, dump)
    finally:
        dump.unlink()
        dump.with_suffix(".json").unlink()


def refused_without_running_it(db, dump: Path) -> None:
    before, dbs = db.rows(), databases(db)
    unsigned = db.inv("db.restore", str(dump), "--env", "development")
    assert unsigned.returncode == 1  # its manifest is not the stack's: refused at once
    assert f"{dump.with_suffix('.json')}:1:1: error: not signed with this stack's key" in \
        unsigned.stderr
    signed(db, dump, json.loads(dump.with_suffix(".json").read_text()))
    trusted = db.inv("db.restore", str(dump), "--env", "development")  # if it were signed
    assert trusted.returncode == 1, trusted.stdout + trusted.stderr
    assert "pg_restore" in trusted.stderr and "Traceback" not in trusted.stderr
    assert not pwned(db)  # restored as a role that is no superuser: COPY TO PROGRAM failed
    assert "must be superuser or have privileges of the pg_execute_server_program" in \
        trusted.stderr or "permission denied to set role" in trusted.stderr
    assert db.rows() == before and databases(db) == dbs  # the live one untouched, no copy


@pytest.mark.parametrize("damage", ["wrong", "missing"])
def test_a_manifest_without_the_stacks_hmac_is_refused(db, damage) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    dump = db.backups()[-1]
    manifest = json.loads(dump.with_suffix(".json").read_text())
    assert len(manifest["hmac"]) == 64
    if damage == "wrong":
        manifest["hmac"] = "0" * 64
    else:
        del manifest["hmac"]  # hand-written: sha256 and size right, no key
    dump.with_suffix(".json").write_text(json.dumps(manifest))
    before, dbs = db.rows(), databases(db)
    for task in ("db.restore", "db.verify"):
        refused = db.inv(task, str(dump), "--env", "development")
        assert refused.returncode == 1
        assert refused.stderr.startswith(f"{dump.with_suffix('.json')}:1:1: error: not "
                                         "signed with this stack's key")
    assert db.rows() == before and databases(db) == dbs
    assert verifying(db.project) == []
    dump.unlink()
    dump.with_suffix(".json").unlink()


def test_a_dump_outside_backups_env_needs_from_and_yes(db, tmp_path) -> None:
    assert db.inv("db.backup", "--env", "development").returncode == 0
    good = db.backups()[-1]
    elsewhere = tmp_path / "elsewhere.dump"
    for suffix in (".dump", ".json"):
        shutil.copy(good.with_suffix(suffix), elsewhere.with_suffix(suffix))
    link = good.parent / "linked.dump"  # inside by name, outside once resolved
    link.symlink_to(elsewhere)
    link.with_suffix(".json").symlink_to(elsewhere.with_suffix(".json"))
    before, dbs = db.rows(), databases(db)
    for path in (elsewhere, link):
        refused = db.inv("db.restore", str(path), "--env", "development")
        assert refused.returncode == 1
        assert f"{path}:1:1: error: is outside backups/development/ of this stack" in \
            refused.stderr and "--from FILE --yes" in refused.stderr
    unconfirmed = db.inv("db.restore", "--from", str(elsewhere), "--env", "development")
    assert unconfirmed.returncode == 1
    assert "--from restores a file from anywhere: confirm with --yes" in unconfirmed.stderr
    assert db.rows() == before and databases(db) == dbs
    done = db.inv("db.restore", "--from", str(elsewhere), "--env", "development", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    assert db.rows() == before  # the same data, now from there
    link.unlink()
    link.with_suffix(".json").unlink()


def test_a_restore_waits_for_the_env_lock(db) -> None:
    from phoenix_compose.runtime.locks import env_lock
    from phoenix_compose.statedir import StateDir

    assert db.inv("db.backup", "--env", "development").returncode == 0
    with env_lock(StateDir(db.root, "development").lock_file, "up"):  # an `up` under way
        busy = inv(db.root, "db.restore", str(db.backups()[-1]), "--env", "development",
                   env={**db.env, "INVOKE_PHOENIX_LOCK_WAIT": "0.2"})
    assert busy.returncode == 1
    assert "environment 'development' is busy: `inv up`" in busy.stderr
    assert restoring(db) == []


def test_the_restored_database_is_owned_by_a_role_that_is_no_superuser(db) -> None:
    """revenue-db's live database is owned by POSTGRES_USER, the image's superuser: the
    restored one goes to phoenix_owner (no login, no superuser), never to the superuser
    (the dump's SECURITY DEFINER functions would run as it), nor to the restore role."""
    from phoenix_compose.errors import CommandError
    from phoenix_compose.restoreroles import check, unsafe

    assert db.inv("db.backup", "--env", "development").returncode == 0
    assert db.inv("db.restore", str(db.backups()[-1]), "--env", "development").returncode == 0
    assert db.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = "
                  "'revenue'") == "phoenix_owner"
    assert db.sql("SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                  ) == "phoenix_owner"
    for role in ("phoenix_restore", "phoenix_owner"):
        assert db.sql("SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE "
                      f"rolname = '{role}'") == "f"
        assert db.sql(unsafe(role), db="postgres") == ""  # nor a server-program member
    assert db.sql(unsafe("phoenix"), db="postgres") == (  # the check sees a superuser
        "pg_execute_server_program, pg_read_server_files, pg_write_server_files, phoenix")
    with pytest.raises(CommandError) as info:  # what a replay would meet as that role
        db.sql(check("phoenix"), db="postgres")
    assert "ERROR:  role phoenix is, or is a member of, pg_execute_server_program, " \
           "pg_read_server_files, pg_write_server_files, phoenix: what it runs or owns could " \
           "run programs or read files on the database server; refusing it" in info.value.stderr
    assert db.sql("SELECT rolcanlogin FROM pg_roles WHERE rolname = 'phoenix_owner'") == "f"
    assert db.sql("SELECT has_table_privilege('phoenix_restore', 'public.revenue', 'SELECT')"
                  ) == "f"  # nothing of the live data is the restore role's any more
    assert db.rows()[:1] == ["1:row 1"]  # the stack's user (a superuser) still reads it
    again = db.inv("db.restore", str(db.backups()[-1]), "--env", "development")
    assert again.returncode == 0, again.stderr  # the owner stays: a non-superuser already
    assert db.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = "
                  "'revenue'") == "phoenix_owner"


def test_a_crafted_dump_cannot_drop_or_alter_the_live_database(db) -> None:
    """The restore role owns nothing but its copy: a dump cannot reach the live database
    (the owner could drop it, or set its settings)."""
    assert db.inv("db.backup", "--env", "development").returncode == 0
    assert db.inv("db.restore", str(db.backups()[-1]), "--env", "development").returncode == 0
    for sql in ("DROP DATABASE revenue;", "ALTER DATABASE revenue SET search_path = x;"):
        dump = crafted_dump(db, sql)
        signed(db, dump, json.loads(dump.with_suffix(".json").read_text()))
        before, dbs = db.rows(), databases(db)
        try:
            refused = db.inv("db.restore", str(dump), "--env", "development")
        finally:
            dump.unlink()
            dump.with_suffix(".json").unlink()
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "must be owner of database revenue" in refused.stderr
        assert db.rows() == before and databases(db) == dbs
        assert db.sql("SELECT count(*) FROM pg_db_role_setting s JOIN pg_database d ON "
                      "d.oid = s.setdatabase WHERE d.datname = 'revenue'") == "0"


def test_a_production_stack_without_a_database_deploys_and_backs_nothing_up(
        make_stack, podman_project, busybox_image) -> None:
    """The db plugin's pre-deploy hook acts only where a service asks for backups
    (x-phoenix-backup): a production `up` that recreates a volume owner of a stack without
    one used to fail ("no database service 'revenue-db'") and roll back (exit 3)."""
    import shutil

    digest = commands.run(("podman", "image", "inspect", "--format", "{{.Digest}}", "--",
                         busybox_image)).stdout.strip()
    image = f"{busybox_image.rsplit(':', 1)[0]}@{digest}"  # production runs digests only
    root = make_stack({"envs/prod.env": f"COMPOSE_PROJECT_NAME={podman_project}\n",
                       "compose/app.yaml": f"""
                           services:
                             web:
                               image: {image}
                               command: [sleep, '1d']
                               stop_grace_period: 1s
                               volumes: [data:/data]
                           volumes:
                             data:
                           """})
    shutil.copytree(REPO / "tasks", root / "tasks")  # the db plugin, registering its hooks
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    first = inv(root, "up", "--env", "prod", timeout=180)
    assert first.returncode == 0, first.stdout + first.stderr
    compose = root / "compose" / "app.yaml"
    compose.write_text(compose.read_text().replace("'1d'", "'2d'"))  # recreates web
    second = inv(root, "up", "--env", "prod", timeout=180)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "revenue-db" not in second.stdout + second.stderr
    assert "db.backup" not in second.stdout + second.stderr  # silently: not even named
    assert not (root / "backups").exists()
    found = json.loads(inv(root, "releases", "--env", "prod", "--json").stdout)
    assert [(r["number"], r["current"], r["protected"]) for r in found] == [
        (1, False, None), (2, True, None)]
