"""The database service of an env (``Database``), one backup (``take_backup``) and the
checks a restore and a verify share."""

from __future__ import annotations

import hashlib
import os
import re
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from phoenix_compose.plugin import (
    BackupError,
    Env,
    commands,
    fsync_dir,
    located,
    prune,
    restoreroles,
    write_manifest,
)
from phoenix_compose.runtime import argv, argv_git

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
        return commands.run(argv.exec_(container or self.service.container, command),
                            timeout=600).stdout.strip()

    def script(self, text: str, db: str = "postgres", container: str | None = None,
               user: str | None = None, timeout: float = 600) -> str:
        """Run the psql script ``text`` (on stdin), statement by statement."""
        command = ["psql", "-X", "-v", "ON_ERROR_STOP=1", "-U", user or self.user, "-d", db,
                   "-At", "-f", "-"]
        return commands.run(argv.exec_(container or self.service.container, command,
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

            commands.transfer(argv.exec_(database.service.container, [
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
        return commands.run(argv_git.describe(), cwd=root, timeout=10).stdout.strip()
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


def configured(env: Env) -> bool:
    """Does a service of ``env`` ask for backups (``x-phoenix-backup``)?  The hooks act
    only then; a stack without one is left alone (no ``revenue-db`` is assumed)."""
    return any(BACKUP in s.extensions for s in env.services().values())

