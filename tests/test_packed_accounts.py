"""`grants verify` of a ledger of many accounts and lines holds them packed, and their
balances in arrays (grants.services.account_table, grants.services.line_table): it must find
exactly what it finds holding each account as a tuple, each line in dictionaries and the
balances in a dictionary, on any ledger, changed behind its back or not. Here every ledger
is "of many" (``COMPACT`` 0) and compared with the same ledger held the other way, on SQLite
and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

from grants.db import seal
from grants.db.seal import held_accounts
from grants.services import (
    account_table,
    entry_checks,
    line_table,
    record_checks,
    walk_balances,
)
from grants.services.account_table import Balances, PackedAccounts
from grants.services.line_table import PackedLines
from grants.services.seen_contents import ContentCounts
from grants.services.verification import Verification
from grants.services.verify import verify
from tests.test_tamper import (
    attack,
    change_a_column,
    engine,
    forget_shapes,
    ledger,
    one,
    unguard,
)

__all__ = ["attack", "engine", "ledger"]  # the full ledger of tests/test_tamper.py, our own

TABLES = ["account", "posting", "line", "stream", "entry"]


def both(connection: Connection, monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], bool]:
    """What verify finds with the accounts and lines packed where it can, against held as
    tuples and dictionaries: the same problems, in the same order; and whether the accounts
    were packed. Then with the lines packed and the accounts not: the same again."""
    held: list[tuple[type, type]] = []
    made = record_checks.RecordChecks.__init__

    def noting(checks: record_checks.RecordChecks, *args: Any, **kw: Any) -> None:
        made(checks, *args, **kw)
        held.append((type(checks.accounts), type(checks.packed_lines)))

    monkeypatch.setattr(record_checks.RecordChecks, "__init__", noting)
    pack(monkeypatch, lines=True, accounts=True)
    packed = [str(p) for p in verify(connection).problems]
    pack(monkeypatch, lines=False, accounts=False)
    whole = [str(p) for p in verify(connection).problems]
    assert held[-1] == (dict, type(None))
    assert packed == whole
    pack(monkeypatch, lines=True, accounts=False)
    assert [str(p) for p in verify(connection).problems] == whole
    assert held[-1][0] is dict
    return packed, held[0][0] is PackedAccounts


def pack(monkeypatch: pytest.MonkeyPatch, lines: bool, accounts: bool) -> None:
    """Pack the lines, the accounts, as for a ledger of many (or never)."""
    monkeypatch.setattr(line_table, "COMPACT", 0 if lines else 10**12)
    monkeypatch.setattr(account_table, "COMPACT", 0 if accounts else 10**12)


def test_an_untouched_ledger_is_held_packed_and_found_whole(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[Any] = []
    read = line_table.read
    monkeypatch.setattr(line_table, "read", lambda *a: lines.append(read(*a)) or lines[-1])
    problems, packed = both(attack, monkeypatch)
    assert problems == [] and packed and isinstance(lines[0], PackedLines)


def test_each_line_reads_back_as_held(attack: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every line's code and stream by its id, and its id by its stream and code, as the
    dictionaries give them; nothing for ids, streams and codes of no line."""
    pack(monkeypatch, lines=True, accounts=False)
    checks = record_checks.RecordChecks(attack, Verification(seal.Head(0, seal.GENESIS)))
    lines = checks.packed_lines
    assert isinstance(lines, PackedLines)
    pack(monkeypatch, lines=False, accounts=False)
    held = record_checks.RecordChecks(attack, Verification(seal.Head(0, seal.GENESIS)))
    assert lines.codes is checks.line_code and lines.streams is checks.line_stream
    assert dict(checks.line_code.items()) == held.line_code
    assert dict(checks.line_stream.items()) == held.line_stream
    assert len(checks.line_code) == len(held.line_code) == lines.count > 3
    assert checks.line_parent == held.line_parent and held.line_parent
    by_both = {(held.line_stream[i], code): i for i, code in held.line_code.items()}
    streams = set(held.streams.values())
    assert len(streams) > 1
    for line_id, code in held.line_code.items():
        stream = held.line_stream[line_id]
        assert lines.id_of(stream, code) == line_id
        for other in streams:  # the code in every stream: the line of that stream, if any
            assert lines.id_of(other, code) == by_both.get((other, code))
        assert checks.line_code.get(float(line_id)) == code
        for other in ((stream, code + "x"), (stream, code[:-1]), ("X" + str(stream), code),
                      (None, code), (stream, None)):  # fmt: skip
            assert lines.id_of(*other) is None  # type: ignore[arg-type]
    for nothing in (0, -1, max(held.line_code) + 1, "1", None, 1.5, float("nan"), 2**80):
        assert checks.line_code.get(nothing, "?") == "?" and nothing not in checks.line_code
        assert checks.line_stream.get(nothing) is None
        with pytest.raises(KeyError):
            checks.line_code[nothing]
    assert checks.line_code.get(True) == held.line_code.get(True)
    assert checks.line_stream.get(True) == held.line_stream.get(True)


def test_each_account_reads_back_as_held(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every account by id and by its key's text, as ``held_accounts`` gives them, and
    nothing for ids or texts of no account."""
    monkeypatch.setattr(account_table, "COMPACT", 0)
    checks = record_checks.RecordChecks(attack, Verification(seal.Head(0, seal.GENESIS)))
    packed = checks.accounts
    assert isinstance(packed, PackedAccounts)
    held = held_accounts(attack)
    assert len(packed) == len(held) and list(packed) == sorted(held)
    lines = 0
    for account_id, row in held.items():
        assert packed.get(account_id) == row
        assert packed.columns(account_id)[1:] == row[1:]  # type: ignore[index]
        assert packed.ids.get(row[0], 0) == account_id
        lines += row[4] is not None
        for other in (row[0] + "x", row[0].replace("|20", "|19", 1), "|" + row[0]):
            assert packed.ids.get(other, 0) == 0
    assert lines and lines < len(held)  # of lines and of none
    for nothing in (0, -1, max(held) + 1, "1", None, 1.5, float("nan"), float("inf")):
        assert packed.get(nothing) is None and nothing not in packed
    for account_id in held:  # as a dictionary finds them: 3.0 is 3
        assert packed.get(float(account_id)) == held[account_id]
        assert packed.columns(float(account_id)) == packed.columns(account_id)
    assert packed.get(True) == held.get(True)


ATTACKS = {
    "a posting moved to another line's account": (
        "posting",
        "UPDATE posting SET account_id = (SELECT MAX(id) FROM account WHERE "
        "line_id IS NOT NULL) WHERE id = (SELECT MIN(id) FROM posting WHERE amount_pence > 0)",
    ),
    "a posting to no account": (
        "posting",
        "UPDATE posting SET account_id = 987654321 WHERE id = 3",
    ),
    "a posting beyond 64 bits": (
        "posting",
        "UPDATE posting SET amount_pence = 9000000000000000000 WHERE account_id = "
        "(SELECT account_id FROM posting GROUP BY account_id HAVING COUNT(*) > 1 LIMIT 1)",
    ),
    "an account's key": ("account", "UPDATE account SET key = key || 'x' WHERE id = 5"),
    "an account's role, and its key to match": (
        "account",
        "UPDATE account SET role = 'spent', key = "
        "substr(key, 1, length(key) - length(role)) || 'spent' WHERE id = "
        "(SELECT MIN(id) FROM account WHERE role = 'allocated')",
    ),
    "an account added, posted to by nothing": (
        "account",
        "INSERT INTO account (id, key, stream_id, first_year, last_year, line_id, "
        "role) SELECT MAX(id) + 1, 'PCC-CSF|2030|2030||cash', MIN(stream_id), 2030, 2030, "
        "NULL, 'cash' FROM account",
    ),
    "an account added with another's columns": (
        "account",
        "INSERT INTO account (id, key, stream_id, first_year, last_year, line_id, "
        "role) SELECT (SELECT MAX(id) + 1 FROM account), 'twin', stream_id, first_year, "
        "last_year, line_id, role FROM account WHERE id = 7",
    ),
    "an account removed": ("account", "DELETE FROM account WHERE id = 9"),
    "an account of no stream, on no line": (
        "account",
        "UPDATE account SET stream_id = 4000, line_id = 987654 WHERE id = "
        "(SELECT MIN(id) FROM account WHERE line_id IS NOT NULL)",
    ),
    "an account's id made far larger": (
        "account",
        "UPDATE account SET id = 99999999 WHERE id = (SELECT MAX(id) FROM account)",
    ),
    "an account of 1850": (
        "account",
        "UPDATE account SET first_year = 1850, last_year = 1850, key = "
        "replace(key, '|2017|2017|', '|1850|1850|') WHERE id = (SELECT MIN(id) FROM account "
        "WHERE first_year = 2017 AND last_year = 2017)",
    ),
    "a line's code": ("line", "UPDATE line SET code = 'Z' || code WHERE id = 2"),
    "a line given a parent": ("line", "UPDATE line SET parent_id = 1 WHERE id = 3"),
    "a line's code with a bar": ("line", "UPDATE line SET code = 'A|B' WHERE id = 4"),
    "a line's code another's of its stream": (
        "line",
        "UPDATE line SET code = (SELECT code FROM line WHERE id = 2) WHERE id = "
        "(SELECT MIN(id) FROM line WHERE id > 2 AND stream_id = "
        "(SELECT stream_id FROM line WHERE id = 2))",
    ),
    "a line's code made empty": ("line", "UPDATE line SET code = '' WHERE id = 3"),
    "a line's code made bytes": ("line", "UPDATE line SET code = X'4142' WHERE id = 3"),
    "a line of a stream the ledger does not have": (
        "line",
        "UPDATE line SET stream_id = 4000 WHERE id = 2",
    ),
    "a line's id made far larger": (
        "line",
        "UPDATE line SET id = 99999999 WHERE id = (SELECT MAX(id) FROM line)",
    ),
    "a line removed": ("line", "DELETE FROM line WHERE id = 3"),
    "a line's parent made a line it does not have": (
        "line",
        "UPDATE line SET parent_id = 987654 WHERE id = 3",
    ),
    "a stream's code": ("stream", "UPDATE stream SET code = 'X' || code WHERE id = 1"),
}


ORDINARY = {"a line's code", "a line given a parent", "a line removed",
            "a line's parent made a line it does not have"}  # fmt: skip


@pytest.mark.parametrize("attack_name", [name for name in ATTACKS if name.startswith("a line")])
def test_lines_out_of_the_ordinary_are_not_packed(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, attack_name: str
) -> None:
    """A line changed so that its code or stream would not be read back as a dictionary
    holds it, or a line's code twice in its stream: held in dictionaries."""
    table, sql = ATTACKS[attack_name]
    unguard(attack, table)
    sqlite = attack.dialect.name == "sqlite"
    if sqlite:
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back
    else:  # an attacker who can drop what keeps a line's code once in its stream
        attack.exec_driver_sql("ALTER TABLE line DROP CONSTRAINT uq_line_stream_id")
        attack.exec_driver_sql("ALTER TABLE line DISABLE TRIGGER ALL")
    streams = dict(attack.exec_driver_sql("SELECT id, code FROM stream").all())
    monkeypatch.setattr(line_table, "COMPACT", 0)
    assert isinstance(line_table.read(attack, streams), PackedLines)
    try:
        with attack.begin_nested():
            attack.execute(text(sql))
    except DBAPIError as exc:
        pytest.skip(f"the engine refuses the change: {exc}")
    packed = line_table.read(attack, streams)
    # The lines themselves as ordinary as before (a line removed leaves the others; a new
    # code or parent is a line's like any other); PostgreSQL keeps X'4142' as the text of
    # its bits.
    if attack_name in ORDINARY or (not sqlite and "bytes" in attack_name):
        assert isinstance(packed, PackedLines)
    else:
        assert packed is None


@pytest.mark.parametrize("attack_name", list(ATTACKS))
def test_an_attack_is_found_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, attack_name: str
) -> None:
    table, sql = ATTACKS[attack_name]
    unguard(attack, table)
    # An attacker who removes an account keeps its postings: the keys between them off.
    if attack.dialect.name == "sqlite":
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back
    else:
        for keyed in ("posting", "account"):
            attack.exec_driver_sql(f"ALTER TABLE {keyed} DISABLE TRIGGER ALL")
    try:
        with attack.begin_nested():
            attack.execute(text(sql))
    except DBAPIError as exc:
        pytest.skip(f"the engine refuses the change: {exc}")
    problems, _ = both(attack, monkeypatch)
    assert problems


def test_a_correctly_sealed_overpayment_is_found_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A payment beyond its allocation, sealed as the ledger seals: only the rules (read
    from the balances in arrays) can show it."""
    from tests.test_tamper import test_a_correctly_sealed_entry_the_rules_refuse_is_named

    test_a_correctly_sealed_entry_the_rules_refuse_is_named(attack)
    problems, packed = both(attack, monkeypatch)
    assert packed and [p.split(":")[0] for p in problems] == [problems[0].split(":")[0]]
    assert "what is left to pay" in problems[0]


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(data=st.data())
def test_any_change_is_found_alike(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, data: st.DataObject
) -> None:
    """Any column of any row of the tables the packed accounts are made from (and of the
    entries and postings that use them) changed, or the row removed: found alike."""
    table = data.draw(st.sampled_from(TABLES), label="table")
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            top = one(connection, f"SELECT COALESCE(MAX(id), 0) FROM {table}")
            row = data.draw(st.integers(1, top), label="row")
            unguard(connection, table)
            savepoint = connection.begin_nested()
            try:
                if data.draw(st.booleans(), label="delete"):
                    connection.execute(text(f"DELETE FROM {table} WHERE id = :r"), {"r": row})
                else:
                    change_a_column(connection, table, "id", row, data)
                savepoint.commit()
            except DBAPIError:
                savepoint.rollback()
                assume(False)
            both(connection, monkeypatch)
        finally:
            transaction.rollback()


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    st.lists(
        st.tuples(
            st.one_of(st.integers(-2, 12), st.just(2**40), st.just("7")),
            st.one_of(st.integers(-(2**20), 2**20), st.just(2**62), st.just(1.5)),
        ),
        max_size=40,
    ),
    st.dictionaries(st.integers(1, 10), st.integers(-100, 100), max_size=4),
)
def test_balances_in_arrays_are_a_dictionary(
    postings: list[tuple[Any, Any]], start: dict[int, int]
) -> None:
    """Whatever is posted (ids out of range or of text, amounts of 64 bits and more, a
    fraction): the same balances in the same order as a dictionary's."""
    balances = Balances(10, start.items())
    expected = dict(start)
    for account_id, pence in postings:
        balances.add(account_id, pence)
        expected[account_id] = expected.get(account_id, 0) + pence
    assert list(balances.items()) == list(expected.items())
    assert len(balances) == len(expected)
    for account_id in (0, 1, 5, 10, 11, "7", 2**40, 5.0, True, 5.5):
        assert (account_id in balances) == (account_id in expected)
        if account_id in expected:
            assert balances[account_id] == expected[account_id]


def test_shapes_not_found_again_are_kept_few(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Shapes of entry that entries do not find again are let go at ``FEW_SHAPES``; found
    again as often as not, up to ``SHAPES``: the findings the same either way."""
    found: list[int] = []
    shape = entry_checks.EntryChecks._shape

    def watched(checks: Any, *args: Any, **kw: Any) -> Any:
        made = shape(checks, *args, **kw)
        found.append(len(checks.shapes))
        return made

    monkeypatch.setattr(entry_checks.EntryChecks, "_shape", watched)
    every = [str(p) for p in verify(attack).problems]
    assert max(found) > 8
    monkeypatch.setattr(entry_checks, "FEW_SHAPES", 2)
    monkeypatch.setattr(record_checks, "FEW_SHAPES", 2)
    monkeypatch.setattr(entry_checks, "SHAPES", 64)
    found.clear()
    assert [str(p) for p in verify(attack).problems] == every
    assert max(found) > 2  # found again: room for more

    forget_shapes(monkeypatch)  # no entry finds its shape kept
    found.clear()
    assert [str(p) for p in verify(attack).problems] == every
    assert found and max(found) <= 2


@settings(max_examples=100, deadline=None, derandomize=True)
@given(
    st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 600)), max_size=3000),
    st.integers(0, 5000),
)
def test_contents_counted_in_byte_arrays_are_a_dictionary(
    counts: list[tuple[int, int]], expected: int
) -> None:
    """Counts of contents by 20-byte keys (the slots grown when they fill, counts beyond
    a byte's): what a dictionary holds."""
    from hashlib import sha1

    held = ContentCounts(expected)
    model: dict[bytes, int] = {}
    for which, count in counts:
        digest = sha1(str(which).encode()).digest()
        assert held.get(digest) == model.get(digest)
        held[digest] = model[digest] = count
    assert dict(held.items()) == model and len(held) == len(model)
    assert held.get(bytes(20)) is None


def _drop_keys(attack: Connection, table: str, column: str) -> None:
    """The foreign keys of a column dropped (PostgreSQL), as an attacker may."""
    for (key,) in attack.exec_driver_sql(
        "SELECT conname FROM pg_constraint WHERE contype = 'f' AND conrelid = "
        f"'{table}'::regclass AND conkey = ARRAY[(SELECT attnum FROM pg_attribute WHERE "
        f"attrelid = '{table}'::regclass AND attname = '{column}')]"
    ).all():
        attack.exec_driver_sql(f"ALTER TABLE {table} DROP CONSTRAINT {key}")


def _unguarded(attack: Connection) -> None:
    for table in ("stream", "line", "entry", "posting", "account"):
        unguard(attack, table)
    if attack.dialect.name == "sqlite":
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back


def test_a_stream_code_of_bytes_names_a_lines_breach_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream's code kept as bytes (SQLite keeps what it is given): the lines are held in
    dictionaries, and a breach of the rules on a line of that stream named on its line."""
    if attack.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps no bytes in a varchar")
    from tests.test_tamper import test_a_correctly_sealed_entry_the_rules_refuse_is_named

    test_a_correctly_sealed_entry_the_rules_refuse_is_named(attack)
    _unguarded(attack)
    attack.execute(text("UPDATE stream SET code = CAST(code AS BLOB) WHERE code = 'PCC-CSF'"))
    problems, _ = both(attack, monkeypatch)
    assert any(p.startswith("line ") and "what is left" in p for p in problems)


def test_a_stream_code_made_null_is_found_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stream's code made NULL (its NOT NULL dropped) where a line of it has a parent: found
    alike, not a failure of verify's own."""
    if attack.dialect.name == "sqlite":
        pytest.skip("SQLite's NOT NULL cannot be dropped by a statement")
    _unguarded(attack)
    attack.exec_driver_sql("ALTER TABLE stream ALTER COLUMN code DROP NOT NULL")
    attack.exec_driver_sql(
        "UPDATE stream SET code = NULL WHERE id = "
        "(SELECT stream_id FROM line WHERE parent_id IS NOT NULL LIMIT 1)"
    )
    problems, _ = both(attack, monkeypatch)
    assert problems


@pytest.mark.parametrize("column", ["entry.line_id", "line.parent_id", "posting.account_id"])
def test_ids_of_columns_retyped_numeric_are_found_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    """An id column retyped ``numeric`` (its key dropped): each id a Decimal, which a
    dictionary of ids finds as the whole number it equals, and so do the packed tables."""
    if attack.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's numeric: SQLite keeps an integer as an integer")
    _unguarded(attack)
    table, name = column.split(".")
    _drop_keys(attack, table, name)
    attack.exec_driver_sql(f"ALTER TABLE {table} ALTER COLUMN {name} TYPE numeric")
    assert (
        type(one(attack, f"SELECT {name} FROM {table} WHERE {name} IS NOT NULL LIMIT 1")) is Decimal
    )
    both(attack, monkeypatch)


@pytest.mark.parametrize("column", ["match_funding.line_id", "line.parent_id"])
def test_ids_of_columns_retyped_arrays_are_found_alike(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, column: str
) -> None:
    """An id column retyped an array (its key dropped): each id a list, which a dictionary
    of ids cannot hash. What it makes of that (a record it names, or a failure of verify's
    own), the packed tables make too."""
    if attack.dialect.name == "sqlite":
        pytest.skip("PostgreSQL's arrays")
    _unguarded(attack)
    table, name = column.split(".")
    unguard(attack, table)
    _drop_keys(attack, table, name)
    attack.exec_driver_sql(
        f"ALTER TABLE {table} ALTER COLUMN {name} TYPE int[] USING "
        f"CASE WHEN {name} IS NULL THEN NULL ELSE ARRAY[{name}] END"
    )
    assert one(attack, f"SELECT COUNT(*) FROM {table} WHERE {name} IS NOT NULL")
    failures = []
    for lines in (True, False):
        pack(monkeypatch, lines=lines, accounts=False)
        try:
            failures.append([str(p) for p in verify(attack).problems])
        except TypeError as exc:
            failures.append([f"TypeError: {exc}"])
    assert failures[0] == failures[1]


def test_a_walk_from_a_verified_head_finds_alike_packed(
    attack: Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`grants reconcile` after `grants verify` walks from the head verify found whole, the
    balances before it read once (walk_balances.Before) and handed to the walk: packed or not,
    from any link, what it finds is what the whole walk finds of the links after it."""
    from tests.test_checkpoints import at, behind, seq_of, top

    end = top(attack)
    heads = (1, seq_of(attack, "entry", 40), seq_of(attack, "entry", 80), end - 1, end)
    behind(attack, "posting", "UPDATE posting SET amount_pence = amount_pence * 3 WHERE id = "
           "(SELECT MIN(id) FROM posting WHERE entry_id = 60)")  # fmt: skip
    found = {}
    for packed in (True, False):
        pack(monkeypatch, lines=packed, accounts=packed)
        found[packed] = []
        for count in heads:
            result = verify(attack, since=at(attack, count))
            assert result.since is not None  # relied on: no guard is missing
            found[packed].append([str(p) for p in result.problems])
    assert found[True] == found[False]
    assert found[True][0] and found[True][0] == [str(p) for p in verify(attack).problems]
    # From a head after the changed posting: its walk does not see the posting, but the
    # balances read up to the head count it, and the rules over them name the breach.
    for problems in found[True][2:]:
        assert problems and all("behind its back" in p for p in problems)
        assert problems != found[True][0]


_ODD_POSTINGS = {  # done to account 12's posting of entry 10 (SQLite keeps what it is given)
    "an id made a fraction": "UPDATE posting SET account_id = 12.5 WHERE id = 19",
    "an id made text": "UPDATE posting SET account_id = '0_12' WHERE id = 19",
    "an id made bytes": "UPDATE posting SET account_id = CAST('12' AS BLOB) WHERE id = 19",
    "an amount made infinite": "UPDATE posting SET amount_pence = 1e999 WHERE id = 19",
    "an amount beyond 64 bits": "UPDATE posting SET amount_pence = 1e20 WHERE id = 19",
    "an amount of text": "UPDATE posting SET amount_pence = 'abc' WHERE id = 19",
    "an amount at the bound": "UPDATE posting SET amount_pence = 9223372036854775807 WHERE id = 19",
}


@pytest.mark.parametrize("change", [None, *_ODD_POSTINGS], ids=str)
def test_a_walk_from_a_head_starts_from_the_balances_it_always_did(
    attack: Connection, monkeypatch: pytest.MonkeyPatch, change: str | None
) -> None:
    """The balances up to a head are read into arrays where every value is a plain
    integer; otherwise as they always were, each id as ``int`` gives it (walk_balances):
    from any head, what the walk finds, packed or not, is what it finds so."""
    from tests.test_checkpoints import at, behind, seq_of, top

    if change is not None:
        if attack.dialect.name != "sqlite":
            pytest.skip("PostgreSQL keeps only integers in an integer column")
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")  # never checked: rolled back
        behind(attack, "posting", _ODD_POSTINGS[change])
    heads = (seq_of(attack, "entry", 9), seq_of(attack, "entry", 40), top(attack))
    always = walk_balances._packed

    def found() -> list[Any]:
        out: list[Any] = []
        for count in heads:
            try:
                out.append([str(p) for p in verify(attack, since=at(attack, count)).problems])
            except Exception as error:
                out.append(repr(error))
        return out

    def balances(read: Any, entry: int) -> Any:
        try:
            found = read(attack, entry)
        except Exception as error:  # the same failure either way
            return repr(error)
        return found if found is None else list(found.items())

    for entry in (9, 40, 99):  # the balances themselves, as the dictionary reads them
        held = balances(lambda c, e: walk_balances.Before(walk_balances._held(c, e)), entry)
        assert balances(always, entry) in (held, None)
    for packed in (True, False):
        pack(monkeypatch, lines=packed, accounts=packed)
        monkeypatch.setattr(walk_balances, "_packed", always)
        arrays = found()
        monkeypatch.setattr(walk_balances, "_packed", lambda *_: None)
        assert arrays == found()
    if change is None:
        assert isinstance(always(attack, 9), walk_balances.Before)
