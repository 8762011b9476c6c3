"""``db.restore`` and ``db.verify``: a signed dump restored into a new database (then
swapped in for the live one), or into a throwaway PostgreSQL (then compared)."""

from __future__ import annotations

import re
import secrets
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from phoenix_compose.plugin import (
    STOPPING,
    BackupError,
    cleaning,
    commands,
    restoreroles,
    say,
    trusted_copy,
    trusted_copy_started,
    write_manifest,
)
from phoenix_compose.runtime import argv

from .database import RESTORER, Database, background, compare_counts, take_backup


def restore_into(database: Database, copy: Path, db: str, container: str | None = None
                 ) -> None:
    """pg_restore the checked private ``copy`` of a dump into ``db`` (made by
    ``create_owned``) as ``RESTORER``, a session that is no superuser (restoreroles)."""
    with open(copy, "rb") as stream:
        commands.transfer(argv.exec_(container or database.service.container, [
            "pg_restore", "-U", RESTORER, "-d", db, "--no-owner", "--exit-on-error"],
            interactive=True), stdin=stream)


def create_owned(database: Database, db: str, container: str | None = None) -> None:
    """``RESTORER``, made plain again and checked, and a new, empty ``db`` that it owns."""
    database.script(restoreroles.prepare(db), container=container)


def open_restore(database: Database, new: str) -> tuple[list[str], str]:
    """One psql run, under the env lock (so no restore is under way): what a killed restore
    left is removed (its partial copies dropped, the live database open to connections
    again), the live one's owner is read (``hand_over``), and ``new`` is made for
    ``RESTORER`` (``create_owned``).  Returns what was removed and that owner ('' if none
    may own the copy)."""
    lines = database.script(open_script(database.db, new)).splitlines()
    found = [line.split("|", 1)[1] for line in lines if line.startswith("left|")]
    found += [f"{line.split('|', 1)[1]} (closed to connections)" for line in lines
              if line.startswith("closed|")]
    owner = next((line.split("|", 1)[1] for line in lines if line.startswith("owner|")), "")
    return found, owner


def open_script(live: str, new: str) -> str:
    """``open_restore``'s script; each ``\\gexec`` runs the statements its query spells,
    one by one (DROP DATABASE cannot run in a transaction)."""
    partial = f"datname ~ '^{re.escape(live)}_restore_[0-9]{{14}}$'"
    closed = f"datname = '{live}' AND NOT datallowconn"
    return (f"SELECT 'left|' || datname FROM pg_database WHERE {partial} ORDER BY 1;\n"
            "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', datname) FROM "
            f"pg_database WHERE {partial} \\gexec\n"
            f"SELECT 'closed|' || datname FROM pg_database WHERE {closed};\n"
            "SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', datname) FROM "
            f"pg_database WHERE {closed} \\gexec\n"
            f"SELECT 'owner|' || ({restoreroles.owner_of(live)});\n"
            + restoreroles.prepare(new))


def finish_restore(database: Database, new: str, old: str, owner: str) -> None:
    """``hand_over`` then ``swap``, in one psql run; if it fails, the live one takes
    connections again (the rename, in one transaction, did not happen)."""
    try:
        database.script(finish_script(database.db, new, old, owner))
    except BaseException:
        with cleaning():  # also after a stop: the live one must not stay closed
            database.sql(f'ALTER DATABASE "{database.db}" ALLOW_CONNECTIONS true',
                         db="postgres")
        raise


def finish_script(live: str, new: str, old: str, owner: str) -> str:
    """``hand_over``: the checked copy goes to ``owner`` (the live one's, if no superuser),
    else to ``restoreroles.OWNER``; the settings the dump gave its database are reset
    first, then (connected to it) its objects are given away too and RESTORER's privileges
    there go.  Then, connected to ``postgres`` again, ``swap``."""
    first, second = restoreroles.hand_over(new, owner or restoreroles.OWNER)
    return (("" if owner else restoreroles.make_owner()) + first
            + f"\\connect '{new}'\n{second}\\connect postgres\n"
            + swap_script(live, new, old))


def swap_script(live: str, new: str, old: str) -> str:
    """The restored database takes the live one's name, in one transaction; no one can
    connect to the live one meanwhile, and whoever was connected is disconnected."""
    return (f'ALTER DATABASE "{live}" ALLOW_CONNECTIONS false;\n'
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE "
            f"datname = '{live}' AND pid <> pg_backend_pid();\n"
            f'BEGIN;\nALTER DATABASE "{live}" RENAME TO "{old}";\n'
            f'ALTER DATABASE "{new}" RENAME TO "{live}";\nCOMMIT;\n')


# -- restore -----------------------------------------------------------------------------
def restore_backup(database: Database, dump: Path, yes: bool, outside: bool = False
                   ) -> tuple[str, list[str]]:
    """Restore ``dump`` in place of the live database; returns the old one's new name and
    the running services that depend on it: they hold connections to a database that is
    gone, and are restarted (health-gated) once the env lock is released (a restart takes
    it).  The dump is copied and hashed while the new database is made (nothing there
    depends on the dump); pg_restore starts only once the copy is checked."""
    env = database.env
    if outside and not yes:
        raise BackupError("--from restores a file from anywhere: confirm with --yes")
    status = background(env.status)  # read-only: looked up meanwhile
    with trusted_copy_started(env.root, env.name, dump, outside=outside) as (manifest,
                                                                             checked):
        if env.production and not yes:
            raise BackupError(f"'{env.name}' is a production env: db.restore replaces its "
                              "live database", hint="run again with --yes (a backup of the "
                              "current state is taken first)")
        stamp = datetime.now(timezone.utc).strftime("%Y%m%d%H%M%S")
        new, old = f"{database.db}_restore_{stamp}", f"{database.db}_before_{stamp}"
        try:  # from its creation: a stop noted while CREATE DATABASE runs drops it too
            left, owner = open_restore(database, new)
            if left:
                say(f"removed what an interrupted restore left: {', '.join(left)}")
            copy = checked()  # before the pre-restore backup: its pruning must never
            if env.production:  # cost a good backup for a dump that is refused
                say("backup of the current state first: "
                    f"{take_backup(database, reason='pre-restore')}")
            restore_into(database, copy, new)  # never before the check passed
            compare_counts(manifest.get("tables") or {}, database.counts(new, user=RESTORER),
                           dump)
            finish_restore(database, new, old, owner)
        except BaseException:  # an error, Ctrl-C or SIGTERM: the partial copy goes
            with cleaning():  # podman may run although a stop was noted
                database.sql(f'DROP DATABASE IF EXISTS "{new}" WITH (FORCE)', db="postgres")
            raise
    rows = status.result()
    return old, [n for n in env.dependents(database.service.name)
                 if n in rows and rows[n].status in ("healthy", "unhealthy", "starting",
                                                     "running")]


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
        commands.run(argv.network_create(network, labels))
        try:
            commands.run(argv.run_detached(
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
        finally:  # also after a stop (the watch's): the throwaway must not stay
            with cleaning():
                commands.run(argv.remove(name, timeout=0), ok_codes=(0, 1, 2, 125))
                commands.run(argv.remove_kind("network", network), ok_codes=(0, 1, 2, 125))
    manifest["verified"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_manifest(env.root, dump.with_suffix(".json"), manifest,
                   0o600 if env.production else 0o640)
    return found


def wait_ready(database: Database, container: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        ready = commands.run(argv.exec_(container, ["pg_isready", "-U", database.user, "-d",
                                                  database.db]), ok_codes=range(256))
        if ready.code == 0:
            return
        if STOPPING.is_set():  # the watch is stopping: give up, the caller cleans up
            raise BackupError(f"the health watch stopped while {container} was starting")
        if time.monotonic() > deadline:
            raise BackupError(f"the throwaway PostgreSQL {container} was not ready in "
                             f"{timeout:g} s: {ready.stdout.strip() or ready.stderr.strip()}")
        time.sleep(0.5)

