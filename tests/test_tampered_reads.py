"""Reads of a ledger changed behind its back, with direct SQL, on SQLite and PostgreSQL: no
command shows a traceback, and what the ledger cannot tell apart from its own records is
named as a change for `grants verify` to find.

tests/test_tamper.py attacks every record and checks that verify names it; these check what
the other commands do with the same ledger meanwhile.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Connection, text

from grants.config import os_login
from grants.db.engine import make_engine
from grants.db.records import RECORDS
from grants.errors import Tampered, not_in_ledger
from grants.services.balances import Balances
from grants.services.verify import verify
from tests.conftest import Grants, add_person
from tests.helpers import books
from tests.test_summary import as_os_login


def _tamper(url: str, table: str, sql: str, **params: object) -> None:
    """What an attacker does: take the guard off ``table`` and change it, committed."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


def _one(url: str, sql: str) -> object:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


# An allocation to PCC-CSF's Public Health line in 2017-18, and an account of another
# stream's line.
_POSTING = (
    "SELECT p.id FROM posting p JOIN account a ON a.id = p.account_id "
    "WHERE a.key = 'PCC-CSF|2017|2017|PH|allocated' ORDER BY p.id LIMIT 1"
)
_OTHER = (
    "SELECT a.id FROM account a JOIN stream s ON s.id = a.stream_id "
    "WHERE s.code <> 'PCC-CSF' AND a.line_id IS NOT NULL ORDER BY a.id LIMIT 1"
)
_REFUSED = (
    "Error: the ledger has been changed behind its back ({}): its figures cannot be read. Run "
    "`grants verify` to see what changed, and restore the ledger from a backup\n"
)


def _verify_names_it(g: Grants) -> None:
    found = g("verify")
    assert found.exit_code == 1
    # (on PostgreSQL after a note that the test connects as a superuser)
    assert "\nthe record is broken: the first broken record is " in "\n" + found.output


def test_a_posting_moved_to_another_streams_line_stops_a_read_as_of_a_day(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """An entry of PCC-CSF whose posting is moved to an account of another stream's line:
    every read of PCC-CSF as of a day (the stream's entries) says so and stops, where it
    stopped with an unexpected KeyError."""
    g = oxfordshire
    posting, other = _one(g.url, _POSTING), _one(g.url, _OTHER)
    other_stream = _one(g.url, f"SELECT s.code FROM stream s JOIN account a ON a.stream_id = "
                               f"s.id WHERE a.id = {other}")  # fmt: skip
    _tamper(
        g.url, "posting", "UPDATE posting SET account_id = :a WHERE id = :p", a=other, p=posting
    )
    refused = _REFUSED.format(f"an entry of PCC-CSF posts to an account of {other_stream}")
    for command in (
        ("chain", "--stream", "PCC-CSF", "--as-of", "2018-01-01"),
        ("reconcile", "--stream", "PCC-CSF", "--as-of", "2018-01-01"),
        ("report", "all", "--as-of", "2018-01-01", "-o", str(tmp_path / "out")),
    ):
        result = g(*command)
        assert (result.exit_code, result.output) == (1, refused), command
    # Reads that take every stream read the posting where it is, as before.
    assert g("chain", "--as-of", "2018-01-01").exit_code == 0
    assert g("balance").exit_code == 0
    _verify_names_it(g)
    engine = make_engine(g.url)
    try:
        from grants.db.engine import make_session_factory

        with make_session_factory(engine, read_only=True)() as session, session.begin():
            with pytest.raises(Tampered, match="an entry of PCC-CSF posts to an account of"):
                Balances(session, "PCC-CSF", as_of=date(2018, 1, 1))
            assert Balances(session, as_of=date(2018, 1, 1)).rows()
    finally:
        engine.dispose()


def test_an_account_moved_to_another_streams_line_stops_a_read_of_its_stream(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """An account of PCC-CSF made to name a line of another stream: a read of PCC-CSF, as
    of a day or not, says so and stops (the 360Giving export, which reads the stream's lines
    a few at a time, included)."""
    g = oxfordshire
    line = _one(g.url, "SELECT MIN(l.id) FROM line l JOIN stream s ON s.id = l.stream_id "
                       "WHERE s.code <> 'PCC-CSF'")  # fmt: skip
    _tamper(g.url, "account", "UPDATE account SET line_id = :l "
            "WHERE key = 'PCC-CSF|2017|2017|PH|allocated'", l=line)  # fmt: skip
    refused = _REFUSED.format("an account of PCC-CSF is for a line PCC-CSF does not have")
    for command in (
        ("balance", "--stream", "PCC-CSF"),
        ("chain", "--stream", "PCC-CSF", "--as-of", "2018-01-01"),
        ("reconcile", "--stream", "PCC-CSF"),
        ("export", "360giving", "--stream", "PCC-CSF", "-o", str(tmp_path / "g.json")),
    ):
        result = g(*command)
        assert (result.exit_code, result.output) == (1, refused), command
    assert not (tmp_path / "g.json").exists()
    _verify_names_it(g)


@pytest.mark.parametrize(
    ("table", "which", "what"),
    [
        ("account", "key LIKE 'PCC-CSF|%|PH|%'", "an account"),
        ("account", "key LIKE 'PCC-CSF|2017|2017||%'", "an account"),
        ("statement", "kind = 'stated'", "a statement"),
    ],
)  # fmt: skip
def test_a_stream_the_ledger_lacks_stops_every_read_of_every_stream(
    oxfordshire: Grants, table: str, which: str, what: str
) -> None:
    """Accounts (a line's or a stream's own) or stated awards made to name streams that are
    not there (their foreign key dropped; the first of them 999, the others 998): every
    command that reads every stream's balances stops, naming the least such stream, where it
    stopped with an unexpected KeyError (or, for a statement, the summary left it out); a
    read of one stream does not read it."""
    g = oxfordshire
    changes = (
        f"UPDATE {table} SET stream_id = 998 WHERE {which}",
        f"UPDATE {table} SET stream_id = 999 WHERE id = (SELECT MIN(id) FROM {table} "
        f"WHERE stream_id = 998)",
    )
    if g.url.startswith("sqlite:///"):  # with sqlite3, which checks no foreign key
        with closing(sqlite3.connect(g.url.removeprefix("sqlite:///"))) as db, db:
            db.execute(f"DROP TRIGGER {table}_no_update")
            assert db.execute(changes[0]).rowcount >= 2
            db.execute(changes[1])
    else:
        engine = make_engine(g.url)
        try:
            with engine.begin() as conn:
                _unguard(conn, table)
                conn.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT "
                                     f"fk_{table}_stream_id_stream")  # fmt: skip
                assert conn.execute(text(changes[0])).rowcount >= 2
                conn.execute(text(changes[1]))
        finally:
            engine.dispose()
    refused = _REFUSED.format(f"{what} is for stream 998, which the ledger does not have")
    for command in (("balance",), ("balance", "--json"), ("chain",), ("reconcile",)):
        result = g(*command)
        assert (result.exit_code, result.output) == (1, refused), command
    # The summary of a person who sees every line, read through SQLAlchemy Core (summary).
    add_person(g.url, os_login(), ["officer"])
    result = as_os_login(g.url)("balance", "--summary")
    assert (result.exit_code, result.output) == (1, refused)
    assert g("balance", "--stream", "CAPITAL").exit_code == 0
    _verify_names_it(g)


_ODD = _REFUSED.format("an account's stream or years are not ones the ledger writes")


@pytest.mark.parametrize(
    ("column", "value"),
    [("stream_id", "1.9"), ("stream_id", "'1x'"), ("stream_id", "'abc'"),
     ("stream_id", "9223372036854775807"), ("stream_id", "NULL"),
     ("first_year", "2018.5"), ("first_year", "'2018x'"), ("last_year", "10000"),
     ("last_year", "NULL")],
)  # fmt: skip
def test_an_account_of_no_whole_stream_or_year_stops_a_read_of_every_stream(
    oxfordshire: Grants, column: str, value: str
) -> None:
    """An account's stream or year made something the ledger never writes: SQLite keeps a
    fraction or text as given (a stream id of 1.9 or '1x' was read as stream 1's, its line's
    allocation shown under another stream); PostgreSQL, NOT NULL dropped, keeps a NULL; a
    year of five digits has no span. Every read of every stream stops, saying so (where it
    showed the figures moved, stopped with "an account's year is outside the years this
    ledger handles", or failed)."""
    g = oxfordshire
    sqlite = g.url.startswith("sqlite:///")
    if sqlite == (value == "NULL") and value != "10000":
        pytest.skip("SQLite cannot drop a NOT NULL; PostgreSQL's columns keep whole numbers")
    _accounts_changed(g, column, f"UPDATE account SET {column} = {value} WHERE key = "
                      "'CAPITAL|2018|2027|BASIC-NEED|allocated'")  # fmt: skip
    _refused_by_every_read(g, _ODD, (("balance",), ("chain", "--json"), ("reconcile",)))


def test_an_account_of_a_year_of_a_fraction_is_not_read_as_another_years(
    oxfordshire: Grants,
) -> None:
    """PCC-CSF's 2016-17 funder account given years of 2013.5 and 7014 (SQLite keeps both):
    made into one number, they are 2014-15's exactly, and a read took the account for
    2014-15's, the award moved from one year to the other without a word. Every read stops,
    the one of 2014-15 alone included."""
    g = oxfordshire
    if not g.url.startswith("sqlite:///"):
        pytest.skip("PostgreSQL's years are whole numbers")
    _accounts_changed(g, "first_year", "UPDATE account SET first_year = 2013.5, "
                      "last_year = 7014 WHERE key = 'PCC-CSF|2016|2016||funder'")  # fmt: skip
    _refused_by_every_read(
        g, _ODD, (("balance",), ("balance", "--year", "2014-15"), ("chain", "--json"))
    )


@pytest.mark.parametrize("value", ["'abc'", "2017.5", "NULL"])
def test_a_stated_award_of_no_whole_years_stops_a_read(oxfordshire: Grants, value: str) -> None:
    """A stated award's first year made text or a fraction (SQLite) or NULL (PostgreSQL, NOT
    NULL dropped): the reads through the ORM, of one stream or every one, and the summary
    through Core stop, saying so (where text stopped them with an unexpected TypeError)."""
    g = oxfordshire
    sqlite = g.url.startswith("sqlite:///")
    if sqlite == (value == "NULL"):
        pytest.skip("SQLite cannot drop a NOT NULL; PostgreSQL's columns keep whole numbers")
    change = (f"UPDATE statement SET first_year = {value} WHERE id = "
              "(SELECT MIN(id) FROM statement WHERE kind = 'stated')")  # fmt: skip
    engine = make_engine(g.url)
    try:
        with engine.begin() as conn:
            _unguard(conn, "statement")
            if not sqlite:
                conn.exec_driver_sql("ALTER TABLE statement ALTER COLUMN first_year DROP NOT NULL")
            assert conn.exec_driver_sql(change).rowcount == 1
    finally:
        engine.dispose()
    refused = _REFUSED.format("a stated award's years are not ones the ledger writes")
    _refused_by_every_read(g, refused, (("balance",), ("balance", "--stream", "PCC-CSF")))


def test_a_name_that_is_not_utf8_stops_a_read(oxfordshire: Grants) -> None:
    """A line's name made bytes that are not UTF-8 (SQLite keeps what it is given; the
    ledger writes UTF-8 only): the reads of every stream stop, saying the ledger was changed
    behind its back (where they said "unexpected failure (OperationalError: Could not
    decode ...)")."""
    g = oxfordshire
    if not g.url.startswith("sqlite:///"):
        pytest.skip("PostgreSQL keeps only text of its encoding")
    with closing(sqlite3.connect(g.url.removeprefix("sqlite:///"))) as db, db:
        db.execute("DROP TRIGGER line_no_update")
        db.execute("UPDATE line SET name = CAST(x'ff41' AS TEXT) WHERE code = 'PH'")
    refused = _REFUSED.format("a text it holds is not UTF-8")
    for command in (("balance",), ("chain", "--json"), ("reconcile",)):
        result = g(*command)
        assert (result.exit_code, result.output) == (1, refused), command


def test_a_sum_beyond_what_the_database_holds_is_a_database_error(
    oxfordshire: Grants,
) -> None:
    """An account's postings set to amounts that sum beyond a BIGINT: each read says the
    database could not make the sum, as any database error is told (the read of every
    account's balance said "unexpected failure")."""
    g = oxfordshire
    engine = make_engine(g.url)
    try:
        with engine.begin() as conn:
            _unguard(conn, "posting")
            account = conn.execute(text(
                "SELECT account_id FROM posting GROUP BY account_id HAVING COUNT(*) >= 2 "
                "ORDER BY account_id LIMIT 1"
            )).scalar_one()  # fmt: skip
            conn.execute(text(f"UPDATE posting SET amount_pence = {2**62} "
                              "WHERE account_id = :a"), {"a": account})  # fmt: skip
    finally:
        engine.dispose()
    add_person(g.url, os_login(), ["officer"])
    for result in (g("balance"), g("chain"), as_os_login(g.url)("balance", "--summary")):
        assert result.exit_code == 1
        assert result.output.startswith("Error: database error: "), result.output
        assert result.output.count("\n") == 1


def test_an_account_of_no_whole_stream_is_named_before_a_missing_stream(
    oxfordshire: Grants,
) -> None:
    """Both at once, the first account's stream missing and a later one's not a whole
    number: the read through the ORM and the summary through Core name the same."""
    g = oxfordshire
    odd = "'1x'" if g.url.startswith("sqlite:///") else "NULL"
    _accounts_changed(
        g, "stream_id",
        "UPDATE account SET stream_id = 0 WHERE key = 'PCC-CSF|2017|2017|PH|allocated'",
        f"UPDATE account SET stream_id = {odd} WHERE key = "
        "'CAPITAL|2018|2027|BASIC-NEED|allocated'",
    )  # fmt: skip
    assert (g("balance").exit_code, g("balance").output) == (1, _ODD)
    add_person(g.url, os_login(), ["officer"])
    result = as_os_login(g.url)("balance", "--summary")
    assert (result.exit_code, result.output) == (1, _ODD)


def _refused_by_every_read(g: Grants, refused: str, commands: tuple[tuple[str, ...], ...]) -> None:
    """Each of ``commands``, and the summary of a person who sees every line (read through
    SQLAlchemy Core), stops with ``refused``."""
    for command in commands:
        result = g(*command)
        assert (result.exit_code, result.output) == (1, refused), command
    add_person(g.url, os_login(), ["officer"])
    result = as_os_login(g.url)("balance", "--summary")
    assert (result.exit_code, result.output) == (1, refused)


def _accounts_changed(g: Grants, column: str, *changes: str) -> None:
    """The accounts changed behind the ledger's back, each change one account's: on SQLite
    with its own module (which checks no foreign key), on PostgreSQL with ``column``'s NOT
    NULL and foreign key to the stream dropped."""
    if g.url.startswith("sqlite:///"):
        with closing(sqlite3.connect(g.url.removeprefix("sqlite:///"))) as db, db:
            db.execute("DROP TRIGGER account_no_update")
            for change in changes:
                assert db.execute(change).rowcount == 1
        return
    engine = make_engine(g.url)
    try:
        with engine.begin() as conn:
            _unguard(conn, "account")
            conn.exec_driver_sql(f"ALTER TABLE account ALTER COLUMN {column} DROP NOT NULL")
            conn.exec_driver_sql("ALTER TABLE account DROP CONSTRAINT fk_account_stream_id_stream")
            for change in changes:
                assert conn.exec_driver_sql(change).rowcount == 1
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("ids", "named"),
    [([3, 1, 2], "1"), ([None, "abc", 7, 3.5], "3.5"), (["b", None, "a"], "'a'"),
     ([float("nan"), Decimal("sNaN"), 10**30, Decimal("-Infinity")], "Decimal('-Infinity')"),
     ([b"x", float("nan")], "b'x'")],
)  # fmt: skip
def test_the_least_of_any_ids_is_named(ids: list[object], named: str) -> None:
    """Numbers first by value, then the rest by their repr: one answer whatever the ids'
    order or types (a sort that fails part way could leave any of them first)."""
    for order in (ids, ids[::-1]):
        message = str(not_in_ledger("an account", "line", order))
        assert f"(an account is for line {named}, which the ledger does not have)" in message


# -- NULL and '' ------------------------------------------------------------------------


def test_a_source_changed_between_none_and_empty_is_named_by_verify(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """The ledger writes both: no source (a command's entry, `--source ""` included) as
    NULL, a books record's `source: ""` as ''. Each is its own canonical text, so a change
    from one to the other, in any sealed table that has a source, changes the record's
    digest and verify names the record."""
    g = oxfordshire
    assert g("pay", "PCC-CSF", "2017-18", "DA", "1", "--date", "2017-08-01",
             "--source", "").exit_code == 0  # fmt: skip
    awkward = books(tmp_path, '2017-04-01 org AWKWARD "Awkward Ltd"\n  source: ""\n')
    assert g("ledger", "load", str(awkward)).exit_code == 0
    engine = make_engine(g.url)
    tried = 0
    try:
        with engine.connect() as conn:
            for record in RECORDS:
                if "source" not in record.columns:
                    continue
                for now, then in (("IS NULL", "''"), ("= ''", "NULL")):
                    row = conn.execute(text(
                        f"SELECT MAX(id) FROM {record.table} WHERE source {now}"
                    )).scalar_one()  # fmt: skip
                    if row is None:
                        continue
                    tried += 1
                    conn.begin_nested()
                    _unguard(conn, record.table)
                    conn.exec_driver_sql(
                        f"UPDATE {record.table} SET source = {then} WHERE id = {int(row)}"
                    )
                    named = [(p.table, p.row_id) for p in verify(conn).problems
                             if p.check != "guard"]  # fmt: skip
                    assert (record.table, row) in named, (record.table, now, named)
                    conn.rollback()  # the savepoint and the transaction: nothing kept
    finally:
        engine.dispose()
    assert tried >= 3  # an entry's NULL, an organisation's NULL and ''


def _unguard(conn: Connection, table: str) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
    else:
        conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER USER")


@pytest.mark.parametrize(
    ("change", "found"),
    [
        ("UPDATE line SET recipient_id = 99999 WHERE code = 'CHERWELL'",
         "the recipient of PCC-CSF's line CHERWELL is not an organisation of the ledger"),
        ("UPDATE stream SET funder_id = 99999, accountable_id = NULL WHERE code = 'PCC-CSF'",
         "a stream names an organisation the ledger lacks"),
    ],
)  # fmt: skip
def test_an_organisation_the_ledger_lacks_stops_the_360giving_export(
    oxfordshire: Grants, tmp_path: Path, change: str, found: str
) -> None:
    """A line's recipient or a stream's funder made an organisation that is not there (only
    SQLite lets foreign keys be turned off): the export says so and writes nothing, where it
    published the line as one with no recipient, or stopped with an unexpected failure."""
    g = oxfordshire
    if not g.url.startswith("sqlite:///"):
        pytest.skip("PostgreSQL's foreign keys refuse the change, whoever makes it")
    table = change.split()[1]
    connection = sqlite3.connect(g.url.removeprefix("sqlite:///"))
    try:
        connection.execute("PRAGMA foreign_keys = OFF")
        connection.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
        connection.execute(change)
        connection.commit()
    finally:
        connection.close()
    target = tmp_path / "g.json"
    result = g("export", "360giving", "--stream", "PCC-CSF", "-o", str(target))
    assert (result.exit_code, result.output) == (1, _REFUSED.format(found))
    assert not target.exists()
