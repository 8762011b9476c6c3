"""The PostgreSQL roles of a restore (the db plugin's ``db.restore`` and ``db.verify``), as
SQL text; the plugin runs it through ``psql`` as the service's ``POSTGRES_USER``.

- **The dump is replayed by** ``RESTORER`` **only**: a login role that is no superuser, has
  no CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS, is a member of no role, has no
  settings of its own, and owns nothing but the new, empty database the dump goes into.
  ``prepare`` takes away whatever it may have gained since (memberships, settings), and
  ``UNSAFE`` is checked before each replay (:func:`refusal`).  So a dump, even one signed
  by this stack (a key can leak; a backup of a compromised database is hostile too),
  cannot run ``COPY ... TO PROGRAM``, read or write server files, become another role, nor
  touch the live database: it does not own it (``DROP DATABASE`` and ``ALTER DATABASE ...
  SET`` are the owner's).
- **The restored database is then owned by a role that is no superuser either** (nor a
  member of the roles above): the live database's owner when it is such a role (the
  application's own role, on a stack that made one), else ``OWNER``, a role that cannot
  log in.  The image's ``POSTGRES_USER`` is a superuser (it owns the live database on the
  Phoenix stack): handing it the dump's objects would make the dump's ``SECURITY DEFINER``
  functions, and the index expressions that ``ANALYZE`` runs as a table's owner, run as a
  superuser.  ``RESTORER`` owns nothing afterwards, so a later dump it replays cannot reach
  the live database.
"""

from __future__ import annotations

RESTORER = "phoenix_restore"  # replays a dump; owns only the copy under way
OWNER = "phoenix_owner"  # owns a restored database when its live owner is a superuser
SERVER_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")


def _risky(alias: str = "") -> str:
    return f"{alias}rolsuper OR {alias}rolname IN ({', '.join(repr(r) for r in SERVER_ROLES)})"


def unsafe(role: str) -> str:
    """A query: the roles that make ``role`` dangerous to act as (a superuser role or a
    server-file role it is, or is a member of, even indirectly), comma-separated; none: ''.
    A superuser ``role`` is a member of every role: it lists every superuser."""
    return ("SELECT coalesce(string_agg(rolname, ', ' ORDER BY rolname), '') FROM pg_roles "
            f"WHERE pg_has_role({_literal(role)}, oid, 'MEMBER') AND ({_risky()})")


def check(role: str) -> str:
    """A statement that fails, saying why, unless acting as ``role`` is safe."""
    return (f"DO $$DECLARE found text := ({unsafe(role)}); BEGIN IF found <> '' THEN RAISE "
            f"EXCEPTION 'role {role.replace(chr(39), '')} is, or is a member of, %: what "
            "it runs or owns could run programs or read files on the database server; "
            "refusing it', found; END IF; END$$;\n")


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _plain(role: str, login: bool) -> str:
    """Make ``role`` if missing, and take away every attribute, membership and setting it
    may have gained."""
    return (f"DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN "
            f"CREATE ROLE {role}; END IF; END$$;\n"
            f"ALTER ROLE {role} {'LOGIN' if login else 'NOLOGIN'} NOSUPERUSER NOCREATEDB "
            "NOCREATEROLE NOREPLICATION NOBYPASSRLS;\n"
            "DO $$DECLARE r record; BEGIN FOR r IN SELECT roleid::regrole AS granted FROM "
            f"pg_auth_members WHERE member = '{role}'::regrole LOOP EXECUTE "
            f"format('REVOKE %s FROM {role}', r.granted); END LOOP; END$$;\n"
            "DO $$DECLARE r record; BEGIN FOR r IN SELECT datname FROM pg_db_role_setting "
            f"JOIN pg_database ON oid = setdatabase WHERE setrole = '{role}'::regrole LOOP "
            f"EXECUTE format('ALTER ROLE {role} IN DATABASE %I RESET ALL', r.datname); "
            f"END LOOP; END$$;\nALTER ROLE {role} RESET ALL;\n")


def prepare(db: str) -> str:
    """``RESTORER``, made plain, and a new, empty database ``db`` that it owns."""
    return (_plain(RESTORER, login=True) + check(RESTORER)
            + f"CREATE DATABASE {_ident(db)} OWNER {RESTORER};\n")


def owner_of(live: str) -> str:
    """A query: the owner of database ``live`` if it is a safe one (see the module), else
    '' (then ``OWNER``)."""
    return ("SELECT coalesce((SELECT r.rolname FROM pg_database d JOIN pg_roles r ON r.oid = "
            f"d.datdba WHERE d.datname = '{live}' AND r.rolname <> '{RESTORER}' AND NOT "
            "EXISTS (SELECT FROM pg_roles x WHERE pg_has_role(r.oid, x.oid, 'MEMBER') AND "
            f"({_risky('x.')}))), '')")


def make_owner() -> str:
    """``OWNER``, made plain (it cannot log in)."""
    return _plain(OWNER, login=False) + check(OWNER)


def hand_over(db: str, owner: str) -> tuple[str, str]:
    """The two scripts that give the restored ``db`` to ``owner``: the first (run in
    ``postgres``) resets the settings the dump gave its database before anyone else
    connects to it, the second (run in ``db``) gives it every object ``RESTORER`` made and
    takes away every privilege ``RESTORER`` holds there."""
    return (f"{check(owner)}ALTER DATABASE {_ident(db)} RESET ALL;\n"
            f"ALTER DATABASE {_ident(db)} OWNER TO {_ident(owner)};\n",
            f"REASSIGN OWNED BY {RESTORER} TO {_ident(owner)};\nDROP OWNED BY {RESTORER};\n")
