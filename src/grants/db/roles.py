"""PostgreSQL roles: an owner for the schema and a working role for everything else.

The guards are triggers, and a table's owner can drop or disable them, as can a superuser
(or switch them off with ``session_replication_role``). So the ledger's commands connect as
a *working* role that owns nothing: it can read every table, add rows to the tables of
record and move the id sequences on, and nothing more. No UPDATE, DELETE or TRUNCATE, no
ALTER TABLE, no replication mode; save on the two tables whose rows change and are no
record (grants.db.records.CHANGING: web sessions and failed sign-ins), which it may update
and delete. The *owner* role owns the tables and runs
`grants db upgrade`; nobody needs it day to day.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

from grants.db.records import CHANGING

NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
FUNCTION = "grants_append_only()"


def check_name(name: str, what: str) -> str:
    if not NAME.match(name):
        raise ValueError(
            f"{name!r} is not a role name for the {what}: lower-case letters, digits and _, "
            "starting with a letter, at most 63 characters"
        )
    return name


def statements(connection: Connection, owner: str, working: str) -> list[str]:
    """The SQL that makes the two roles (if they are new), gives the owner the ledger's
    tables, sequences and guard function, and gives the working role what it needs."""
    existing = {
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT rolname FROM pg_roles WHERE rolname IN (%(o)s, %(w)s)",
            {"o": owner, "w": working},
        )
    }
    out: list[str] = []
    if owner not in existing:
        out.append(f"CREATE ROLE {owner} LOGIN NOSUPERUSER NOCREATEROLE NOBYPASSRLS")
    if working not in existing:
        out.append(
            f"CREATE ROLE {working} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
            "NOREPLICATION"
        )
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    tables = [
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = %(s)s ORDER BY tablename",
            {"s": schema},
        )
    ]
    sequences = [
        name
        for (name,) in connection.exec_driver_sql(
            "SELECT sequencename FROM pg_sequences WHERE schemaname = %(s)s ORDER BY 1",
            {"s": schema},
        )
    ]
    out += [
        f'GRANT CONNECT ON DATABASE "{database}" TO {owner}, {working}',
        f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {owner}",
        f"GRANT USAGE ON SCHEMA {schema} TO {working}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {working}",
    ]
    for table in tables:
        out.append(f"ALTER TABLE {schema}.{table} OWNER TO {owner}")
        out.append(f"REVOKE ALL ON {schema}.{table} FROM {working}")
        privileges = (
            "SELECT"
            if table == "alembic_version"
            else "SELECT, INSERT, UPDATE, DELETE"
            if table in CHANGING
            else "SELECT, INSERT"
        )
        out.append(f"GRANT {privileges} ON {schema}.{table} TO {working}")
    for sequence in sequences:
        out.append(f"ALTER SEQUENCE {schema}.{sequence} OWNER TO {owner}")
        # setval (ids with no gaps after a rollback) needs UPDATE on the sequence.
        out.append(f"GRANT USAGE, SELECT, UPDATE ON SEQUENCE {schema}.{sequence} TO {working}")
    if _has_function(connection):
        out.append(f"ALTER FUNCTION {schema}.{FUNCTION} OWNER TO {owner}")
    out += [
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT SELECT, INSERT ON TABLES TO {working}",
        f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
        f"GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {working}",
    ]
    return out


def _has_function(connection: Connection) -> bool:
    return bool(
        connection.exec_driver_sql(
            "SELECT count(*) FROM pg_proc WHERE proname = 'grants_append_only'"
        ).scalar_one()
    )


__all__ = ["check_name", "statements"]
