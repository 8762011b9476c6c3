"""Backups the health watch takes (``x-phoenix-backup: {every, keep, verify}``) and the
one before a production deploy recreates the database: both hooks registered on import."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from phoenix_compose.plugin import (
    Emit,
    PhoenixError,
    WatchJob,
    complete_backups,
    open_env,
    pre_deploy,
    seconds,
    watch_job,
)

from .database import Database, configured, take_backup
from .restoring import verify_dump


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

