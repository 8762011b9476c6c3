"""``inv db.*``: backups of the stack's PostgreSQL database, verified restores, disaster
recovery.  The project's first plugin (README, "Writing a plugin"): it uses only
``phoenix_compose.plugin`` and the podman seam.

- ``db.backup``: ``pg_dump --format=custom`` inside the running container, streamed to
  ``backups/<env>/<UTC time>.dump`` (written as ``.partial``, fsynced, then renamed), with
  a manifest ``<name>.json``: sha256, size, server version, rows per table, release, git.
- ``db.restore FILE``: only a backup of ``backups/<env>/`` (else ``--from FILE --yes``)
  whose manifest is signed with the stack's key, checked and restored from one private
  copy; under the env lock, replayed as a role that is no superuser into a new database,
  row counts checked there, handed to an owner that is no superuser either
  (``phoenix_compose.restoreroles``), then swapped in for the live one in one transaction;
  the old one is kept (``<db>_before_<time>``); dependents restarted health-gated.
  The partial copy is dropped on an error or a signal, or by the next restore.
- ``db.trust FILE --yes``: sign the manifest of a backup this stack did not sign (made
  before manifests were signed, or on a host whose key is lost): the operator vouches.
- ``db.verify FILE``: restore into a throwaway PostgreSQL on an internal network, compare
  the row counts with the manifest, remove it; a verified backup says so in its manifest.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import tempfile
import time
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.plugin import (
    ENV_HELP,
    STOPPING,
    BackupError,
    Context,
    Emit,
    Env,
    PhoenixError,
    WatchJob,
    boundary,
    cleaning,
    complete_backups,
    env_name,
    fsync_dir,
    located,
    open_env,
    podman,
    pre_deploy,
    prune,
    restoreroles,
    say,
    seconds,
    stack_root,
    stop_signals,
    task,
    trusted_copy,
    vouch,
    watch_job,
    write_manifest,
)
from phoenix_compose.runtime import argv

BACKUP = "x-phoenix-backup"  # on the database service: {every, keep, verify}
SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]{0,49}")
RESTORER = restoreroles.RESTORER  # replays a dump: no superuser, owns only the new copy
# one psql run: the server version, then "schema.table|rows" for every table (\gexec runs
# the query each row of the first one spells)
FACTS = ("SHOW server_version;\n"
         "SELECT format('SELECT %L || ''|'' || count(*) FROM %I.%I', schemaname || '.' || "
         "tablename, schemaname, tablename) FROM pg_tables WHERE schemaname NOT IN "
         "('pg_catalog', 'information_schema') ORDER BY 1 \\gexec\n")


class Database:
    """The database service of an env: its container, user and database name."""

    def __init__(self, env: Env, service: str | None = None) -> None:
        services = env.services()
        name = service or next((n for n, s in services.items() if BACKUP in s.extensions),
                               "revenue-db")
        if name not in services:
            raise BackupError(f"no database service '{name}' in env '{env.name}'",
                             hint="name it with --service")
        self.env, self.service = env, services[name]
        self.user = self.service.environment.get("POSTGRES_USER", "postgres")
        self.db = self.service.environment.get("POSTGRES_DB", self.user)
        for what, value in (("POSTGRES_USER", self.user), ("POSTGRES_DB", self.db)):
            if not SQL_NAME.fullmatch(value):  # it is quoted into SQL: plain names only
                raise BackupError(f"{what} of service '{name}' is {value!r}: db.* handles "
                                  "plain names only (letters, digits, _ and -, at most 50)")
        self.policy = self.service.extensions.get(BACKUP) or {}
        self.folder = env.root / "backups" / env.name

    def sql(self, statement: str, db: str | None = None, container: str | None = None
            ) -> str:
        command = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", self.user, "-d",
                   db or self.db, "-Atc", statement]
        return podman.run(argv.exec_(container or self.service.container, command),
                          timeout=600).stdout.strip()

    def script(self, text: str, db: str = "postgres", container: str | None = None,
               user: str | None = None, timeout: float = 600) -> str:
        """Run the psql script ``text`` (on stdin), statement by statement."""
        command = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", user or self.user, "-d", db,
                   "-At", "-f", "-"]
        return podman.run(argv.exec_(container or self.service.container, command,
                                     interactive=True), input=text, timeout=timeout).stdout

    def facts(self, db: str | None = None, container: str | None = None,
              user: str | None = None) -> tuple[str, dict[str, int]]:
        """The server version and the exact row count of every table, in one psql run."""
        lines = self.script(FACTS, db or self.db, container, user, 3600).splitlines()
        rows = (line.rsplit("|", 1) for line in lines[1:] if "|" in line)
        return (lines[0] if lines else ""), {table: int(count) for table, count in rows}

    def counts(self, db: str | None = None, container: str | None = None,
               user: str | None = None) -> dict[str, int]:
        return self.facts(db, container, user)[1]

    def require_healthy(self) -> None:
        health = self.env.health(self.service.name)
        if health != "healthy":
            raise BackupError(f"{self.service.name} is {health}: "
                             "refusing to back up a database that is not healthy",
                             hint=f"inv status --env {self.env.name}")


# -- backup ------------------------------------------------------------------------------
def take_backup(database: Database, keep: int | None = None, reason: str = "manual") -> Path:
    """One backup; returns the dump's path.  Nothing carries the final name until whole."""
    database.require_healthy()
    folder = database.folder
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    name = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    dump, partial = folder / f"{name}.dump", folder / f".{name}.dump.partial"
    mode = 0o600 if database.env.production else 0o640
    try:
        facts = background(database.facts)  # counted while it dumps
        digest = hashlib.sha256()
        with open(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as out:
            def write(block: bytes) -> None:
                digest.update(block)
                out.write(block)

            podman.transfer(argv.exec_(database.service.container, [
                "pg_dump", "-U", database.user, "-d", database.db, "--format=custom"]),
                sink=write)
            out.flush()
            os.fsync(out.fileno())
            size = out.tell()
        version, counts = facts.result()
        manifest = {"file": dump.name, "sha256": digest.hexdigest(), "size": size,
                    "server_version": version, "database": database.db, "tables": counts,
                    "release": database.env.release(), "git": git_revision(database.env.root),
                    "env": database.env.name, "reason": reason,
                    "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_manifest(database.env.root, folder / f"{name}.json", manifest, mode)
        os.replace(partial, dump)
        fsync_dir(folder)
    finally:
        partial.unlink(missing_ok=True)
    prune(folder, keep if keep is not None else database.policy.get("keep"))
    return dump


def background(work: Any) -> Future:
    """``work()`` in a thread of its own; its result (or error) from the future."""
    pool = ThreadPoolExecutor(1)
    try:
        return pool.submit(work)
    finally:
        pool.shutdown(wait=False)


def git_revision(root: Path) -> str | None:
    try:
        return podman.run(argv.git_describe(), cwd=root, timeout=10).stdout.strip()
    except Exception:  # noqa: BLE001 - not a git checkout: no revision to record
        return None


# -- checks ------------------------------------------------------------------------------
def compare_counts(expected: dict[str, int], found: dict[str, int], where: Path) -> None:
    diff = {t: (expected.get(t), found.get(t)) for t in sorted(set(expected) | set(found))
            if expected.get(t) != found.get(t)}
    if diff:
        text = ", ".join(f"{t}: manifest {a}, restored {b}" for t, a, b in
                         ((t, *v) for t, v in diff.items()))
        raise located(where, f"row counts differ from the manifest: {text}")


def restore_into(database: Database, copy: Path, db: str, container: str | None = None
                 ) -> None:
    """pg_restore the checked private ``copy`` of a dump into ``db`` (made by
    ``create_owned``) as ``RESTORER``, a session that is no superuser (restoreroles)."""
    with open(copy, "rb") as stream:
        podman.transfer(argv.exec_(container or database.service.container, [
            "pg_restore", "-U", RESTORER, "-d", db, "--no-owner", "--exit-on-error"],
            interactive=True), stdin=stream)


def create_owned(database: Database, db: str, container: str | None = None) -> None:
    """``RESTORER``, made plain again and checked, and a new, empty ``db`` that it owns."""
    database.script(restoreroles.prepare(db), container=container)


def hand_over(database: Database, db: str) -> None:
    """The checked copy goes to the live one's owner if that is no superuser, else to
    ``restoreroles.OWNER``; the settings the dump gave its database are reset first."""
    owner = database.sql(restoreroles.owner_of(database.db), db="postgres")
    first, second = restoreroles.hand_over(db, owner or restoreroles.OWNER)
    database.script(("" if owner else restoreroles.make_owner()) + first)
    database.script(second, db=db)  # its objects too, and RESTORER's privileges there go


def clean_leftovers(database: Database) -> list[str]:
    """What a restore that was killed left (run under the env lock, so none is under
    way): its partial copies, dropped; the live database, open to connections again."""
    live = database.db
    found = database.sql("SELECT datname FROM pg_database WHERE datname ~ "
                         f"'^{re.escape(live)}_restore_[0-9]{{14}}$'", db="postgres").split()
    for name in found:
        database.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', db="postgres")
    if database.sql(f"SELECT count(*) FROM pg_database WHERE datname = '{live}' AND NOT "
                    "datallowconn", db="postgres") != "0":
        database.sql(f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS true', db="postgres")
        found.append(f"{live} (closed to connections)")
    return found


# -- restore -----------------------------------------------------------------------------
def restore_backup(database: Database, dump: Path, yes: bool, outside: bool = False
                   ) -> tuple[str, list[str]]:
    """Restore ``dump`` in place of the live database; returns the old one's new name and
    the running services that depend on it: they hold connections to a database that is
    gone, and are restarted (health-gated) once the env lock is released (a restart takes
    it)."""
    env = database.env
    if outside and not yes:
        raise BackupError("--from restores a file from anywhere: confirm with --yes")
    status = background(env.status)  # read-only: looked up meanwhile
    with trusted_copy(env.root, env.name, dump, outside=outside) as (manifest, copy):
        if env.production and not yes:
            raise BackupError(f"'{env.name}' is a production env: db.restore replaces its "
                              "live database", hint="run again with --yes (a backup of the "
                              "current state is taken first)")
        left = clean_leftovers(database)
        if left:
            say(f"removed what an interrupted restore left: {', '.join(left)}")
        if env.production:
            say(f"backup of the current state first: {take_backup(database, reason='pre-restore')}")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        new, old = f"{database.db}_restore_{stamp}", f"{database.db}_before_{stamp}"
        create_owned(database, new)
        try:
            restore_into(database, copy, new)
            compare_counts(manifest.get("tables") or {}, database.counts(new, user=RESTORER),
                           dump)
            hand_over(database, new)
            swap(database, new, old)
        except BaseException:  # an error, Ctrl-C or SIGTERM: the partial copy goes
            with cleaning():  # podman may run although a stop was noted
                database.sql(f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)', db="postgres")
            raise
    rows = status.result()
    return old, [n for n in env.dependents(database.service.name)
                 if n in rows and rows[n].status in ("healthy", "unhealthy", "starting",
                                                     "running")]


def swap(database: Database, new: str, old: str) -> None:
    """The restored database takes the live one's name, in one transaction; no one can
    connect to the live one meanwhile, and whoever was connected is disconnected."""
    live = database.db
    script = (f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS false;\n'
              "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
              f"datname = '{live}' AND pid <> pg_backend_pid();\n"
              f'BEGIN;\nALTER DATABASE "{live}" RENAME TO "{old}";\n'
              f'ALTER DATABASE "{new}" RENAME TO "{live}";\nCOMMIT;\n')
    try:
        database.script(script)
    except BaseException:  # the rename did not happen: the live one takes connections again
        database.sql(f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS true', db="postgres")
        raise


# -- verify ------------------------------------------------------------------------------
def verify_dump(database: Database, dump: Path) -> dict[str, int]:
    """Restore into a throwaway PostgreSQL (the service's image, an internal network) and
    compare the row counts with the manifest; the throwaway is removed whatever happens.
    The backup must be signed by this stack, wherever it lies; it is restored as the
    restore role, into a database that role owns."""
    env, stamp = database.env, secrets.token_hex(4)
    name, network = f"{env.project}_verify_{stamp}", f"{env.project}_verify_{stamp}"
    labels = {"io.phoenix.verify": env.project}
    with trusted_copy(env.root, env.name, dump, outside=True, purpose="verify") as (
            manifest, copy), tempfile.TemporaryDirectory(prefix="phoenix-verify-") as tmp:
        password = Path(tmp) / "password"
        password.write_text(secrets.token_urlsafe(24))
        password.chmod(0o644)  # read by the image's postgres user; the folder is private
        podman.run(argv.network_create(network, labels))
        try:
            podman.run(argv.run_detached(
                name, database.service.image or "", network=network, labels=labels,
                environment={"POSTGRES_USER": database.user, "POSTGRES_DB": database.db,
                             "POSTGRES_PASSWORD_FILE": "/run/secrets/password"},
                mounts=[f"{password}:/run/secrets/password:ro"]), timeout=120)
            wait_ready(database, name)
            target = f"{database.db}_verify"
            create_owned(database, target, container=name)
            restore_into(database, copy, target, container=name)
            found = database.counts(target, container=name, user=RESTORER)
            compare_counts(manifest.get("tables") or {}, found, dump)
        finally:
            podman.run(argv.remove(name, timeout=0), ok_codes=(0, 1, 2, 125))
            podman.run(argv.remove_kind("network", network), ok_codes=(0, 1, 2, 125))
    manifest["verified"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_manifest(env.root, dump.with_suffix(".json"), manifest,
                   0o600 if env.production else 0o640)
    return found


def wait_ready(database: Database, container: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = podman.run(argv.exec_(container, ["pg_isready", "-U", database.user, "-d",
                                                  database.db]), ok_codes=range(256))
        if ready.code == 0:
            return
        if STOPPING.is_set():  # the watch is stopping: give up, the caller cleans up
            raise BackupError(f"the health watch stopped while {container} was starting")
        if time.monotonic() > deadline:
            raise BackupError(f"the throwaway PostgreSQL {container} was not ready in "
                             f"{timeout:g} s: {ready.stdout.strip() or ready.stderr.strip()}")
        time.sleep(0.5)


def configured(env: Env) -> bool:
    """Does a service of ``env`` ask for backups (``x-phoenix-backup``)?  The hooks act
    only then; a stack without one is left alone (no ``revenue-db`` is assumed)."""
    return any(BACKUP in s.extensions for s in env.services().values())


# -- scheduled, in the health watch ------------------------------------------------------
class Schedule:
    """``x-phoenix-backup: {every: 6h, keep: 28, verify: true}`` on the database service
    makes ``inv health.watch`` back it up every ``every`` (and verify each backup when
    ``verify``).  A backup that was due while nothing watched (the newest is older than
    ``every``) is a ``backup_failed`` ("missed"), then taken at once; a failed one is a
    ``backup_failed`` with the reason, and is tried again after ``every``."""

    def __init__(self) -> None:
        self.databases: dict[tuple[Path, str], Database | None] = {}
        self.tried: dict[tuple[Path, str], float] = {}

    def database(self, root: Path, env: str) -> Database | None:
        key = (root, env)
        if key not in self.databases:
            try:
                opened = open_env(root, env)
                database: Database | None = Database(opened) if configured(opened) else None
            except PhoenixError:  # no database service in this env: nothing to schedule
                database = None
            self.databases[key] = database if database and database.policy.get("every") \
                else None
        return self.databases[key]

    def every(self, database: Database) -> float:
        return seconds(database.policy["every"], 0.0) or 3600.0

    def newest(self, database: Database) -> float:
        done = complete_backups(database.folder)
        return done[-1].stat().st_mtime if done else 0.0

    def due_in(self, root: Path, env: str) -> float | None:
        database = self.database(root, env)
        if database is None:
            return None
        last = max(self.newest(database), self.tried.get((root, env), 0.0))
        return last + self.every(database) - time.time()

    def run(self, root: Path, env: str, emit: Emit) -> None:
        database = self.database(root, env)
        assert database is not None
        name, newest = database.service.name, self.newest(database)
        if newest and (root, env) not in self.tried and \
                time.time() - newest > self.every(database) * 1.5:
            emit("backup_failed", name, reason="missed",
                 error=f"the last backup is {int(time.time() - newest)} s old")
        self.tried[(root, env)] = time.time()
        try:
            dump = take_backup(database, reason="scheduled")
            emit("backup_taken", name, file=str(dump.relative_to(root)),
                 size=dump.stat().st_size, at=time.time())
            if database.policy.get("verify"):
                found = verify_dump(database, dump)
                emit("backup_verified", name, file=str(dump.relative_to(root)),
                     rows=sum(found.values()))
        except PhoenixError as exc:
            emit("backup_failed", name, reason="failed", error=str(exc).splitlines()[0])


SCHEDULE = Schedule()
watch_job(WatchJob("db.backup", SCHEDULE.due_in, SCHEDULE.run))


def before_deploy(root: Path, env: str, services: list[str]) -> dict[str, Any]:
    """``inv up`` in a production env is about to recreate ``services``, which own named
    volumes: back the database up first; the backup's name goes into the release.  Only a
    database service that asks for backups (``x-phoenix-backup``) is one: a stack without
    it has nothing to protect here, and this does nothing."""
    opened = open_env(root, env)
    if not configured(opened):
        return {}
    database = Database(opened)
    dump = take_backup(database, reason=f"pre-deploy ({', '.join(services)})")
    return {"backup": str(dump.relative_to(root))}


pre_deploy("db.backup", before_deploy)


# -- the tasks ---------------------------------------------------------------------------
def _database(c: Context, env: str | None, service: str | None) -> Database:
    return Database(open_env(stack_root(c), env_name(c, env),
                             float(c.config.phoenix.lock_wait)), service)


@task(help={"env": ENV_HELP, "keep": "keep only the newest N backups (default: x-phoenix-"
            "backup.keep of the service, else all)", "service": "the database service "
            "(default: the one with x-phoenix-backup, else revenue-db)"})
def backup(c: Context, env: str | None = None, keep: int | None = None,
           service: str | None = None) -> None:
    """Back up the database (pg_dump, streamed) to backups/<env>/, with a manifest."""
    with boundary():
        database = _database(c, env, service)
        with database.env.administering("db.backup", {"keep": keep}):
            dump = take_backup(database, None if keep is None else int(keep))
    say(f"{database.env.name}: backup {dump.relative_to(database.env.root)} "
        f"({dump.stat().st_size} bytes)")


@task(positional=["file"], help={"file": "the .dump to restore, of backups/<env>/", "env":
                                 ENV_HELP, "yes": "required on a production env, and with "
                                 "--from", "service": "the database service", "from": "a "
                                 ".dump anywhere, instead of FILE (its manifest must still "
                                 "be signed by this stack)"})
def restore(c: Context, file: str | None = None, env: str | None = None, yes: bool = False,
            service: str | None = None, from_: str = "") -> None:
    """Restore a signed backup: checked, into a new database, then swapped in; old kept."""
    with stop_signals(), boundary():
        if bool(file) == bool(from_):
            raise BackupError("name one backup: FILE (of backups/<env>/), or --from FILE")
        database = _database(c, env, service)
        with database.env.administering("db.restore", {"file": file or from_}):
            old, users = restore_backup(database, Path(file or from_), yes, bool(from_))
        if users:
            database.env.restart(users)
    say(f"{database.env.name}: restored {file or from_}; the previous database is kept as "
        f"'{old}'")


@task(name="verify", positional=["file"], help={"file": "the .dump to verify",
                                               "env": ENV_HELP,
                                               "service": "the database service"})
def verify_backup(c: Context, file: str, env: str | None = None,
                  service: str | None = None) -> None:
    """Restore a backup into a throwaway PostgreSQL and compare row counts (verified)."""
    with boundary():
        database = _database(c, env, service)
        with database.env.audited("db.verify", {"file": file}):
            found = verify_dump(database, Path(file))
    say(f"{file}: verified ({len(found)} tables, {sum(found.values())} rows, as the "
        "manifest says)")


@task(name="trust", positional=["file"], help={"file": "the .dump whose manifest to sign",
                                              "env": ENV_HELP, "yes": "required: you vouch "
                                              "for this backup"})
def trust_backup(c: Context, file: str, env: str | None = None, yes: bool = False) -> None:
    """Sign a backup's manifest with this stack's key (made before signing, or elsewhere)."""
    with boundary():
        if not yes:
            raise BackupError(f"db.trust signs {file} as if this stack had made it, so that "
                              "db.restore accepts it", hint="only for a backup you know the "
                              "origin of: run again with --yes")
        opened = open_env(stack_root(c), env_name(c, env))
        with opened.audited("db.trust", {"file": file}):
            manifest = vouch(opened.root, Path(file))
    say(f"{file}: signed with this stack's key ({manifest.get('size')} bytes, sha256 "
        f"{str(manifest.get('sha256'))[:16]}...)")
