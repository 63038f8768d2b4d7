"""A balance read of a ledger of many lines keeps their codes, names and parents' codes packed
(grants.services.name_table), and each period's lines as asked for
(grants.services.balance_table.LinesIn): every figure, row, finding and chain must be exactly
what the same read makes holding them in a dictionary, on any ledger, changed behind its back
or not. Here the full ledger is "of many" (``COMPACT`` 0) and compared with itself read the
other way, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import date
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

from grants.config import os_login
from grants.db.engine import make_engine
from grants.errors import Tampered
from grants.periods import parse_period
from grants.services import access, name_table
from grants.services.balances import Balances
from grants.services.name_table import PackedNames, pack
from grants.services.reconcile import reconcile
from tests.conftest import Grants, add_person, officer
from tests.helpers import FUND, books
from tests.test_summary import as_os_login
from tests.test_tamper import attack, engine, ledger, unguard

__all__ = ["attack", "engine", "ledger"]  # the full ledger of tests/test_tamper.py, our own

DAYS = (None, date(2017, 10, 1), date(2018, 3, 31))
Y = parse_period("2017-18")


@pytest.fixture
def packs(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """What each packing of lines gave (a PackedNames, or None: out of the ordinary)."""
    made: list[Any] = []
    real = name_table.pack

    def noting(rows: Any) -> Any:
        made.append(real(rows))
        return made[-1]

    monkeypatch.setattr(name_table, "pack", noting)
    return made


def _packed(monkeypatch: pytest.MonkeyPatch, packed: bool) -> None:
    monkeypatch.setattr(name_table, "COMPACT", 0 if packed else 10**12)


def _reads(connection: Connection) -> list[Any]:
    """Every way a balance read answers, for every stream and for each, as of several days:
    its rows, each period's lines (in order, then again backwards: a period asked for again
    after others), each line's balances by code, its branches rolled up, its committed lines."""
    session = Session(bind=connection)
    streams = [s for (s,) in connection.execute(text("SELECT code FROM stream ORDER BY id"))]
    out: list[Any] = []
    for stream in (None, *streams):
        for day in DAYS:
            b = Balances(session, stream, as_of=day)
            keys = sorted(b.periods)
            out.append((stream, day, b.rows(), b.nested, b.by_line))
            out.append([b.lines_in[k] for k in keys] + [b.lines_in[k] for k in reversed(keys)])
            out.append([(k, b.rolled(*k)) for k in keys])
            out.append([list(b.lines_having(*k, role)) for k in keys
                        for role in ("committed", "allocated", "paid")])  # fmt: skip
            out.append([b.value(*k, metric, line) for k in keys for *_, line, _ in b.lines_in[k]
                        for metric in ("allocated", "paid", "unallocated")])  # fmt: skip
    return out


def _findings(connection: Connection) -> list[Any]:
    session = Session(bind=connection)
    access.bind(session, officer(session))
    found = []
    for today in (date(2017, 12, 31), date(2030, 1, 1)):
        findings = reconcile(session, today=today, whole=True)
        found.append([f.as_dict() for f in findings])
    return found


def both(connection: Connection, monkeypatch: pytest.MonkeyPatch, read: Any) -> Any:
    """What ``read`` makes of the ledger with its lines' names packed, asserted the same as
    with them in a dictionary."""
    _packed(monkeypatch, False)
    plain = read(connection)
    _packed(monkeypatch, True)
    packed = read(connection)
    assert packed == plain
    return packed


def test_every_read_of_balances_is_the_same_packed(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, packs: list[Any]
) -> None:
    both(attack, monkeypatch, _reads)
    assert packs and all(isinstance(p, PackedNames) for p in packs)
    b = Balances(Session(bind=attack))
    assert b.nested  # the ledger has lines beneath lines, and a line with commitments
    assert any(list(b.lines_having(*key, "committed")) for key in b.periods)
    for key in b.periods:
        for role in ("committed", "allocated", "paid", "reported"):
            having = [line for line in b.lines_in[key] if role in line[4]]
            assert list(b.lines_having(*key, role)) == having
        assert key in b.lines_in and b.lines_in.get(key) == b.lines_in[key]
    assert ("NONE", Y) not in b.lines_in and b.lines_in.get(("NONE", Y), "none") == "none"


def test_lines_are_packed_from_so_many_in_the_stream_read(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, packs: list[Any]
) -> None:
    """The lines of the stream read are counted, not every stream's: a stream of exactly
    ``COMPACT`` lines is packed, one of fewer is not, every stream's together are."""
    counts = dict(attack.execute(text(
        "SELECT s.code, COUNT(*) FROM line l JOIN stream s ON s.id = l.stream_id "
        "GROUP BY s.code ORDER BY COUNT(*) DESC")).all())  # fmt: skip
    (most, many), (fewer, few) = list(counts.items())[:2]
    assert many > few
    session = Session(bind=attack)
    monkeypatch.setattr(name_table, "COMPACT", many)
    assert isinstance(Balances(session, most).names, PackedNames)
    assert packs and Balances(session, fewer).names and len(packs) == 1  # a dictionary
    assert isinstance(Balances(session).names, PackedNames)
    monkeypatch.setattr(name_table, "COMPACT", many + 1)
    packs.clear()
    assert type(Balances(session, most).names) is dict and not packs


def test_an_account_of_no_line_stops_a_read_naming_it(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An account made to name a line the ledger does not have (behind its back, its key
    left alone): a read of every stream stops at once, naming the line (its figures would
    be left out of every line's, a line's paid and reported figures read as nought), and a
    read of the stream says that an account of it is for no line of its own. Either way."""
    unguard(attack, "account")
    if attack.dialect.name == "sqlite":
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back
    else:
        attack.exec_driver_sql("ALTER TABLE account DROP CONSTRAINT fk_account_line_id_line")
    attack.execute(text("UPDATE account SET line_id = 99999 WHERE key = :key"),
                   {"key": "PCC-CSF|2017|2017|PH|allocated"})  # fmt: skip
    for packed in (False, True):
        _packed(monkeypatch, packed)
        with pytest.raises(Tampered, match="an account is for line 99999, which the ledger"):
            Balances(Session(bind=attack))
        with pytest.raises(
            Tampered, match="an account of PCC-CSF is for a line PCC-CSF does not have"
        ):
            Balances(Session(bind=attack), "PCC-CSF")
        assert Balances(Session(bind=attack), "LGF3").rows()  # another stream's, as it was


def test_reconcile_finds_the_same_packed(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, packs: list[Any]
) -> None:
    found = both(attack, monkeypatch, _findings)
    assert packs and all(isinstance(p, PackedNames) for p in packs)
    assert "children vs parent" in {f["check"] for f in found[-1]}


def test_the_commands_answer_the_same_packed(
    ledger: str, monkeypatch: pytest.MonkeyPatch, packs: list[Any]
) -> None:
    """`grants balance`, `chain` and `reconcile`, as a finance officer runs them."""
    grants = Grants(ledger)
    commands = [("balance", "--json"), ("balance", "--stream", "PCC-CSF", "--json"),
                ("chain", "--json"), ("chain", "--as-of", "31/03/2018", "--json"),
                ("reconcile", "--json", "--whole", "--as-of", "31/03/2019")]  # fmt: skip
    outputs = {}
    for packed in (False, True):
        _packed(monkeypatch, packed)
        outputs[packed] = [(r.exit_code, json.loads(r.output)) for r in map(
            lambda c: grants(*c), commands)]  # fmt: skip
    assert outputs[True] == outputs[False]
    assert any(isinstance(p, PackedNames) for p in packs)


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE line SET name = CAST(name AS BLOB) WHERE code = 'CHERWELL'",
        "UPDATE line SET code = CAST(code AS BLOB) WHERE code = 'CHERWELL'",
        "UPDATE line SET parent_id = (SELECT MIN(id) FROM line) WHERE parent_id IS NULL "
        "AND id = (SELECT MAX(id) FROM line)",
        "UPDATE line SET code = '' WHERE id = (SELECT MIN(id) FROM line)",
    ],
    ids=["a name of bytes", "a code of bytes", "a line given a parent", "an empty code"],
)
def test_a_line_changed_behind_the_ledgers_back_reads_the_same(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, packs: list[Any], change: str
) -> None:
    """Whatever was done to a line, the two ways read it alike: packed where they can be,
    read into a dictionary where not."""
    if "BLOB" in change and attack.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps no bytes in a varchar")
    unguard(attack, "line")
    if attack.dialect.name == "sqlite":
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back
    attack.execute(text(change))
    both(attack, monkeypatch, _reads)
    assert packs
    if "BLOB" in change:  # the lines of its stream read into a dictionary, others packed
        assert None in packs and any(isinstance(p, PackedNames) for p in packs)
    else:
        assert all(isinstance(p, PackedNames) for p in packs)


# -- the packing itself, against the dictionary it stands for ---------------------------------

_TEXTS = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
_LINES = st.dictionaries(
    st.integers(1, 300),
    st.tuples(_TEXTS, _TEXTS, st.none() | _TEXTS.filter(bool)),
    max_size=60,
)
_ODD = [0, -1, 10**30, 3.0, 2.5, True, False, Decimal(4), Fraction(5), "3", b"3", None, (3,),
        Decimal("Infinity"), Decimal("-Infinity"), Decimal("NaN"), 10**400, float("nan"),
        float("inf")]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(lines=_LINES, probes=st.lists(st.integers(-5, 310), max_size=20))
def test_packed_names_answer_as_their_dictionary(
    lines: dict[int, tuple[str, str, str | None]], probes: list[int]
) -> None:
    packed = pack((i, *lines[i]) for i in sorted(lines))
    assert packed is not None
    assert len(packed) == len(lines) and list(packed) == sorted(lines)
    assert dict(packed) == lines and packed.keys() >= lines.keys()
    for key in [*lines, *probes, *_ODD]:
        assert (key in packed) == (key in lines)
        assert packed.get(key, "none") == lines.get(key, "none")
        if key in lines:
            assert packed[key] == lines[key]
        else:
            with pytest.raises(KeyError):
                packed[key]
    assert list(packed.each(sorted(lines))) == [lines[i] for i in sorted(lines)]
    odd = [key for key in (3.0, True) if int(key) in lines]  # as a dictionary finds them
    assert list(packed.each(odd)) == [lines[int(key)] for key in odd]
    assert list(packed.codes([*sorted(lines, reverse=True), *odd])) == [
        lines[int(key)][0] for key in [*sorted(lines, reverse=True), *odd]
    ]
    assert packed.nested() == any(p is not None for _, _, p in lines.values())
    missing = next(i for i in range(1, 400) if i not in lines)
    with pytest.raises(KeyError):
        list(packed.each([missing]))
    with pytest.raises(KeyError):
        list(packed.codes([*lines, missing]))
    with pytest.raises(TypeError):  # as a dictionary cannot hash it
        packed.get([3])


_HASHABLE = [key for key in _ODD if not isinstance(key, tuple | list)] + [(3,)]


@settings(max_examples=300, deadline=None)
@given(
    first=st.integers(-5, 40),
    size=st.integers(0, 30),
    gap=st.booleans(),
    asked=st.lists(st.integers(-10, 80) | st.sampled_from(_HASHABLE), max_size=12),
)
def test_packed_names_have_all_as_their_dictionary_has(
    first: int, size: int, gap: bool, asked: list[Any]
) -> None:
    """Ids one after another (found at once), or with a gap (each looked up)."""
    ids = [i + (7 if gap and i > first + size // 2 else 0) for i in range(first, first + size)]
    lines = {i: (f"C{i}", "", None) for i in ids}
    packed = pack((i, *lines[i]) for i in ids)
    assert packed is not None
    for wanted in (asked, [i for i in asked if i in lines], ids, ids[1:-1], []):
        held = {key: 0 for key in wanted}  # as a period's lines' balances hold them
        assert packed.has_all(held) == (lines.keys() >= held.keys()), wanted


@pytest.mark.parametrize(
    "rows",
    [
        [(1, "A", "a", None), (1, "B", "b", None)],  # an id twice
        [(2, "A", "a", None), (1, "B", "b", None)],  # not in order
        [(1.0, "A", "a", None)],  # an id not an integer
        [(True, "A", "a", None)],
        [(1, b"A", "a", None)],  # a code of bytes
        [(1, "A", None, None)],  # no name
        [(1, "A", "a", "")],  # a parent's code empty (an empty text stands for none)
        [(1, "A", "a", 7)],
        [(2**63, "A", "a", None)],  # beyond the array's integers
    ],
)
def test_lines_out_of_the_ordinary_are_not_packed(rows: list[tuple[Any, ...]]) -> None:
    assert pack(rows) is None


def test_ids_far_apart_are_found_by_search() -> None:
    lines = {1: ("A", "a", None), 10**12: ("B", "b", "A"), -7: ("C", "", None)}
    packed = pack((i, *lines[i]) for i in sorted(lines))
    assert packed is not None and dict(packed) == lines
    assert packed[10**12] == ("B", "b", "A") and 10**12 - 1 not in packed


def test_the_checks_that_read_lines_find_the_same_packed(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, packs: list[Any]
) -> None:
    """A ledger where every check that reads lines finds something: a common rate (three
    lines cut by 5 %, one by more), a line paid beyond its commitment, a line not passed on
    in full to the line beneath it."""
    from tests.test_published_figures import BOOKS, PRINTED

    more = (
        '2017-04-01 line CSF E "Line E"\n  parent: A\n'
        "2017-04-02 allocate CSF 2017-18 E 10,000\n"
        "2017-06-01 commit CSF 2017-18 B 50,000\n  agreement: GA-B\n  from: 2017-06-01\n"
        "  to: 2018-03-31\n"
        "2017-07-01 pay CSF 2017-18 B 60,000\n"
    )
    loaded = grants("ledger", "load", str(books(tmp_path, BOOKS + more + PRINTED)))
    assert loaded.exit_code == 0, loaded.output
    found = {}
    for packed in (False, True):
        _packed(monkeypatch, packed)
        result = grants("reconcile", "--json", "--whole", "--as-of", "31/03/2018")
        found[packed] = (result.exit_code, json.loads(result.output))
    assert found[True] == found[False]
    checks = {f["check"] for f in found[True][1]["findings"]}
    assert {"children vs parent", "paid beyond committed", "common rate"} <= checks
    assert any(isinstance(p, PackedNames) for p in packs)


def test_the_lines_of_both_years_are_matched_by_code_and_parent() -> None:
    """The common rate check's lines of two years: by code, the last by id where a code is
    twice (behind the ledger's back), and only where the parent's code is the same."""
    b = Balances.__new__(Balances)
    later = parse_period("2018-19")
    b.names = {1: ("A", "a", None), 3: ("A", "a again", "B"), 4: ("C", "c", None),
               5: ("A", "a once more", "B"), 6: ("C", "c again", "X"), 7: ("D", "d", None),
               8: ("D", "d", None)}  # fmt: skip
    b.line_totals = {("S", Y): {1: 100, 3: 50, 4: 5, 7: (9, "paid", 1)},
                     ("S", later): {8: (11, "spent", 2), 6: 6, 5: 60}}  # fmt: skip
    b._named = False
    assert list(b.lines_of_both("S", Y, later)) == [("A", "B", 50, 60), ("D", None, 9, 11)]


# The fund's books without the lines beneath A: no line beneath another.
SMALL = FUND.partition('2017-04-01 line FUND A1 "Child A1"')[0] + (
    "2017-04-01 award FUND 2017-18 1000\n"
    "2017-04-02 allocate FUND 2017-18 A 400\n"
    "2017-04-02 allocate FUND 2017-18 B 400\n"
)


def _changed(grants: Grants, tmp_path: Path, *changes: str) -> None:
    """The small books loaded, then changed behind the ledger's back and committed (on
    SQLite with its own module, which checks no foreign key)."""
    loaded = grants("ledger", "load", str(books(tmp_path, SMALL)))
    assert loaded.exit_code == 0, loaded.output
    if grants.url.startswith("sqlite"):
        with closing(sqlite3.connect(grants.url.removeprefix("sqlite:///"))) as db, db:
            for table in ("account", "posting"):
                db.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            for change in changes:
                db.execute(change)
        return
    engine = make_engine(grants.url)
    try:
        with engine.begin() as connection:
            for table in ("account", "posting"):
                unguard(connection, table)
            connection.exec_driver_sql(
                "ALTER TABLE account DROP CONSTRAINT fk_account_line_id_line"
            )
            for change in changes:
                connection.exec_driver_sql(change)
    finally:
        engine.dispose()


_NO_LINE = (
    "Error: the ledger has been changed behind its back (an account is for line {}, which "
    "the ledger does not have): its figures cannot be read. Run `grants verify` to see what "
    "changed, and restore the ledger from a backup\n"
)


@pytest.mark.parametrize(
    "args",
    [("reconcile", "--json"), ("reconcile", "--year", "2017-18"), ("chain", "--json"),
     ("balance",), ("balance", "--summary")],
)  # fmt: skip
@pytest.mark.parametrize("packed", [False, True])
def test_an_account_of_a_line_of_no_name_stops_every_read_of_every_stream(
    grants: Grants,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    packed: bool,
) -> None:
    """A line of no name in a year of its own, in a ledger with no line beneath another:
    every command that reads every stream's balances stops, naming the line, whatever year
    it asks for (where it stopped with an unexpected failure, or showed the stream's
    figures), packed or not."""
    _changed(grants, tmp_path,
             "UPDATE account SET line_id = 999, first_year = 2020, last_year = 2020 "
             "WHERE role = 'allocated' AND line_id = 2")  # fmt: skip
    _packed(monkeypatch, packed)
    result = grants(*args)
    assert (result.exit_code, result.output) == (1, _NO_LINE.format(999))


def test_of_lines_of_no_name_the_least_is_named(grants: Grants, tmp_path: Path) -> None:
    """Of any period, whichever the database reads first: here 998 in the period of the
    first accounts (SQLite reads them in their order), 997 in another."""
    _changed(grants, tmp_path, "UPDATE account SET line_id = 998 WHERE id = 3",
             "UPDATE account SET line_id = 997, first_year = 2016, last_year = 2016 "
             "WHERE id = 4")  # fmt: skip
    for args in (("chain", "--json"), ("reconcile", "--json")):
        result = grants(*args)
        assert (result.exit_code, result.output) == (1, _NO_LINE.format(997)), args


@pytest.mark.parametrize("alone", [True, False])
@pytest.mark.parametrize("whose", ["line_id IS NOT NULL", "line_id IS NULL"])
def test_postings_of_no_amount_stop_a_read_naming_them(
    grants: Grants, tmp_path: Path, whose: str, alone: bool
) -> None:
    """A line's account, or a stream's own, summed to NULL (PostgreSQL, its NOT NULL
    dropped), in a year of its own or among its period's other accounts: every read stops,
    saying so (where it stopped with an unexpected failure, or passed it on to the checks;
    the summary, adding a period's lines' accounts together, lost one among others)."""
    if grants.url.startswith("sqlite"):
        pytest.skip("SQLite cannot drop a column's NOT NULL")
    account = f"(SELECT MIN(id) FROM account WHERE {whose})"
    moved = f"UPDATE account SET first_year = 2020, last_year = 2020 WHERE id = {account}"
    _changed(grants, tmp_path,
             "ALTER TABLE posting DROP CONSTRAINT ck_posting_amount_nonzero",
             "ALTER TABLE posting ALTER COLUMN amount_pence DROP NOT NULL",
             f"UPDATE posting SET amount_pence = NULL WHERE account_id = {account}",
             *([moved] if alone else []))  # fmt: skip
    refused = _NO_LINE.replace("an account is for line {}, which the ledger does not have",
                               "an account's postings add up to no amount")  # fmt: skip
    for args in (("reconcile", "--json"), ("balance",), ("balance", "--stream", "FUND")):
        result = grants(*args)
        assert (result.exit_code, result.output) == (1, refused), args
    # The summary of a person who sees every line, read through SQLAlchemy Core (summary).
    add_person(grants.url, os_login(), ["officer"])
    result = as_os_login(grants.url)("balance", "--summary")
    assert (result.exit_code, result.output) == (1, refused)
