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

The package: ``database`` (the service, one backup), ``restoring`` (restore, verify),
``schedule`` (the watch job and the pre-deploy hook); the tasks are here.
"""

from __future__ import annotations

from pathlib import Path

from phoenix_compose.plugin import (
    ENV_HELP,
    BackupError,
    Context,
    boundary,
    commands,
    env_name,
    open_env,
    say,
    stack_root,
    stop_signals,
    task,
    vouch,
)

from .database import BACKUP, FACTS, RESTORER, SQL_NAME, Database, take_backup
from .restoring import restore_backup, verify_dump, wait_ready
from .schedule import SCHEDULE, Schedule, before_deploy

__all__ = ["BACKUP", "FACTS", "RESTORER", "SCHEDULE", "SQL_NAME", "Database", "Schedule",
           "backup", "before_deploy", "commands", "restore", "restore_backup", "take_backup",
           "trust_backup", "verify_backup", "verify_dump", "wait_ready"]


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
