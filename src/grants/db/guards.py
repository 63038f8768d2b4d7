"""The guards: triggers that make every table of record append-only.

On SQLite a trigger per table refuses UPDATE and another DELETE. On PostgreSQL one row
trigger refuses UPDATE and DELETE, a statement trigger refuses TRUNCATE, and both are
``ENABLE ALWAYS``, so that they fire even for a session in replication mode
(``session_replication_role = replica``, the usual way to bypass triggers).

The migrations install them; `grants db upgrade` puts back any that is missing, disabled or
altered (and says so), and `grants verify` reports any such as an error. A guard is checked
by its definition, not only its name: a trigger recreated with a condition that never holds,
or a trigger function replaced by one that lets the change through, counts as altered.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

FUNCTION = "grants_append_only"
# The body of the PostgreSQL trigger function, as installed and as checked.
FUNCTION_BODY = (
    "\nBEGIN\n"
    "    RAISE EXCEPTION 'the ledger is append-only: % on % refused; record a correction "
    "(a reversing entry, a corrected return) instead', TG_OP, TG_TABLE_NAME;\n"
    "END;\n"
)


@dataclass(frozen=True)
class Guard:
    table: str
    name: str
    sql: str  # how it is created


@dataclass(frozen=True)
class Finding:
    """A guard that is not as the migrations made it."""

    guard: str
    table: str
    problem: str  # "missing", "disabled", "altered", "fires only outside replication"

    def __str__(self) -> str:
        return f"the guard {self.guard} on {self.table} is {self.problem}"


def _sqlite_guards(tables: Iterable[str]) -> list[Guard]:
    out = []
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            name = f"{table}_no_{action.lower()}"
            sql = (
                f"CREATE TRIGGER {name} BEFORE {action} ON {table} BEGIN SELECT RAISE(ABORT, "
                f"'the ledger is append-only: {action} on {table} refused; record a correction "
                "(a reversing entry, a corrected return) instead'); END"
            )
            out.append(Guard(table, name, sql))
    return out


def _postgres_guards(tables: Iterable[str]) -> list[Guard]:
    out = []
    for table in tables:
        out.append(
            Guard(
                table,
                f"{table}_append_only",
                f"CREATE TRIGGER {table}_append_only BEFORE DELETE OR UPDATE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}()",
            )
        )
        out.append(
            Guard(
                table,
                f"{table}_no_truncate",
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()",
            )
        )
    return out


def expected(dialect: str, tables: Iterable[str]) -> list[Guard]:
    return _sqlite_guards(tables) if dialect == "sqlite" else _postgres_guards(tables)


def _function_sql() -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger AS $$"
        f"{FUNCTION_BODY}$$ LANGUAGE plpgsql"
    )


def install(connection: Connection, tables: Iterable[str]) -> None:
    """Create the guards of ``tables`` (none of them may exist yet)."""
    dialect = connection.dialect.name
    if dialect == "postgresql":
        connection.execute(text(_function_sql()))
    for guard in expected(dialect, tables):
        _create(connection, guard)


def _create(connection: Connection, guard: Guard) -> None:
    connection.exec_driver_sql(guard.sql)
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"ALTER TABLE {guard.table} ENABLE ALWAYS TRIGGER {guard.name}")


def remove(connection: Connection, tables: Iterable[str]) -> None:
    for guard in expected(connection.dialect.name, tables):
        _drop(connection, guard)


def _drop(connection: Connection, guard: Guard) -> None:
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {guard.name}")
    else:
        connection.exec_driver_sql(f"DROP TRIGGER IF EXISTS {guard.name} ON {guard.table}")


def _normal(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


def check(connection: Connection, tables: Iterable[str]) -> list[Finding]:
    """Every guard of ``tables`` that is missing, disabled or altered."""
    wanted = expected(connection.dialect.name, tables)
    findings: list[Finding] = []
    if connection.dialect.name == "sqlite":
        found = dict(
            connection.exec_driver_sql(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).all()
        )
        for guard in wanted:
            if guard.name not in found:
                findings.append(Finding(guard.name, guard.table, "missing"))
            elif _normal(found[guard.name] or "") != _normal(guard.sql):
                findings.append(Finding(guard.name, guard.table, "altered"))
        return findings
    body = connection.exec_driver_sql(
        "SELECT prosrc FROM pg_proc WHERE proname = %(name)s", {"name": FUNCTION}
    ).scalar()
    rows = connection.exec_driver_sql(
        "SELECT t.tgname, c.relname, t.tgenabled, p.proname, pg_get_triggerdef(t.oid) "
        "FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_proc p ON p.oid = t.tgfoid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE NOT t.tgisinternal AND n.nspname = current_schema()"
    ).all()
    present = {(name, table): (enabled, proc, ddl) for name, table, enabled, proc, ddl in rows}
    function_altered = body is None or _normal(body) != _normal(FUNCTION_BODY)
    for guard in wanted:
        state = present.get((guard.name, guard.table))
        if state is None:
            findings.append(Finding(guard.name, guard.table, "missing"))
            continue
        enabled, proc, ddl = state
        if proc != FUNCTION or function_altered or not _same_trigger(ddl, guard.sql):
            findings.append(Finding(guard.name, guard.table, "altered"))
        elif enabled == "D":
            findings.append(Finding(guard.name, guard.table, "disabled"))
        elif enabled != "A":
            findings.append(
                Finding(guard.name, guard.table, "not enabled for replication sessions")
            )
    return findings


def _same_trigger(ddl: str, sql: str) -> bool:
    # pg_get_triggerdef qualifies the table with its schema (and writes events in its own
    # order, DELETE before UPDATE, as the guards are written): compare without the schema.
    shown = re.sub(r" ON \w+\.", " ON ", ddl)
    return _normal(shown) == _normal(sql)


def restore(connection: Connection, tables: Iterable[str]) -> list[Finding]:
    """Put back every guard that is missing, disabled or altered; returns what was wrong."""
    tables = list(tables)
    findings = check(connection, tables)
    if not findings:
        return []
    wanted = {g.name: g for g in expected(connection.dialect.name, tables)}
    if connection.dialect.name == "postgresql":
        connection.execute(text(_function_sql()))
    for finding in findings:
        guard = wanted[finding.guard]
        _drop(connection, guard)
        _create(connection, guard)
    return findings


__all__ = ["FUNCTION", "Finding", "Guard", "check", "expected", "install", "remove", "restore"]
