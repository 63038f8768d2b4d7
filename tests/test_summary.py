"""`grants balance --summary` through SQLAlchemy Core (grants.services.summary) gives the
stream rows balances.balance_rows gives, and prints what the ORM's path prints; it is taken
only for the person of the operating-system login who sees every line and may read, and
everyone else is signed in, answered or refused exactly as before."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from grants.config import os_login
from grants.db.engine import make_engine, make_session_factory
from grants.periods import Period, parse_period
from grants.services import access, balances, people, sign_in, summary
from grants.services.figures import BalanceRow
from tests.benchmarks.synthetic import books_text, synthetic_books
from tests.conftest import OFFICER, Grants, add_person
from tests.full_ledger import build

YEARS = [None, "2017-18", "2014-15", "2018-19:2020-21", "2030-31"]


def orm_rows(engine: Engine, period: Period | None) -> list[tuple[object, ...]]:
    """The stream rows of `grants balance`, as the officer reads them through the ORM."""
    with make_session_factory(engine, read_only=True)() as session, session.begin():
        access.bind(session, people.actor_for(session, OFFICER, None))
        rows = balances.balance_rows(session, None, period)
    return [tuple(r) for r in rows if r.line is None]


def core_rows(engine: Engine, period: Period | None) -> list[tuple[object, ...]]:
    with engine.execution_options(grants_access="read").begin() as connection:
        return [tuple(r) for r in summary.summary_rows(connection, period)]


def same_rows(url: str) -> int:
    """Compare the two paths' rows for every year asked for; how many rows there were."""
    engine = make_engine(url)
    try:
        shown = 0
        for year in YEARS:
            period = parse_period(year) if year else None
            expected = orm_rows(engine, period)
            assert core_rows(engine, period) == expected, year
            shown += len(expected)
        return shown
    finally:
        engine.dispose()


def test_the_demo_ledger_reads_the_same(oxfordshire: Grants) -> None:
    assert same_rows(oxfordshire.url) > 9


def test_a_ledger_of_every_kind_of_record_reads_the_same(grants: Grants, tmp_path: Path) -> None:
    """Stated awards, claims and receipts, commitments, carry-forwards, reversals."""
    build(grants, tmp_path)
    assert same_rows(grants.url) > 9


def test_a_synthetic_ledger_reads_the_same(grants: Grants, tmp_path: Path) -> None:
    reference, entries = synthetic_books(1_500, streams=4, lines=6, years=5, seed=7)
    books = tmp_path / "synthetic.grants"
    books.write_text(books_text(reference, entries))
    result = grants("ledger", "load", str(books))
    assert result.exit_code == 0, result.output
    # Every stream's five years; 2017-18; 2014-15 (none); 2018-19 to 2020-21; 2030-31 (none).
    assert same_rows(grants.url) == 4 * 5 + 4 + 0 + 4 * 3 + 0


def as_os_login(url: str) -> Grants:
    """`grants` signed in as the operating-system login, as the demo is: no --user."""
    g = Grants(url)
    g.env = {"GRANTS_USER": None, "GRANTS_PASSWORD": None, "GRANTS_ACTOR": None}
    return g


@pytest.fixture
def core_calls(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times the Core path read the rows."""
    calls: list[int] = []
    read = summary.summary_rows

    def counted(*args: object, **kwargs: object) -> list[BalanceRow]:
        calls.append(1)
        return read(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(summary, "summary_rows", counted)
    return calls


@pytest.mark.parametrize("args", [[], ["--json"], ["--year", "2017-18"], ["--year", "2030-31"]])
def test_the_summary_prints_what_it_printed(
    oxfordshire: Grants, core_calls: list[int], args: list[str]
) -> None:
    add_person(oxfordshire.url, os_login(), ["officer"])
    orm = oxfordshire("balance", "--summary", *args)  # signed in with a password: a session
    assert core_calls == []
    core = as_os_login(oxfordshire.url)("balance", "--summary", *args)
    assert core_calls == [1]
    assert (core.exit_code, core.output) == (orm.exit_code, orm.output) == (0, orm.output)
    if "--json" in args:
        assert len(json.loads(core.output)) == 9


def test_a_stream_is_read_through_a_session(oxfordshire: Grants, core_calls: list[int]) -> None:
    """--stream (any case, checked as the session's path checks it) is not the Core's."""
    add_person(oxfordshire.url, os_login(), ["officer"])
    result = as_os_login(oxfordshire.url)("balance", "--summary", "--stream", "pcc-csf")
    assert result.exit_code == 0 and "PCC-CSF 2017-18" in result.output
    assert core_calls == []


def audit(url: str) -> list[str]:
    result = Grants(url)("users", "audit", "--json")
    assert result.exit_code == 0, result.output
    return [f"{e['kind']} {e['action']}" for e in json.loads(result.output)]


@pytest.mark.parametrize(
    ("roles", "core"),
    [(["viewer"], True), (["admin"], True), (["officer", "admin"], True), ([], False)],
)
def test_who_may_read_is_as_before(
    oxfordshire: Grants, core_calls: list[int], roles: list[str], core: bool
) -> None:
    """Everyone who may read sees the same summary; a person with no role is refused, with
    the refusal in the audit log, as the session's path refuses them."""
    add_person(oxfordshire.url, os_login(), roles)
    before = audit(oxfordshire.url)
    result = as_os_login(oxfordshire.url)("balance", "--summary")
    assert core_calls == ([1] if core else [])
    if core:
        assert result.exit_code == 0
        assert result.output == oxfordshire("balance", "--summary").output
        assert audit(oxfordshire.url)[len(before) :] == []
    else:
        assert result.exit_code == 1
        assert f"{os_login()} has no role, so may not read balances" in result.output
        assert audit(oxfordshire.url)[len(before) :] == ["refused read"]


def test_a_recipient_sees_only_their_own_lines(oxfordshire: Grants, core_calls: list[int]) -> None:
    """A recipient's summary is made from their own lines: the session's path."""
    add_person(oxfordshire.url, os_login(), ["recipient"], organisations=["CHERWELL-CSP"])
    add_person(oxfordshire.url, "cher", ["recipient"], organisations=["CHERWELL-CSP"])
    mine = as_os_login(oxfordshire.url)("balance", "--summary")
    assert core_calls == []
    assert mine.exit_code == 0
    assert mine.output == oxfordshire.as_user("cher")("balance", "--summary").output
    assert "CAPITAL" not in mine.output


def test_no_person_of_that_login_is_refused(oxfordshire: Grants, core_calls: list[int]) -> None:
    before = audit(oxfordshire.url)
    result = as_os_login(oxfordshire.url)("balance", "--summary")
    assert result.exit_code == 1 and core_calls == []
    assert "in this ledger: ask an admin to add you" in result.output
    assert audit(oxfordshire.url)[len(before) :] == ["login_failed sign in"]


def test_a_disabled_person_is_refused(oxfordshire: Grants, core_calls: list[int]) -> None:
    add_person(oxfordshire.url, os_login(), ["officer"])
    assert oxfordshire("users", "disable", os_login()).exit_code == 0
    result = as_os_login(oxfordshire.url)("balance", "--summary")
    assert result.exit_code == 1 and core_calls == []
    assert f"{os_login()} is disabled: ask an admin" in result.output


def test_an_actor_who_is_someone_else_is_refused(
    oxfordshire: Grants, core_calls: list[int]
) -> None:
    add_person(oxfordshire.url, os_login(), ["officer"])
    g = as_os_login(oxfordshire.url)
    result = g("--actor", OFFICER, "balance", "--summary")
    assert result.exit_code == 1 and core_calls == []
    assert f"--actor '{OFFICER}' is not who is signed in" in result.output
    named = g("--actor", os_login().upper(), "balance", "--summary")  # themselves, any case
    assert named.exit_code == 0 and core_calls == [1]


def test_signing_in_reads_the_person_as_people_does(oxfordshire: Grants) -> None:
    """The Core's reading of a person is people.actor_for's, whatever their events."""
    url = oxfordshire.url
    add_person(url, "rec", ["recipient"], organisations=["CHERWELL-CSP", "OXFORD-CITY-CSP"])
    revoked = oxfordshire(
        "users", "revoke", "rec", "--role", "recipient", "--org", "OXFORD-CITY-CSP"
    )
    assert revoked.exit_code == 0, revoked.output
    add_person(url, "gone", ["officer"])
    assert oxfordshire("users", "disable", "gone").exit_code == 0
    add_person(url, "back", ["viewer", "officer"])
    for args in (("disable", "back"), ("enable", "back"), ("revoke", "back", "--role", "officer")):
        assert oxfordshire("users", *args).exit_code == 0
    engine = make_engine(url)
    try:
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            connection = session.connection()
            for login in (OFFICER, "OFFICER", "rec", "back"):
                expected = people.actor_for(session, login, None)
                assert sign_in.os_login_actor(connection, login) == expected
            assert sign_in.os_login_actor(connection, "rec").organisation_codes == {"CHERWELL-CSP"}
            for login in ("gone", "nobody", "two words", ""):
                assert sign_in.os_login_actor(connection, login) is None
    finally:
        engine.dispose()


def test_an_empty_ledger_says_so(grants: Grants, core_calls: list[int]) -> None:
    add_person(grants.url, os_login(), ["officer"])
    core = as_os_login(grants.url)("balance", "--summary")
    assert core_calls == [1]
    assert (core.exit_code, core.output) == (0, grants("balance", "--summary").output)
    assert core.output == "nothing recorded yet\n"
