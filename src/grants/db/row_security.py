"""Row-level security on PostgreSQL: a recipient's own database login sees only the rows of
its own organisations, and adds nothing.

`grants db roles --recipients ROLE` makes ROLE, a group that cannot log in, and gives it
what a recipient may read; `--recipient LOGIN` makes a recipient's login role (named
after the ledger person) in the group. Who a connection is comes from PostgreSQL: the login
it authenticated as (``session_user``, which ``SET ROLE`` does not change), the ledger person
of that login, and their organisations as their ``person_event`` records leave them. Three
SQL functions work this out, owned by the owner role and run with its rights (SECURITY
DEFINER, with a fixed search_path), since the group cannot read ``person_event`` whole:

* ``grants_person()``: the person whose login is the connection's (they see their own
  ``person`` and ``person_event`` records, so that the ledger can tell them they are
  disabled);
* ``grants_organisations()``: the organisations that person is a recipient for, while
  they are enabled;
* ``grants_lines()``: those organisations' lines, and every line beneath them.

Each table a recipient may touch gets two policies: ``grants_all``, permissive, for every
role (so the owner and the working role see every row, as before, at no cost to their
queries), and ``grants_recipients``, restrictive, for the group only: a member sees (and
could add, were it ever granted INSERT) only the rows it passes. Nothing reads a setting or
a session variable, so no ``SET`` or ``set_config`` widens it; the group and its logins
have NOBYPASSRLS. Tables not named here (credentials, the chain's seals, settings, the
capital programme, and any table a later migration adds) are not granted to the group at all.

The policies are not FORCEd: the owner (who could drop them anyway) and ``pg_dump`` run as
the owner read every row. `grants db upgrade` puts back any policy that is missing or
altered, and row security switched off; `grants verify` reports each as an error, once the
functions show that the policies were installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Connection

PERSON = "grants_person"
ORGANISATIONS = "grants_organisations"
LINES = "grants_lines"
FUNCTIONS = (PERSON, ORGANISATIONS, LINES)
ALL = "grants_all"
RECIPIENTS = "grants_recipients"

_MINE = f"line_id IN (SELECT {LINES}())"

# What a member of the group sees (and could add) of each table: the policy's expression.
POLICIES: dict[str, str] = {
    "line": f"id IN (SELECT {LINES}())",
    "account": f"line_id IS NULL OR {_MINE}",
    "entry": f"{_MINE} OR to_line_id IN (SELECT {LINES}())",
    "posting": "entry_id IN (SELECT id FROM entry)",
    "plan_line": _MINE,
    "plan_agreement": _MINE,
    "plan_filing": _MINE,
    "match_funding": _MINE,
    "return_filing": _MINE,
    "return_figure": "filing_id IN (SELECT id FROM return_filing)",
    "attachment": "sha256 IN (SELECT key FROM return_filing UNION ALL SELECT key FROM plan_filing)",
    "person": f"id = {PERSON}()",
    "person_event": f"person_id = {PERSON}()",
}
# The group may add nothing: a recipient files through the ledger's commands (or its web
# service), which record as the working role and seal what they add. A row added with
# direct SQL would be outside the hash chain, `grants verify` would name it, and the ledger
# would take no more records until it was dealt with: one recipient could stop everyone's
# work. The policies still confine writes too, should anyone grant one.
INSERTS: tuple[str, ...] = ()
# Reference data every recipient may read whole: who the organisations are, the streams and
# their texts, the reporting calendar, the figures the council states or prints (public
# papers), and the schema's version.
REFERENCE = (
    "organisation", "stream", "stream_text", "return_stage", "statement", "alembic_version",
)  # fmt: skip

# The functions' bodies, as installed and as checked.
BODIES: dict[str, str] = {
    PERSON: "\n  SELECT p.id FROM person p WHERE p.key = session_user::text\n",
    ORGANISATIONS: (
        "\n  SELECT g.organisation_id FROM person_event g\n"
        f"  WHERE g.person_id = {PERSON}() AND g.kind = 'grant' AND g.role = 'recipient'\n"
        "    AND g.organisation_id IS NOT NULL\n"
        "    AND coalesce((SELECT e.kind FROM person_event e WHERE e.person_id = g.person_id\n"
        "                  AND e.kind IN ('disable', 'enable') ORDER BY e.id DESC LIMIT 1),\n"
        "                 'enable') = 'enable'\n"
        "    AND NOT EXISTS (SELECT 1 FROM person_event r WHERE r.person_id = g.person_id\n"
        "                    AND r.kind = 'revoke' AND r.role = 'recipient' AND r.id > g.id\n"
        "                    AND (r.organisation_id IS NULL\n"
        "                         OR r.organisation_id = g.organisation_id))\n"
    ),
    LINES: (
        "\n  WITH RECURSIVE seen(id) AS (\n"
        f"    SELECT id FROM line WHERE recipient_id IN (SELECT {ORGANISATIONS}())\n"
        "    UNION SELECT l.id FROM line l JOIN seen s ON l.parent_id = s.id)\n"
        "  SELECT id FROM seen\n"
    ),
}
RETURNS = {PERSON: "integer", ORGANISATIONS: "SETOF integer", LINES: "SETOF integer"}


@dataclass(frozen=True)
class Finding:
    """A policy or function that is not as `grants db roles` made it."""

    what: str  # "the policy grants_recipients on line", "the function grants_lines()"
    table: str | None
    problem: str  # "missing", "altered", "switched off"

    def __str__(self) -> str:
        return f"{self.what} is {self.problem}"


def function_sql(schema: str, name: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {schema}.{name}() RETURNS {RETURNS[name]} "
        f"LANGUAGE sql STABLE SECURITY DEFINER SET search_path = {schema}, pg_temp "
        f"AS $${BODIES[name]}$$"
    )


def _function_sql(schema: str, name: str, owner: str, group: str) -> list[str]:
    return [
        function_sql(schema, name),
        f"ALTER FUNCTION {schema}.{name}() OWNER TO {owner}",
        f"REVOKE ALL ON FUNCTION {schema}.{name}() FROM PUBLIC",
        f"GRANT EXECUTE ON FUNCTION {schema}.{name}() TO {group}",
    ]


def _policy_sql(schema: str, name: str, group: str) -> list[str]:
    expression = POLICIES[name]
    table = f"{schema}.{name}"
    return [
        f"DROP POLICY IF EXISTS {ALL} ON {table}",
        f"CREATE POLICY {ALL} ON {table} AS PERMISSIVE FOR ALL TO PUBLIC "
        "USING (true) WITH CHECK (true)",
        f"DROP POLICY IF EXISTS {RECIPIENTS} ON {table}",
        f"CREATE POLICY {RECIPIENTS} ON {table} AS RESTRICTIVE FOR ALL TO {group} "
        f"USING ({expression}) WITH CHECK ({expression})",
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
    ]


def statements(connection: Connection, owner: str, group: str, tables: set[str]) -> list[str]:
    """The SQL that makes the recipients' group (if new), its functions and policies, and
    grants it what a recipient may read and add (``tables``: those the schema has).
    ValueError if the ledger has a recipients' group of another name already: the grants of
    that one would stand with no policy to bind its members."""
    if installed(connection):
        standing = group_of(connection)
        if standing is not None and standing != group:
            raise ValueError(
                f"this ledger's recipients' group is {standing}: give --recipients {standing} "
                "(a ledger has one)"
            )
    exists = connection.exec_driver_sql(
        "SELECT 1 FROM pg_roles WHERE rolname = %(g)s", {"g": group}
    ).first()
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    database = connection.exec_driver_sql("SELECT current_database()").scalar_one()
    out: list[str] = []
    if exists is None:
        out.append(
            f"CREATE ROLE {group} NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS "
            "NOREPLICATION"
        )
    else:
        out.append(f"ALTER ROLE {group} NOLOGIN NOSUPERUSER NOBYPASSRLS")
    out += [
        f'GRANT CONNECT ON DATABASE "{database}" TO {group}',
        f"GRANT USAGE ON SCHEMA {schema} TO {group}",
        f"REVOKE CREATE ON SCHEMA {schema} FROM {group}",
    ]
    for name in FUNCTIONS:
        out += _function_sql(schema, name, owner, group)
    for table in sorted(tables):
        out.append(f"REVOKE ALL ON {schema}.{table} FROM {group}")
        if table in REFERENCE:
            out.append(f"GRANT SELECT ON {schema}.{table} TO {group}")
        elif table in POLICIES:
            privileges = "SELECT, INSERT" if table in INSERTS else "SELECT"
            out.append(f"GRANT {privileges} ON {schema}.{table} TO {group}")
            out += _policy_sql(schema, table, group)
            if table in INSERTS:
                out.append(f"GRANT USAGE ON SEQUENCE {schema}.{table}_id_seq TO {group}")
    return out


def login_statements(connection: Connection, login: str, group: str) -> list[str]:
    """The SQL that makes ``login`` a login role in ``group`` (or puts an existing one in
    it): no superuser, no bypassing row security, no other rights of its own."""
    row = connection.exec_driver_sql(
        "SELECT rolsuper, rolbypassrls, rolcreaterole FROM pg_roles WHERE rolname = %(r)s",
        {"r": login},
    ).first()
    if row is None:
        return [
            f"CREATE ROLE {login} LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE "
            f"NOBYPASSRLS NOREPLICATION IN ROLE {group}"
        ]
    if any(row):
        raise ValueError(
            f"the role {login} is a superuser, bypasses row security or creates roles: a "
            "recipient's login must be none of these; choose another, or alter it first"
        )
    return [f"ALTER ROLE {login} LOGIN INHERIT NOBYPASSRLS", f"GRANT {group} TO {login}"]


def can_record(connection: Connection) -> bool:
    """Whether the connection's role may add to the chain (a recipient's own login may not:
    every write seals what it adds, and the chain is every organisation's)."""
    if connection.dialect.name != "postgresql":
        return True
    return bool(
        connection.exec_driver_sql("SELECT has_table_privilege('seal', 'INSERT')").scalar_one()
    )


def installed(connection: Connection) -> bool:
    """Whether `grants db roles --recipients` installed row security in this schema."""
    return connection.dialect.name == "postgresql" and bool(
        connection.exec_driver_sql(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = %(f)s",
            {"f": LINES},
        ).scalar_one()
    )


def group_of(connection: Connection) -> str | None:
    """The recipients' group: the role the recipients' policies bind or, were they all
    dropped, the role that may run ``grants_person()`` (other than its owner)."""
    return connection.exec_driver_sql(
        "SELECT name FROM ("
        " SELECT 1 AS rank, r.rolname AS name FROM pg_policy p "
        " JOIN pg_class c ON c.oid = p.polrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        " CROSS JOIN LATERAL unnest(p.polroles) o JOIN pg_roles r ON r.oid = o "
        " WHERE n.nspname = current_schema() AND p.polname = %(p)s"
        " UNION ALL"
        " SELECT 2, r.rolname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        " CROSS JOIN LATERAL aclexplode(p.proacl) a JOIN pg_roles r ON r.oid = a.grantee "
        " WHERE n.nspname = current_schema() AND p.proname = %(f)s "
        " AND a.grantee <> p.proowner AND a.privilege_type = 'EXECUTE'"
        ") AS found ORDER BY rank, name LIMIT 1",
        {"f": PERSON, "p": RECIPIENTS},
    ).scalar()


def _normal(sql: str | None) -> str:
    """An expression as PostgreSQL shows it, or as written here, in one form: without the
    aliases, table names, casts and brackets PostgreSQL adds, spaces or case."""
    text = re.sub(r"\s+AS\s+\w+", "", sql or "", flags=re.IGNORECASE)
    text = re.sub(r"\b\w+\.(?=\w)", "", text)
    text = re.sub(r"::\w+", "", text)
    return re.sub(r"[\s()]+", "", text).lower()


def check(connection: Connection, tables: set[str]) -> list[Finding]:
    """Every policy and function that is missing, altered or switched off (nothing, where
    row security was never installed)."""
    if not installed(connection):
        return []
    findings: list[Finding] = []
    functions = {
        name: (body, definer, config)
        for name, body, definer, config in connection.exec_driver_sql(
            "SELECT p.proname, p.prosrc, p.prosecdef, p.proconfig FROM pg_proc p "
            "JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname = current_schema() AND p.proname = ANY(%(f)s)",
            {"f": list(FUNCTIONS)},
        )
    }
    for name in FUNCTIONS:
        found = functions.get(name)
        what = f"the function {name}()"
        if found is None:
            findings.append(Finding(what, None, "missing"))
        elif (
            _normal(found[0]) != _normal(BODIES[name])
            or not found[1]
            or not any(str(c).startswith("search_path=") for c in found[2] or [])
        ):
            findings.append(Finding(what, None, "altered"))
    group = group_of(connection)
    for role in connection.exec_driver_sql(
        "SELECT r.rolname FROM pg_roles r WHERE (r.rolsuper OR r.rolbypassrls) AND "
        "(r.rolname = %(g)s OR r.oid IN (SELECT m.member FROM pg_auth_members m "
        "JOIN pg_roles g ON g.oid = m.roleid WHERE g.rolname = %(g)s)) ORDER BY 1",
        {"g": group},
    ).scalars():
        findings.append(Finding(f"the role {role}, in the recipients' group {group},", None,
                                "a superuser or bypasses row security"))  # fmt: skip
    rows = connection.exec_driver_sql(
        "SELECT c.relname, c.relrowsecurity, p.polname, p.polpermissive, p.polcmd, "
        "pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid), "
        "ARRAY(SELECT coalesce(r.rolname, 'public') FROM unnest(p.polroles) o "
        "      LEFT JOIN pg_roles r ON r.oid = o) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_policy p ON p.polrelid = c.oid "
        "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relname = ANY(%(t)s)",
        {"t": sorted(set(POLICIES) & tables)},
    ).all()
    enabled = {row[0]: row[1] for row in rows}
    policies = {(row[0], row[2]): row[3:] for row in rows if row[2] is not None}
    for table in sorted(set(POLICIES) & tables):
        if not enabled.get(table, False):
            findings.append(Finding(f"row-level security on {table}", table, "switched off"))
        wanted = {
            ALL: (True, "*", "true", "true", ["public"]),
            RECIPIENTS: (False, "*", POLICIES[table], POLICIES[table], [group]),
        }
        for name, (permissive, command, using, checking, roles) in wanted.items():
            what = f"the policy {name} on {table}"
            found = policies.get((table, name))
            if found is None:
                findings.append(Finding(what, table, "missing"))
            elif (
                found[0] != permissive
                or found[1] != command
                or _normal(found[2]) != _normal(using)
                or _normal(found[3]) != _normal(checking)
                or list(found[4]) != roles
            ):
                findings.append(Finding(what, table, "altered"))
    return findings


def restore(connection: Connection, tables: set[str]) -> list[Finding]:
    """Put back every function and policy that is missing or altered, and row security
    switched off; returns what it put back (`check` reports the rest)."""
    findings = [
        f for f in check(connection, tables)
        if f.table is not None or f.what.startswith("the function ")
    ]  # fmt: skip
    if not findings:
        return []
    group = group_of(connection)
    if group is None:
        return []
    schema = connection.exec_driver_sql("SELECT current_schema()").scalar_one()
    owner = connection.exec_driver_sql(
        "SELECT pg_get_userbyid(relowner) FROM pg_class "
        "WHERE relname = 'line' AND relnamespace = to_regnamespace(current_schema())::oid"
    ).scalar_one()
    for name in FUNCTIONS:
        if any(f.what == f"the function {name}()" for f in findings):
            for statement in _function_sql(schema, name, owner, group):
                connection.exec_driver_sql(statement)
    for table in sorted({f.table for f in findings if f.table is not None}):
        for statement in _policy_sql(schema, table, group):
            connection.exec_driver_sql(statement)
    return findings


__all__ = [
    "FUNCTIONS",
    "POLICIES",
    "Finding",
    "can_record",
    "check",
    "group_of",
    "installed",
    "login_statements",
    "restore",
    "statements",
]
