"""Books loaded a batch of entries at a time (grants.ledger.stream, write_journal): the same
records, sealed in the same order, as one batch; every refused entry found, whatever its
batch; books that change between their two reads refused; nothing held per entry."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, event, func, inspect, select
from sqlalchemy.orm import Session

from grants.db import seal
from grants.db.engine import make_session_factory
from grants.db.models import Entry
from grants.db.models.chain import Seal
from grants.errors import BooksError, NotFound
from grants.ledger import loader, write_journal
from grants.ledger.parser import Reading
from grants.services import journal
from grants.services.verify import verify
from tests.conftest import Grants
from tests.helpers import FUND, books, load_text
from tests.test_money_in import CLAIM, LGF

MONEY_IN = LGF + CLAIM + """
2017-08-15 receipt LGF 2017-18 250
  claim: Q1-2017
  id: r1
2017-08-15 receipt LGF 2017-18 1
2017-08-16 reverse r1
  reason: "returned by the bank"
2017-08-20 receipt LGF 2017-18 100
2017-06-01 commit LGF 2017-18 P1 100
  agreement: "GA/2017/P1"
  from: 2017-06-01
  to: 2018-03-31
2017-06-02 pay LGF 2017-18 P1 10
2017-06-02 pay LGF 2017-18 P1 10
2018-03-31 carry-forward LGF 2017-18 2018-19 P1 100
  approval: "MHCLG/CF/2018/7"
2017-04-01 line LGF P2 "Declared after entries"
2017-06-03 allocate LGF 2017-18 P2 5
"""  # fmt: skip


def test_a_load_in_batches_of_two_restores_the_same_chain(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Books loaded two entries at a time, exported, and the export restored two at a time
    into an empty ledger: the restore reaches the export's head (its records sealed in the
    same order) and exports byte for byte the same books."""
    monkeypatch.setattr(write_journal, "BATCH", 2)  # r1 is reversed from the next batch
    loaded = grants("ledger", "load", str(books(tmp_path, MONEY_IN)))
    assert loaded.exit_code == 0, loaded.output
    assert "warning: a payment of £10.00 to LGF P1 on 2 June 2017 is already recorded" in (
        loaded.output
    )
    first = tmp_path / "first"
    other = grants.restored(first, tmp_path / "other.db")
    second = tmp_path / "second"
    assert other("ledger", "export", "-o", str(second)).exit_code == 0
    for name in sorted(p.name for p in first.iterdir()):
        assert (first / name).read_text() == (second / name).read_text(), name
    assert other("verify").exit_code == 0


def test_refused_entries_of_every_batch_are_all_named(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write_journal, "BATCH", 2)
    text = FUND + """
2017-04-01 award FUND 2017-18 1,000
2017-04-02 allocate FUND 2017-18 A 2,000
2017-04-03 allocate FUND 2017-18 A 600
2017-04-04 allocate FUND 2017-18 B 300
2017-04-05 allocate FUND 2017-18 B 300
2017-04-06 pay FUND 2017-18 B 301
"""  # fmt: skip
    with pytest.raises(BooksError) as refused:
        load_text(session, tmp_path, text)
    lines = sorted(p.line for p in refused.value.problems)  # type: ignore[attr-defined]
    first = FUND.count("\n") + 1
    # The first allocation (batch 1) and the second to B (batch 3) pass the award; the
    # payment (batch 3) is more than B was given.
    assert lines == [first + 2, first + 5, first + 6]


def test_books_that_change_between_their_two_reads_are_refused(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = FUND + "2017-04-01 award FUND 2017-18 1,000\n"
    path = books(tmp_path, text)
    checked = loader.read_books

    def then_changed(*args: object, **kwargs: object) -> object:
        read = checked(*args, **kwargs)  # type: ignore[arg-type]
        path.write_text(text + "2017-04-02 allocate FUND 2017-18 A 2,000\n", encoding="utf-8")
        return read

    monkeypatch.setattr(loader, "read_books", then_changed)
    with pytest.raises(BooksError) as refused:
        load_text(session, tmp_path, text)
    (problem,) = refused.value.problems  # type: ignore[attr-defined]
    assert "changed while the books were being loaded" in str(problem)
    # The read stopped at the changed file: not even the award was written (the caller
    # rolls back whatever else the load wrote).
    assert session.scalar(select(func.count()).select_from(Entry)) == 0


def test_a_reading_hands_on_each_directive_with_its_metadata(tmp_path: Path) -> None:
    path = books(tmp_path, FUND + '2017-04-01 award FUND 2017-18 1,000\n  source: "p. 2"\n')
    reading = Reading(path)
    directives = list(reading.directives())
    assert [d.index for d in directives] == list(range(len(directives)))
    assert directives[-1].meta == {"source": "p. 2"}
    assert reading.digests and not reading.problems
    again = Reading(path, reading.digests)
    assert len(list(again.directives())) == len(directives) and not again.problems


def _keys(url: str) -> list[object]:
    """Every index, unique key and reference of the journal's tables."""
    engine = create_engine(url)
    try:
        seen = inspect(engine)
        return [
            (t, sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                       for i in seen.get_indexes(t)),
             seen.get_pk_constraint(t)["constrained_columns"],
             sorted((k["name"], tuple(k["constrained_columns"]), k["referred_table"])
                    for k in seen.get_foreign_keys(t)),
             sorted(str(u["name"]) for u in seen.get_unique_constraints(t)))
            for t in ("account", "entry", "posting")
        ]  # fmt: skip
    finally:
        engine.dispose()


def test_a_big_load_in_batches_refused_late_leaves_the_ledger_as_it_was(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Enough entries for the indexes (on PostgreSQL the keys) to be built after the rows,
    written in several batches: a refusal in the last batch leaves no entry and every index
    and key as it was; the books put right then load, and verify."""
    monkeypatch.setattr(write_journal, "BATCH", 300)
    monkeypatch.setattr(journal, "BIG_BATCH", 1_000)
    before = _keys(grants.url)
    entries = ["2017-04-01 award FUND 2017-18 1,000,000"]
    entries += [f"2017-04-02 allocate FUND 2017-18 A {1 + i % 7}" for i in range(1_100)]
    bad = books(tmp_path, FUND + "\n".join([*entries, "2017-04-03 pay FUND 2017-18 B 1"]) + "\n")
    refused = grants("ledger", "load", str(bad))
    assert refused.exit_code != 0
    assert f"{bad}:{FUND.count(chr(10)) + 1102}:" in refused.output
    assert _keys(grants.url) == before
    assert grants("journal", "--json").output.strip() in ("[]", "")
    good = books(tmp_path, FUND + "\n".join(entries) + "\n", "good.grants")
    loaded = grants("ledger", "load", str(good), "--json")
    assert loaded.exit_code == 0, loaded.output
    assert json.loads(loaded.output)["created"]["journal entry"] == 1_101
    assert _keys(grants.url) == before
    assert grants("verify").exit_code == 0


@pytest.mark.parametrize("batch", [1, 10_000])
def test_an_entry_with_a_command_key_given_twice_is_recorded_once(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """The same command's entry twice in the books (two exports joined, say): the second is
    skipped as already recorded, whether or not it comes in the same batch."""
    monkeypatch.setattr(write_journal, "BATCH", batch)
    key = "0123456789ab" + "4def" + "8" + "0123456789abcde"
    award = f"2017-04-01 award FUND 2017-18 1,000\n  key: {key}\n"
    text = FUND + award + "2017-04-02 allocate FUND 2017-18 A 10\n" + award
    loaded = grants("ledger", "load", str(books(tmp_path, text)), "--json")
    assert loaded.exit_code == 0, loaded.output
    report = json.loads(loaded.output)
    assert report["created"]["journal entry"] == 2
    assert report["unchanged"]["journal entry"] == 1


REVERSED_BY_NUMBER = FUND + """
2017-04-01 award FUND 2017-18 1,000
2017-04-02 allocate FUND 2017-18 A 100
2017-04-03 pay FUND 2017-18 A 5
2017-04-04 reverse 3
  reason: "by number"
"""  # fmt: skip
REVERSED_TWICE = FUND + """
2017-04-01 award FUND 2017-18 1,000
2017-04-02 allocate FUND 2017-18 A 100
  id: a1
2017-04-04 reverse a1
  reason: "once"
2017-04-05 reverse a1
  reason: "twice"
"""  # fmt: skip


@pytest.mark.parametrize("batch", [1, 2, 3, 10_000])
@pytest.mark.parametrize(
    ("text", "message"),
    [
        (REVERSED_BY_NUMBER, "there is no journal entry '3'; `grants journal` lists them"),
        (REVERSED_TWICE, "entry a1 is reversed twice; an entry is reversed once"),
    ],
    ids=["by-number", "twice"],
)
def test_what_an_earlier_batch_wrote_is_found_only_as_one_batch_finds_it(
    session: Session,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    batch: int,
    text: str,
    message: str,
) -> None:
    """An entry of the same books is reversed by its id, never by its number or the ref its
    key gives: in one batch those are not yet written, so the batches must not find them
    either, or the same books would load or not as the batches fall (and an entry reversed
    by number is not one its export can restore)."""
    monkeypatch.setattr(write_journal, "BATCH", batch)
    with pytest.raises(BooksError) as refused:
        load_text(session, tmp_path, text)
    assert [p.message for p in refused.value.problems] == [message]  # type: ignore[attr-defined]


@pytest.mark.parametrize("batch", [1, 10_000])
def test_an_earlier_loads_entry_reversed_twice_in_one_load_is_reversed_twice(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch, batch: int
) -> None:
    """Whichever batch holds the first reversal, the second is refused as the same."""
    earlier = FUND + """
2017-04-01 award FUND 2017-18 1,000
2017-04-02 allocate FUND 2017-18 A 100
  id: a1
"""  # fmt: skip
    assert grants("ledger", "load", str(books(tmp_path, earlier))).exit_code == 0
    monkeypatch.setattr(write_journal, "BATCH", batch)
    later = earlier + """
2017-04-04 reverse a1
  reason: "once"
2017-04-05 reverse a1
  reason: "twice"
"""  # fmt: skip
    result = grants("ledger", "load", str(books(tmp_path, later)))
    assert result.exit_code == 1, result.output
    assert "entry a1 is reversed twice; an entry is reversed once" in result.output
    assert "already reversed" not in result.output


REVERSAL = '2017-04-04 reverse {}\n  reason: "paid twice"\n'


def test_an_entry_named_by_its_number_in_books_is_refused_by_name_it_by_its_ref(
    tmp_path: Path, grants: Grants
) -> None:
    """Books that reverse an entry recorded by an earlier load by its number: the entry's key
    would be what `reverse 3` says, and the export, which names the entry by its ref, could not
    be restored. Named by the ref `grants journal` shows, the reversal is recorded, and the
    export restores."""
    earlier = FUND + """
2017-04-01 award FUND 2017-18 1,000
2017-04-02 allocate FUND 2017-18 A 100
2017-04-03 pay FUND 2017-18 A 5
"""  # fmt: skip
    assert grants("ledger", "load", str(books(tmp_path, earlier))).exit_code == 0
    by_number = grants("ledger", "load", str(books(tmp_path, earlier + REVERSAL.format("3"))))
    assert by_number.exit_code == 1, by_number.output
    listed = json.loads(grants("journal", "--json").output)
    ref = next(e["ref"] for e in listed if e["entry"] == 3)
    assert (
        f"entry 3 is named by its number, which an export of the ledger does not keep: name "
        f"it by its ref {ref}, as `grants journal` shows it"
    ) in by_number.output
    by_ref = grants("ledger", "load", str(books(tmp_path, earlier + REVERSAL.format(ref))))
    assert by_ref.exit_code == 0, by_ref.output
    grants.restored(tmp_path / "exported", tmp_path / "other.db")


class Watched:
    """Each journal a load records through, and as each batch is recorded (the checks'
    accounts are let go after the last), the keys of the accounts it keeps by key and the
    ids of those it keeps by id."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.journals: list[journal.Journal] = []
        self.by_key: list[list[object]] = []
        self.by_id: list[int] = []
        in_batches = journal.Journal.in_batches

        @contextlib.contextmanager
        def watched(j: journal.Journal, *args: object, **kwargs: object) -> Iterator[object]:
            self.journals.append(j)
            with in_batches(j, *args, **kwargs) as record:  # type: ignore[arg-type]

                def recorded(batch: list[journal.NewEntry]) -> journal.Recorded:
                    result = record(batch)
                    self.by_key.append(list(j._account_ids))
                    self.by_id.append(len(j._account_keys))
                    return result

                yield recorded

        monkeypatch.setattr(journal.Journal, "in_batches", watched)


def test_a_load_keeps_the_accounts_it_opens_by_key_alone(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load keeps each account it opens by its key alone (a national funder's books open
    two for every grant), not by its id as well; into a journal that holds entries it keeps
    by id only the streams' own accounts it began with, and reads those a reversal undoes
    (A's) when it reaches it."""
    watched = Watched(monkeypatch)
    earlier = FUND + "2017-04-01 award FUND 2017-18 1,000\n"
    earlier += "2017-04-02 allocate FUND 2017-18 A 100\n  id: a1\n"
    load_text(session, tmp_path, earlier)
    later = '2017-04-03 reverse a1\n  reason: "wrong line"\n2017-04-04 pay FUND 2017-18 B 5\n'
    load_text(session, tmp_path, earlier + "2017-04-02 allocate FUND 2017-18 B 100\n" + later)
    assert len(watched.journals) == 2  # one batch each
    first, second = watched.by_key
    assert len(first) == 3 and watched.by_id[0] == 0  # funder, unallocated, A
    assert watched.by_id[1] == 2  # the stream's own: the reversal's read as it is checked
    assert len(second) == 6  # and those it opens: B's allocated, cash, B's paid
    assert session.scalar(select(func.count()).select_from(Entry)) == 5


def test_the_accounts_a_load_opens_share_their_codes(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every entry of a line holds one string for its code (the books intern it) and one
    for its stream's, and so does the catalogue for a line of a branch (through which the
    rules name a parent): the accounts a load opens (two for every grant of a national
    funder's books) are kept by keys that share them rather than holding copies. The
    catalogue keeps its own string for any other line's code (interning half a million of
    them grew the interpreter's table of interned strings, to share a string with the few
    lines a load keeps unpacked: grants.services.journal_cold)."""
    watched = Watched(monkeypatch)
    text = FUND + '2017-04-01 line FUND TOP "Top"\n2017-04-01 line FUND TOP1 "Below"\n'
    text += "  parent: TOP\n2017-04-01 award FUND 2017-18 1,000\n"
    text += "2017-04-02 allocate FUND 2017-18 TOP 40\n2017-04-02 allocate FUND 2017-18 TOP1 30\n"
    text += "2017-05-02 pay FUND 2017-18 TOP1 20\n"
    text += "2017-04-02 allocate FUND 2017-18 A 100\n2017-04-02 allocate FUND 2017-18 A1 50\n"
    text += "2017-04-02 allocate FUND 2017-18 B 10\n2017-05-02 pay FUND 2017-18 A1 20\n"
    text += "2017-05-03 pay FUND 2017-18 B 0.01\n2017-06-02 commit FUND 2017-18 B 5\n"
    text += '  agreement: "GA/1"\n  from: 2017-06-01\n  to: 2018-03-31\n'
    load_text(session, tmp_path, text)
    (j,) = watched.journals
    streams = {code: code for code in j._streams}
    codes = {code: code for _, code in j._lines}
    (keys,) = watched.by_key
    assert {key[2] for key in keys} == {None, "A", "A1", "B", "TOP", "TOP1"}
    for stream, _, line, _ in keys:  # type: ignore[misc]
        assert stream is streams[stream]
        assert line is None or line is sys.intern(line), line
        assert line not in ("TOP", "TOP1") or line is codes[line], line
    # A line's parent, as the catalogue gives it, is the parent's own code too.
    assert j.parent_of("FUND", "A1") is codes["A"]


def test_a_load_lets_its_balances_go_before_the_indexes_are_built(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once every batch is recorded, the balances and the ids of the accounts the checks
    kept are let go before the indexes (the keys, on PostgreSQL) are built, which take
    memory of their own: here, as the block that names clashes ends, its rows all in."""
    watched = Watched(monkeypatch)
    held: list[int] = []
    clashes_named = journal.bulk.clashes_named

    @contextlib.contextmanager
    def named(*args: object, **kwargs: object) -> Iterator[None]:
        with clashes_named(*args, **kwargs):  # type: ignore[arg-type]
            yield
            held.append(len(watched.journals[-1]._account_ids))

    monkeypatch.setattr(journal.bulk, "clashes_named", named)
    text = FUND + "2017-04-01 award FUND 2017-18 1,000\n2017-04-02 allocate FUND 2017-18 A 100\n"
    report = load_text(session, tmp_path, text)
    assert [len(keys) for keys in watched.by_key] == [3]  # as the batch was recorded
    assert held == [0] and report.created["journal entry"] == 2
    # Recording again reads the accounts the load opened.
    (j,) = watched.journals
    j.load_catalog()
    assert len(j._account_ids) == 3  # funder, unallocated, A's allocated


def test_the_journals_catalogue_keeps_little_of_each_line(session: Session, tmp_path: Path) -> None:
    """The journal's catalogue of lines, read as every load begins, holds each line's id by
    its stream and code, and only the parents of lines that have one: what it holds of a
    line, measured (176 bytes; 232 with a pair, its id and its parent, for each)."""
    count = 2000
    text = FUND + "".join(f'2017-04-01 line FUND L{n:05d} "Project {n}"\n' for n in range(count))
    load_text(session, tmp_path, text)
    j = journal.Journal(session)
    j.load_catalog()
    assert len(j._lines) == count + 4 and j.parent_of("FUND", "A1") == "A"
    assert j.parent_of("FUND", "L00001") is None
    with pytest.raises(NotFound, match="stream FUND has no line 'Z'"):
        j.parent_of("FUND", "Z")
    held = _held(j._lines, getattr(j, "_parents", None))
    assert held / count < 200, f"{held / count:.0f} bytes a line"


def _held(*objects: object) -> int:
    """The bytes of ``objects`` and of every dictionary, tuple, key and value within them,
    each object counted once."""
    seen: set[int] = set()
    todo, total = list(objects), 0
    while todo:
        found = todo.pop()
        if id(found) in seen:
            continue
        seen.add(id(found))
        total += sys.getsizeof(found)
        if isinstance(found, dict):
            todo.extend(found)
            todo.extend(found.values())
        elif isinstance(found, tuple):
            todo.extend(found)
    return total


@pytest.mark.parametrize("held", [0, seal.HELD_ACCOUNTS])
def test_a_ledger_of_many_accounts_is_sealed_with_each_postings_account_read_beside_it(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: int
) -> None:
    """Sealing a load, the accounts its entries post to are held by id, unless the ledger
    has more than HELD_ACCOUNTS (a national funder's books open two for every grant): then
    each posting's account is read beside it, and none is held. Either way each record is
    sealed with the same text: the ledger verifies, every link (which reads the accounts by
    id)."""
    factory = make_session_factory(engine)

    def load_committed(text: str) -> None:
        with factory() as session, session.begin():  # sealed as it commits
            load_text(session, tmp_path, text)

    earlier = FUND + "2017-04-01 award FUND 2017-18 1,000\n"
    load_committed(earlier)
    monkeypatch.setattr(seal, "HELD_ACCOUNTS", held)
    held_by_id: list[int] = []
    accounts_of = seal.accounts_of

    def counted(*args: Any, **kwargs: Any) -> dict[int, list[Any]]:
        found = accounts_of(*args, **kwargs)
        held_by_id.append(len(found))
        return found

    monkeypatch.setattr(seal, "accounts_of", counted)
    later = "2017-04-02 allocate FUND 2017-18 A 100\n2017-04-02 allocate FUND 2017-18 A1 50\n"
    later += "2017-05-02 pay FUND 2017-18 A1 20\n2017-05-03 pay FUND 2017-18 A 0.01\n"
    load_committed(earlier + later)
    # Held: A's allocated, split (A1's source) and paid, A1's allocated and paid, the
    # unallocated award and the cash (not the funder's account: no new posting to it).
    assert held_by_id == ([] if held == 0 else [7])
    monkeypatch.setattr(seal, "accounts_of", accounts_of)
    with engine.connect() as connection:
        result = verify(connection)
        assert result.ok, [str(p) for p in result.problems]
        assert result.head.count == connection.scalar(select(func.count()).select_from(Seal))


def test_sealing_records_without_entries_asks_nothing_of_the_accounts(
    engine: Engine, tmp_path: Path
) -> None:
    """Whether the ledger has many accounts is asked only when what is sealed has entries
    (whose postings name accounts): a commit of reference data alone, as most of an
    officer's and an admin's are, makes no query of the accounts for it."""
    seen: list[str] = []

    def note(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        with make_session_factory(engine)() as session, session.begin():
            load_text(session, tmp_path, FUND)
        assert seen and "SELECT MAX(id) FROM account" not in seen
        seen.clear()
        with make_session_factory(engine)() as session, session.begin():
            load_text(session, tmp_path, FUND + "2017-04-01 award FUND 2017-18 1,000\n")
        assert "SELECT MAX(id) FROM account" in seen
    finally:
        event.remove(engine, "before_cursor_execute", note)
