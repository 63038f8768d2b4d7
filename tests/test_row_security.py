"""Row-level security on PostgreSQL: a recipient's own database login, tried with direct SQL
and with the command line, sees and adds only its own organisation's rows.

The ledger holds two recipients' lines (Cherwell and the domestic abuse service), each with
a payment, a plan and a filed return. `grants db roles --recipients ... --recipient ...`
makes a login for Cherwell's recipient, and every attempt is made over a real connection as
that login (the test server trusts local connections, so it needs no password).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from grants.services import people, sign_in
from tests.conftest import OFFICER, Grants, add_person
from tests.helpers import books
from tests.test_access import BOOKS
from tests.test_returns import fill


@dataclass
class Ledger:
    grants: Grants  # the superuser, signed in as the officer
    owner: str
    working: str
    group: str
    login: str  # Cherwell's recipient: a ledger person and a PostgreSQL login
    url: str  # the database as that login

    def recipient(self) -> Grants:
        """The command line connected as the recipient's own login, with no --user."""
        g = Grants(self.url)
        g.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None, "GRANTS_ACTOR": None}
        return g


def _as(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _drop_roles(url: str, roles: list[str]) -> None:
    engine = create_engine(_as(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        for role in roles:
            if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first():
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE usename = :r AND pid <> pg_backend_pid()"
                    ),
                    {"r": role},
                )
                conn.execute(text(f"REASSIGN OWNED BY {role} TO CURRENT_USER"))
                conn.execute(text(f"DROP OWNED BY {role}"))
                conn.execute(text(f"DROP ROLE {role}"))
    engine.dispose()


@pytest.fixture
def ledger(grants: Grants, tmp_path: Path) -> Iterator[Ledger]:
    if not grants.url.startswith("postgresql"):
        pytest.skip("row-level security is PostgreSQL's; a SQLite ledger is one private file")
    assert grants("ledger", "load", str(books(tmp_path, BOOKS))).exit_code == 0
    for line in ("CHERWELL", "DA"):
        assert grants("pay", "CSF", "2017-18", line, "1,000", "--date", "2017-07-01").exit_code == 0
    out = tmp_path / "forms"
    issued = grants("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage",
                    "mid-year", "-o", str(out))  # fmt: skip
    assert issued.exit_code == 0, issued.output
    own = fill(out / "csf-2017-18-mid-year-cherwell.xlsx", tmp_path / "cherwell.xlsx")
    other = fill(out / "csf-2017-18-mid-year-da.xlsx", tmp_path / "da.xlsx", D13=1000, D14=500)
    for form in (own, other):
        taken = grants("returns", "import", "--received", "2017-10-20", str(form))
        assert taken.exit_code == 0, taken.output
    suffix = uuid.uuid4().hex[:8]
    roles = [f"cher_{suffix}", f"rec_{suffix}", f"app_{suffix}", f"own_{suffix}"]
    login, group, working, owner = roles
    add_person(grants.url, login, ["recipient"], organisations=["CHER-CSP"])
    add_person(grants.url, f"da_{suffix}", ["recipient"], organisations=["DA-ORG"])
    try:
        made = grants("db", "roles", "--owner", owner, "--working", working,
                      "--recipients", group, "--recipient", login)  # fmt: skip
        assert made.exit_code == 0, made.output
        assert f"made the login {login}" in made.output
        url = grants.url.replace("postgres@", f"{login}@", 1)
        yield Ledger(grants, owner, working, group, login, url)
    finally:
        _drop_roles(grants.url, roles)


@pytest.fixture
def admin(ledger: Ledger) -> Iterator[Connection]:
    """The superuser's connection: what the ledger holds, whoever may see it."""
    engine = create_engine(_as(ledger.grants.url))
    with engine.connect() as conn:
        yield conn
    engine.dispose()


@pytest.fixture
def recipient(ledger: Ledger) -> Iterator[Engine]:
    """An engine that logs in as the recipient."""
    engine = create_engine(_as(ledger.url))
    yield engine
    engine.dispose()


def _all(conn: Connection, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in conn.execute(text(sql), params)]


def _line(admin: Connection, code: str) -> int:
    return int(admin.execute(text("SELECT id FROM line WHERE code = :c"), {"c": code}).scalar_one())


def test_a_recipients_login_reads_only_its_own_organisations_rows(
    ledger: Ledger, admin: Connection, recipient: Engine
) -> None:
    cherwell, da = _line(admin, "CHERWELL"), _line(admin, "DA")
    # What the ledger holds for both, read as the superuser: the test means something.
    for table in ("return_filing", "plan_line", "plan_agreement", "entry"):
        lines = {r[0] for r in _all(admin, f"SELECT line_id FROM {table}")}
        assert {cherwell, da} <= lines, table
    own_filings = _all(admin, "SELECT id FROM return_filing WHERE line_id = :l ORDER BY id",
                       l=cherwell)  # fmt: skip
    own_figures = _all(admin, "SELECT f.id FROM return_figure f JOIN return_filing r ON "
                       "r.id = f.filing_id WHERE r.line_id = :l ORDER BY f.id", l=cherwell)  # fmt: skip
    own_entries = _all(admin, "SELECT id FROM entry WHERE line_id = :l OR to_line_id = :l "
                       "ORDER BY id", l=cherwell)  # fmt: skip
    own_postings = _all(admin, "SELECT p.id FROM posting p JOIN entry e ON e.id = p.entry_id "
                        "WHERE e.line_id = :l OR e.to_line_id = :l ORDER BY p.id", l=cherwell)  # fmt: skip
    assert own_filings and own_figures and own_entries and own_postings
    with recipient.connect() as conn:
        assert _all(conn, "SELECT current_user") == [(ledger.login,)]
        assert _all(conn, "SELECT id FROM line") == [(cherwell,)]
        assert _all(conn, "SELECT id FROM return_filing ORDER BY id") == own_filings
        assert _all(conn, "SELECT id FROM return_figure ORDER BY id") == own_figures
        assert _all(conn, "SELECT id FROM entry ORDER BY id") == own_entries
        assert _all(conn, "SELECT id FROM posting ORDER BY id") == own_postings
        assert {r[0] for r in _all(conn, "SELECT line_id FROM plan_line")} == {cherwell}
        assert {r[0] for r in _all(conn, "SELECT line_id FROM plan_agreement")} == {cherwell}
        kept = _all(conn, "SELECT sha256 FROM attachment")
        assert kept == _all(conn, "SELECT key FROM return_filing ORDER BY id")
        # Of the people, only themselves; reference data whole.
        assert _all(conn, "SELECT login FROM person") == [(ledger.login,)]
        assert len(_all(conn, "SELECT id FROM organisation")) == 3
    for table in ("credential", "seal", "setting", "audit_event"):
        with recipient.connect() as conn, pytest.raises(DBAPIError, match="permission denied"):
            conn.exec_driver_sql(f"SELECT * FROM {table}")


def test_a_recipients_login_cannot_write_another_organisations_rows(
    ledger: Ledger, admin: Connection, recipient: Engine
) -> None:
    cherwell, da = _line(admin, "CHERWELL"), _line(admin, "DA")
    stream = admin.execute(text("SELECT id FROM stream")).scalar_one()
    theirs = admin.execute(text("SELECT id FROM return_filing WHERE line_id = :l"),
                           {"l": da}).scalar_one()  # fmt: skip
    filing = (
        "INSERT INTO return_filing (key, stream_id, line_id, year, stage, fingerprint, "
        "filename, actor, recorded_at, received_on) VALUES (:k, :s, :l, 2017, 'mid-year', "
        "'x', 'x.xlsx', 'x', now(), current_date)"
    )
    figure = (
        "INSERT INTO return_figure (filing_id, position, title, cell) VALUES (:f, 99, 'x', 'D99')"
    )
    plan = ("INSERT INTO plan_line (key, day, line_id, year, position, title, cost_pence) "
            "VALUES ('k', current_date, :l, 2017, 9, 'x', 1)")  # fmt: skip
    denied = "permission denied"
    attempts: list[tuple[str, dict[str, Any], str]] = [
        # Not even its own: a recipient files through the ledger, which seals what it adds.
        (filing, {"k": "b" * 64, "s": stream, "l": cherwell}, denied),
        (filing, {"k": "a" * 64, "s": stream, "l": da}, denied),
        (figure, {"f": theirs}, denied),
        (plan, {"l": da}, denied),
        ("UPDATE return_filing SET actor = 'x'", {}, "permission denied"),
        ("DELETE FROM return_figure", {}, "permission denied"),
        ("DELETE FROM line", {}, "permission denied"),
        ("INSERT INTO entry (key, ref, kind, day, stream_id, first_year, last_year, "
         "amount_pence, actor, recorded_at) VALUES ('k', 'r', 'pay', current_date, :s, 2017, "
         "2017, 1, 'x', now())", {"s": stream}, "permission denied"),
    ]  # fmt: skip
    for sql, params, refusal in attempts:
        with recipient.connect() as conn, pytest.raises(DBAPIError, match=refusal):
            conn.execute(text(sql), params)
    # Were INSERT ever granted to the group, the policies would still confine it: another
    # organisation's line is refused, its own passes (rolled back: unsealed, verify names it).
    tables = ("return_filing", "return_figure", "plan_line")
    for table in tables:
        admin.execute(text(f"GRANT INSERT ON {table} TO {ledger.group}"))
        admin.execute(text(f"GRANT USAGE ON SEQUENCE {table}_id_seq TO {ledger.group}"))
    admin.commit()
    try:
        policy = "new row violates row-level security policy"
        for sql, params in [(filing, {"k": "a" * 64, "s": stream, "l": da}),
                            (figure, {"f": theirs}), (plan, {"l": da})]:  # fmt: skip
            with recipient.connect() as conn, pytest.raises(DBAPIError, match=policy):
                conn.execute(text(sql), params)
        with recipient.connect() as conn:
            made = conn.execute(text(filing + " RETURNING id"), {"k": "b" * 64, "s": stream,
                                                                 "l": cherwell}).scalar_one()  # fmt: skip
            conn.execute(text(figure), {"f": made})
            conn.rollback()
    finally:
        for table in tables:
            admin.execute(text(f"REVOKE INSERT ON {table} FROM {ledger.group}"))
            admin.execute(text(f"REVOKE USAGE ON SEQUENCE {table}_id_seq FROM {ledger.group}"))
        admin.commit()
    assert ledger.grants("verify").exit_code == 0


def test_no_setting_or_role_change_widens_what_a_recipient_sees(
    ledger: Ledger, admin: Connection, recipient: Engine
) -> None:
    cherwell = _line(admin, "CHERWELL")
    person = _all(admin, "SELECT id FROM person WHERE key = 'officer'")[0][0]
    refused = {
        f"SET ROLE {ledger.working}": "permission denied to set role",
        "SET ROLE postgres": "permission denied to set role",
        f"SELECT set_config('role', '{ledger.owner}', false)": "permission denied to set role",
        f"SET SESSION AUTHORIZATION {ledger.working}": "permission denied to set session",
        f"ALTER ROLE {ledger.login} BYPASSRLS": "must be superuser",
        "ALTER TABLE line DISABLE ROW LEVEL SECURITY": "must be owner",
        "DROP POLICY grants_recipients ON line": "must be owner",
        f"GRANT {ledger.working} TO {ledger.login}": "must have admin option",
    }
    for sql, refusal in refused.items():
        with recipient.connect() as conn, pytest.raises(DBAPIError, match=refusal):
            conn.exec_driver_sql(sql)
    with recipient.connect() as conn:
        # The group itself is still bound by the policies, and is still this person.
        conn.exec_driver_sql(f"SET ROLE {ledger.group}")
        assert _all(conn, "SELECT id FROM line") == [(cherwell,)]
        conn.exec_driver_sql("RESET ROLE")
        # Settings and session variables change nothing; nor does a function of the same
        # name earlier in the search path (the policies name the ledger's own).
        conn.execute(text("SELECT set_config('grants.person', :p, false)"), {"p": str(person)})
        conn.exec_driver_sql("SET application_name = 'officer'")
        conn.exec_driver_sql(
            "CREATE FUNCTION pg_temp.grants_lines() RETURNS SETOF integer LANGUAGE sql "
            "AS 'SELECT id FROM public.line'"
        )
        conn.exec_driver_sql("SET search_path = pg_temp, public")
        assert _all(conn, "SELECT id FROM line") == [(cherwell,)]
        assert len(_all(conn, "SELECT id FROM public.return_filing")) == 1
        # Row security cannot be switched off: a query it would affect is refused instead.
        conn.exec_driver_sql("SET row_security = off")
        with pytest.raises(DBAPIError, match="row-level security"):
            conn.exec_driver_sql("SELECT id FROM public.line")


def test_the_command_line_connected_as_the_recipient_acts_as_them(
    ledger: Ledger, tmp_path: Path
) -> None:
    cher = ledger.recipient()
    history = cher("returns", "history", "--json")
    assert history.exit_code == 0, history.output
    assert [h["line"] for h in json.loads(history.output)] == ["CHERWELL"]
    balance = json.loads(cher("balance", "--json").output)
    assert {b["line"] for b in balance if b.get("line")} == {"CHERWELL"}
    # PostgreSQL signed them in: no password is asked, and no one else may be named.
    other = Grants(ledger.url)  # GRANTS_USER=officer with the officer's password
    named = other("returns", "history")
    assert named.exit_code == 1
    assert f"this connection is PostgreSQL's role {ledger.login}" in named.output
    assert "--user officer is someone else" in named.output
    # What their role does not allow is refused as for anyone (the refusal is not in the
    # audit log: this connection cannot write to the ledger, and says so).
    journal = json.loads(cher("journal", "--json").output)
    assert journal and {e["line"] for e in journal} == {"CHERWELL"}
    for listing_args in (["returns", "due"], ["plan", "history"], ["allocations"], ["streams"]):
        shown = cher(*listing_args)
        assert shown.exit_code == 0, (listing_args, shown.output)
        assert "DA-ORG" not in shown.output and "Domestic" not in shown.output, shown.output
    allocations = cher("allocations").output
    assert "CHERWELL" in allocations and " DA " not in allocations
    listing = cher("users", "list")
    assert listing.exit_code == 1
    assert f"{ledger.login} is a recipient" in listing.output
    assert "not written to the audit log" in listing.output
    # Recording needs the ledger's chain, which is every organisation's: refused, clearly.
    paid = cher("pay", "CSF", "2017-18", "CHERWELL", "1")
    assert paid.exit_code == 1
    assert "cannot record" in paid.output and f"--user {ledger.login}" in paid.output
    # Disabled in the ledger, they are signed in by PostgreSQL but not by the ledger, and
    # the policies show them nothing.
    assert ledger.grants("users", "disable", ledger.login).exit_code == 0
    assert "is disabled" in cher("balance").output
    engine = create_engine(_as(ledger.url))
    with engine.connect() as conn:
        assert _all(conn, "SELECT id FROM line") == []
    engine.dispose()


def test_the_working_role_still_reads_and_records_every_row(ledger: Ledger) -> None:
    working = Grants(ledger.grants.url.replace("postgres@", f"{ledger.working}@", 1))
    paid = working("pay", "CSF", "2017-18", "DA", "5", "--date", "2017-08-01")
    assert paid.exit_code == 0, paid.output
    history = json.loads(working("returns", "history", "--json").output)
    assert sorted(h["line"] for h in history) == ["CHERWELL", "DA"]
    assert working("verify").exit_code == 0


def test_an_officers_own_login_records_as_them(ledger: Ledger, admin: Connection) -> None:
    """Item for item as the working role, an officer's own PostgreSQL login (a member of it)
    is signed in by PostgreSQL: what it records names them, and no password is asked."""
    login = ledger.login.replace("cher_", "olive_")
    add_person(ledger.grants.url, login, ["officer"])
    admin.exec_driver_sql(f"CREATE ROLE {login} LOGIN IN ROLE {ledger.working}")
    admin.commit()
    try:
        olive = Grants(ledger.grants.url.replace("postgres@", f"{login}@", 1))
        olive.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None, "GRANTS_ACTOR": None}
        paid = olive("pay", "CSF", "2017-18", "DA", "7", "--date", "2017-08-02")
        assert paid.exit_code == 0, paid.output
        journal = json.loads(olive("journal", "--json").output)
        assert [(e["amount"], e["actor"]) for e in journal if e["kind"] == "pay"][-1] == (
            "7.00",
            login,
        )
        # Not a password sign-in: nothing in the audit log.
        log = json.loads(ledger.grants("users", "audit", "--json").output)
        assert not [e for e in log if e["login"] == login]
        assert olive("verify").exit_code == 0
    finally:
        _drop_roles(ledger.grants.url, [login])


def test_verify_reports_a_policy_taken_off_and_upgrade_puts_it_back(
    ledger: Ledger, admin: Connection
) -> None:
    assert ledger.grants("verify").exit_code == 0
    admin.exec_driver_sql("DROP POLICY grants_recipients ON return_filing")
    admin.exec_driver_sql("ALTER TABLE line DISABLE ROW LEVEL SECURITY")
    admin.exec_driver_sql("DROP POLICY grants_recipients ON posting")
    admin.exec_driver_sql(
        f"CREATE POLICY grants_recipients ON posting AS RESTRICTIVE FOR ALL TO {ledger.group} "
        "USING (true)"
    )
    admin.exec_driver_sql(
        "CREATE OR REPLACE FUNCTION grants_lines() RETURNS SETOF integer LANGUAGE sql STABLE "
        "SECURITY DEFINER SET search_path = public, pg_temp AS 'SELECT id FROM line'"
    )
    admin.exec_driver_sql(f"ALTER ROLE {ledger.login} BYPASSRLS")
    admin.commit()
    found = ledger.grants("verify", "--json")
    assert found.exit_code == 1
    problems = {p["message"].split(":")[0] for p in json.loads(found.output)["problems"]}
    assert {
        "the policy grants_recipients on return_filing is missing",
        "row-level security on line is switched off",
        "the policy grants_recipients on posting is altered",
        "the function grants_lines() is altered",
        f"the role {ledger.login}, in the recipients' group {ledger.group}, is a superuser or "
        "bypasses row security",
    } <= problems, problems
    upgraded = ledger.grants("db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.output
    assert "the policy grants_recipients on return_filing is missing: put back" in upgraded.output
    assert "the function grants_lines() is altered: put back" in upgraded.output
    # A role's rights are the database administrator's to put back, not the upgrade's.
    assert ledger.grants("verify").exit_code == 1
    admin.exec_driver_sql(f"ALTER ROLE {ledger.login} NOBYPASSRLS")
    admin.commit()
    assert ledger.grants("verify").exit_code == 0
    # The recipient sees its own rows again, and only those.
    engine = create_engine(_as(ledger.url))
    with engine.connect() as conn:
        assert _all(conn, "SELECT code FROM line") == [("CHERWELL",)]
        assert len(_all(conn, "SELECT id FROM return_filing")) == 1
    engine.dispose()


def test_db_roles_makes_logins_only_for_the_ledgers_recipients(ledger: Ledger) -> None:
    g = ledger.grants
    base = ["db", "roles", "--owner", ledger.owner, "--working", ledger.working]
    cases = {
        ("--recipient", ledger.login): "give --recipients ROLE",
        ("--recipients", ledger.group, "--recipient", "officer"): "officer is not a recipient",
        ("--recipients", ledger.group, "--recipient", "nobody"): "there is no person 'nobody'",
        ("--recipients", ledger.working): "must be a role of its own",
        ("--recipients", "rec; DROP TABLE line"): "is not a role name",
        ("--recipients", "another_group"): f"this ledger's recipients' group is {ledger.group}",
    }
    for args, refusal in cases.items():
        result = g(*base, *args)
        assert result.exit_code == 1 and refusal in result.output, (args, result.output)
    # Run again, it changes nothing that stands and keeps the login in the group.
    again = g(*base, "--recipients", ledger.group, "--recipient", ledger.login.upper())
    assert again.exit_code == 0, again.output
    assert g("verify").exit_code == 0
    assert len(ledger.recipient()("returns", "history", "--json").output) > 2
    printed = g(*base, "--recipients", ledger.group, "--sql")
    assert printed.exit_code == 0
    assert (f"CREATE POLICY grants_recipients ON public.return_filing AS RESTRICTIVE FOR ALL "
            f"TO {ledger.group}") in printed.output  # fmt: skip
    assert "SECURITY DEFINER SET search_path = public, pg_temp" in printed.output


def _with_role(url: str, role: str) -> str:
    """``url`` with the connection's role set at connect time (as ``SET ROLE`` would)."""
    return f"{url}?options=-c%20role%3D{role}"


def _no_user(g: Grants) -> Grants:
    g.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None, "GRANTS_ACTOR": None}
    return g


def test_a_recipient_whose_role_is_set_to_the_group_is_still_themselves(
    ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Row security knows a connection by the login it authenticated as, whatever role it
    has set; so does the ledger. Here the operating-system login names the officer, whom a
    recipient's connection must never be taken for."""
    monkeypatch.setattr("grants.config.os_login", lambda: OFFICER)
    url = _with_role(ledger.url, ledger.group)
    engine = create_engine(_as(url))
    with engine.connect() as conn:  # the test means something: the role is the group's
        assert _all(conn, "SELECT session_user, current_user") == [(ledger.login, ledger.group)]
    engine.dispose()
    cher = _no_user(Grants(url))
    # What they see is their own, and the summary (which the Core path reads only for
    # someone who sees every line) is the one of their lines.
    everyone = json.loads(ledger.grants("balance", "--summary", "--json").output)
    summary = cher("balance", "--summary", "--json")
    assert summary.exit_code == 0, summary.output
    shown = json.loads(summary.output)
    assert [(r["stream"], r["year"], r["line"], r["paid"]) for r in shown] == [
        ("CSF", "2017-18", None, "1000.00")
    ]
    assert ("CSF", "2017-18", "2000.00") in {(r["stream"], r["year"], r["paid"]) for r in everyone}
    balance = cher("balance", "--json")
    assert balance.exit_code == 0, balance.output
    assert {b["line"] for b in json.loads(balance.output) if b["line"]} == {"CHERWELL"}
    # Refused as the recipient, not attempted as the operating-system login's person.
    before = ledger.grants("journal", "--json").output
    paid = cher("pay", "CSF", "2017-18", "CHERWELL", "1")
    assert paid.exit_code == 1
    assert "cannot record" in paid.output and f"--user {ledger.login}" in paid.output
    listing = cher("users", "list")
    assert listing.exit_code == 1
    assert f"{ledger.login} is a recipient" in listing.output
    assert "the person's own PostgreSQL login" in listing.output
    named = _no_user(Grants(url))
    named.env["GRANTS_USER"] = OFFICER
    refused = named("returns", "history")
    assert refused.exit_code == 1
    assert f"this connection is PostgreSQL's role {ledger.login}" in refused.output
    assert f"--user {OFFICER} is someone else" in refused.output
    assert ledger.grants("journal", "--json").output == before  # nothing was recorded


def test_an_officers_login_with_the_working_role_set_records_as_them(
    ledger: Ledger, admin: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An officer's own login that sets its role to the working role (whose rights it has)
    is still that officer: what it records names them, and an admin's work is refused them,
    whoever the operating-system login names."""
    monkeypatch.setattr("grants.config.os_login", lambda: OFFICER)  # an admin and officer
    login = ledger.login.replace("cher_", "olive_")
    add_person(ledger.grants.url, login, ["officer"])
    admin.exec_driver_sql(f"CREATE ROLE {login} LOGIN IN ROLE {ledger.working}")
    admin.commit()
    try:
        url = _with_role(ledger.grants.url.replace("postgres@", f"{login}@", 1), ledger.working)
        olive = _no_user(Grants(url))
        paid = olive("pay", "CSF", "2017-18", "DA", "7", "--date", "2017-08-02")
        assert paid.exit_code == 0, paid.output
        journal = json.loads(olive("journal", "--json").output)
        assert [(e["amount"], e["actor"]) for e in journal if e["kind"] == "pay"][-1] == (
            "7.00",
            login,
        )
        # The admin's work is refused her, and the refusal is in the audit log as hers.
        listing = olive("users", "list")
        assert listing.exit_code == 1, listing.output
        log = json.loads(ledger.grants("users", "audit", "--json").output)
        assert [(e["login"], e["kind"]) for e in log if e["kind"] == "refused"] == [
            (login, "refused")
        ]
    finally:
        _drop_roles(ledger.grants.url, [login])


def test_set_role_neither_hides_who_a_connection_is_nor_lends_another(
    ledger: Ledger, admin: Connection, recipient: Engine
) -> None:
    """Who a connection is, as the ledger signs it in, is the login PostgreSQL authenticated,
    as row security has it: a role set since changes neither."""
    with recipient.connect() as conn:
        conn.exec_driver_sql(f"SET ROLE {ledger.group}")
        with Session(bind=conn) as session:
            person = people.database_person(session)
        assert person is not None and person.login == ledger.login
        # Nor is the Core path's sign-in (the operating-system login's person) theirs.
        assert sign_in.os_login_actor(conn, OFFICER) is None
    # The owner connecting as itself acts as the person it signs in as, as before.
    owner = create_engine(_as(ledger.grants.url.replace("postgres@", f"{ledger.owner}@", 1)))
    with owner.connect() as conn, Session(bind=conn) as session:
        assert people.database_person(session) is None
        assert sign_in.os_login_actor(conn, OFFICER) is not None
    owner.dispose()
    # A superuser who sets its role to the recipient's login is still the superuser's
    # session (which row security shows none of the recipient's rows): no one's own login.
    admin.exec_driver_sql(f"SET ROLE {ledger.login}")
    with Session(bind=admin) as session:
        assert people.database_person(session) is None
    assert _all(admin, "SELECT id FROM line") == []
    # Nor, here, the operating-system login's person: row security hides every person.
    assert sign_in.os_login_actor(admin, OFFICER) is None
    admin.rollback()


def test_verify_notes_a_superuser_whatever_role_it_has_set(ledger: Ledger) -> None:
    """A superuser's connection with the working role set may return to its own rights at
    any moment, so it can still disable the guards: `grants verify` says so, as for the
    superuser itself; the working role's own login is not noted."""
    guards = "a superuser, who can disable the guards"
    for url in (ledger.grants.url, _with_role(ledger.grants.url, ledger.working)):
        found = Grants(url)("verify", "--json")
        assert found.exit_code == 0, found.output
        assert [n for n in json.loads(found.output)["notes"] if guards in n], url
    working = Grants(ledger.grants.url.replace("postgres@", f"{ledger.working}@", 1))
    found = working("verify", "--json")
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)["notes"] == []
