"""A load keeps the lines its batches have not named for a while packed
(grants.services.journal_cold): the same refusals and the same balances as a load that
keeps every line as it is, and the journal's dictionaries no bigger than a few batches'
lines, however many lines the books name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from grants.db import bulk
from grants.ledger import write_journal
from grants.periods import period_of
from grants.services import journal, journal_cold, rules
from tests.conftest import Grants
from tests.helpers import FUND, books

CODES = [f"L{i:02d}" for i in range(30)]
REFERENCE = (
    FUND
    + "".join(f'2017-04-01 line FUND {code} "Project {code}"\n' for code in CODES)
    + "2017-04-01 award FUND 2017-18 1,000\n2017-04-01 award FUND 2018-19 500\n"
)

# Each project allocated and half paid, then, once the others have been checked (and it
# packed), paid the rest, exactly its allocation; a branch (A and its children, never
# packed) beside them; a carry-forward out of a packed line and a payment out of it.
ENTRIES = (
    "2017-04-02 allocate FUND 2017-18 A 100\n"
    "2017-04-02 allocate FUND 2017-18 A1 60\n"
    + "".join(
        f"2017-05-01 allocate FUND 2017-18 {code} {10 + i}\n2017-06-01 pay FUND 2017-18 {code} 5\n"
        for i, code in enumerate(CODES)
    )
    + "2017-06-02 pay FUND 2017-18 A1 40\n"
    + "".join(f"2017-09-01 pay FUND 2017-18 {code} {5 + i}\n" for i, code in enumerate(CODES[:20]))
    + "2017-09-02 pay FUND 2017-18 A 60\n"
    + "2018-03-31 carry-forward FUND 2017-18 2018-19 L25 20\n  approval: CF-1\n"
    + "2018-04-02 pay FUND 2018-19 L25 20\n"
    + "2018-04-03 pay FUND 2017-18 L26 1\n"
)

# A penny more to a project paid its whole allocation, long after it was packed; and one
# more into A's branch (60 + 40 = 100 paid already).
OVER = "2018-05-01 pay FUND 2017-18 L07 0.01\n2018-05-02 pay FUND 2017-18 A1 0.01\n"


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """Each time a load may pack lines: the keys its dictionaries hold, and the lines
    packed after it."""
    seen: list[tuple[int, int]] = []
    cool = journal_cold.ColdLines.cool

    def cooling(self: journal_cold.ColdLines, keep: Any, balances: Any, ids: Any) -> None:
        holding = len(balances) + len(ids)
        cool(self, keep, balances, ids)
        seen.append((holding, len(self)))

    monkeypatch.setattr(journal_cold.ColdLines, "cool", cooling)
    return seen


def _projects(codes: list[str], *entries: str) -> str:
    """Books of a project (a line of its own) for each of ``codes``, each given ``entries``
    (texts with ``{}`` for the code), out of an award of £100,000."""
    return (
        FUND
        + "".join(f'2017-04-01 line FUND {code} "{code}"\n' for code in codes)
        + "2017-04-01 award FUND 2017-18 100,000\n"
        + "".join(entry.format(code) + "\n" for code in codes for entry in entries)
    )


def _loaded(grants: Grants, path: Path) -> Any:
    return grants("ledger", "load", str(path))


def _lines_of(output: str, path: Path) -> list[str]:
    return [line.replace(str(path), "BOOKS") for line in output.splitlines()]


def _packed_and_kept(
    two_ledgers: tuple[Grants, Grants],
    over: Path,
    whole: Path,
    batches: tuple[int, int],
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[int, int]],
) -> list[list[str]]:
    """``over`` (refused) and then ``whole`` loaded into the first ledger with every line
    packed from the first batch on (the buffer compacted as soon as lines put back leave it
    half empty), ``batches[0]`` entries a batch, and into the second keeping every line,
    ``batches[1]`` a batch: their outputs, the same in both; nearly every one of the 30
    projects packed in the first, nothing in the second."""
    outputs: list[list[str]] = []
    for grants, hold, batch in zip(two_ledgers, (1, 10**9), batches, strict=True):
        monkeypatch.setattr(journal_cold, "HOLD", hold)
        monkeypatch.setattr(journal_cold, "_SPARE", 0)
        monkeypatch.setattr(write_journal, "BATCH", batch)
        refused = _loaded(grants, over)
        assert refused.exit_code == 1
        outputs.append(_lines_of(refused.output, over))
        loaded = _loaded(grants, whole)
        assert loaded.exit_code == 0, loaded.output
        outputs.append(_lines_of(loaded.output, whole))
        if hold == 1:
            assert max(lines for _, lines in held) >= 25  # nearly every project packed
            held.clear()
    assert held == [(h, 0) for h, _ in held]  # nothing packed where every line is kept
    assert outputs[0] == outputs[2]
    assert outputs[1] == outputs[3]
    return outputs


def test_lines_packed_and_put_back_refuse_and_record_as_lines_kept(
    two_ledgers: tuple[Grants, Grants],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[int, int]],
) -> None:
    over = books(tmp_path, REFERENCE + ENTRIES + OVER, "over.grants")
    whole = books(tmp_path, REFERENCE + ENTRIES, "whole.grants")
    batches = (2, write_journal.BATCH)
    outputs = _packed_and_kept(two_ledgers, over, whole, batches, monkeypatch, held)
    assert any("short by £0.01" in line and "L07" in line for line in outputs[0])
    assert any("short by £0.01" in line and "to A (FUND" in line for line in outputs[0])
    figures = [json.loads(g("balance", "--json").output) for g in two_ledgers]
    assert figures[0] == figures[1]
    by_line = {(r["year"], r.get("line")): r for r in figures[0] if r.get("line")}
    assert by_line[("2017-18", "L07")]["paid"] == "17.00"  # 5, then 12
    assert by_line[("2018-19", "L25")]["paid"] == "20.00"


def test_a_second_load_packs_the_lines_it_reads(
    two_ledgers: tuple[Grants, Grants],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[int, int]],
) -> None:
    """Into a journal that holds entries (its lines read as the books reach them): packed
    lines put back with what they held before the load, as a load keeping them records."""
    in_two, kept = two_ledgers
    first = books(tmp_path, REFERENCE + ENTRIES.split("2017-06-02")[0], "first.grants")
    over = books(tmp_path, REFERENCE + ENTRIES + OVER, "over.grants")
    whole = books(tmp_path, REFERENCE + ENTRIES, "whole.grants")
    assert _loaded(in_two, first).exit_code == 0
    refused = [_loaded(kept, over)]  # every line kept as it is
    assert _loaded(kept, whole).exit_code == 0
    assert held == [(h, 0) for h, _ in held]
    monkeypatch.setattr(journal_cold, "HOLD", 1)
    monkeypatch.setattr(write_journal, "BATCH", 3)
    refused.append(_loaded(in_two, over))
    assert [r.exit_code for r in refused] == [1, 1]
    assert _lines_of(refused[0].output, over) == _lines_of(refused[1].output, over)
    assert _loaded(in_two, whole).exit_code == 0
    assert max(lines for _, lines in held) >= 15
    figures = [json.loads(g("balance", "--json").output) for g in two_ledgers]
    assert figures[0] == figures[1]


# Each project allocated and paid with an id; a third of the payments reversed once every
# project has been checked (and packed), and paid again: passed only if the reversal gave
# the line back what the payment took. Then a penny past one of them, and one reversed twice.
REVERSED = CODES[::3]
REVERSING = (
    "".join(
        f"2017-05-01 allocate FUND 2017-18 {code} 10\n"
        f"2017-06-01 pay FUND 2017-18 {code} 10\n  id: pay-{code}\n"
        for code in CODES
    )
    + "".join(f"2017-07-01 reverse pay-{code}\n  reason: returned\n" for code in REVERSED)
    + "".join(f"2017-08-01 pay FUND 2017-18 {code} 10\n" for code in REVERSED)
)
REVERSING_OVER = (
    "2017-09-01 pay FUND 2017-18 L03 0.01\n2017-09-02 reverse pay-L06\n  reason: twice\n"
)


def test_a_first_load_that_reverses_entries_packs_lines_and_records_as_lines_kept(
    two_ledgers: tuple[Grants, Grants],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[int, int]],
) -> None:
    """Into an empty journal a reversal names an entry of the same books, by its id: the
    lines that entry posted to are put back before the reversal is checked, so books that
    reverse entries are loaded with lines packed, refused and recorded exactly as with every
    line kept."""
    over = books(tmp_path, REFERENCE + REVERSING + REVERSING_OVER, "over.grants")
    whole = books(tmp_path, REFERENCE + REVERSING, "whole.grants")
    outputs = _packed_and_kept(two_ledgers, over, whole, (2, 2), monkeypatch, held)
    assert any("short by £0.01" in line and "L03" in line for line in outputs[0])
    assert any("reversed" in line and "pay-L06" in line for line in outputs[0])
    figures = [json.loads(g("balance", "--json").output) for g in two_ledgers]
    assert figures[0] == figures[1]
    paid = {r["line"]: r["paid"] for r in figures[0] if r.get("line") in CODES}
    assert paid == {code: "10.00" for code in CODES}


# A second stream, whose allocation the later books reverse without naming the stream in any
# other entry; and an allocation to a line of a branch (A1, beneath A), reversed too.
OTHER = (
    '2017-04-01 stream OTHER "Another fund"\n  kind: other\n  funder: FUNDER\n'
    '2017-04-01 line OTHER X "Line X"\n2017-04-01 award OTHER 2017-18 100\n'
    "2017-04-02 allocate OTHER 2017-18 X 40\n  id: other-x\n"
    "2017-04-02 allocate FUND 2017-18 A 100\n2017-04-02 allocate FUND 2017-18 A1 60\n"
    "  id: a1-alloc\n"
)
UNDONE = (
    "2017-07-02 reverse other-x\n  reason: withdrawn\n"
    "2017-07-02 reverse a1-alloc\n  reason: withdrawn\n"
    "2017-07-03 allocate FUND 2017-18 A2 100\n"  # A's whole 100 again, with A1's 60 undone
)
UNDONE_OVER = "2017-09-03 pay OTHER 2017-18 X 0.01\n"


def test_a_second_load_that_reverses_entries_reads_the_lines_they_undo(
    two_ledgers: tuple[Grants, Grants],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    held: list[tuple[int, int]],
) -> None:
    """Into a journal that holds entries, books that reverse entries recorded before are
    loaded reading each line as they reach it, the lines a reversal undoes postings to
    (of another stream, of a branch) when it is checked, and packing them: refused and
    recorded as one load of everything keeping every line, and not every account read."""
    in_two, kept = two_ledgers
    first_text = REFERENCE + OTHER + REVERSING.split("2017-07-01")[0]
    everything = REFERENCE + OTHER + REVERSING + UNDONE
    first = books(tmp_path, first_text, "first.grants")
    over = books(tmp_path, everything + REVERSING_OVER + UNDONE_OVER, "over.grants")
    whole = books(tmp_path, everything, "whole.grants")
    assert _loaded(in_two, first).exit_code == 0
    refused = [_loaded(kept, over)]  # every line kept as it is, every reversal of this load
    assert _loaded(kept, whole).exit_code == 0
    journals: list[journal.Journal] = []
    in_batches = journal.Journal.in_batches

    def watched(j: journal.Journal, *args: Any, **kwargs: Any) -> Any:
        journals.append(j)
        return in_batches(j, *args, **kwargs)

    monkeypatch.setattr(journal.Journal, "in_batches", watched)
    monkeypatch.setattr(journal_cold, "HOLD", 1)
    monkeypatch.setattr(journal_cold, "_SPARE", 0)
    monkeypatch.setattr(write_journal, "BATCH", 3)
    held.clear()
    refused.append(_loaded(in_two, over))
    assert [r.exit_code for r in refused] == [1, 1]
    assert _lines_of(refused[0].output, over) == _lines_of(refused[1].output, over)
    assert any("L03" in line and "short by £0.01" in line for line in refused[0].output.split("\n"))
    assert any("to X (OTHER" in line for line in refused[0].output.split("\n"))
    assert _loaded(in_two, whole).exit_code == 0
    assert max(lines for _, lines in held) >= 8  # the ten lines reversed, and paid again
    # The streams' own accounts by id (seven), none of a line's: not the ledger's 70 or so.
    assert [len(j._account_keys) for j in journals] == [7, 7]
    figures = [json.loads(g("balance", "--json").output) for g in two_ledgers]
    assert figures[0] == figures[1]
    by_line = {(r["stream"], r.get("line")): r for r in figures[0] if r.get("line")}
    assert by_line[("OTHER", "X")]["allocated"] == "0.00"
    assert by_line[("FUND", "A1")]["allocated"] == "0.00"


def test_the_journal_holds_a_few_batches_lines_however_many_the_books_name(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, held: list[tuple[int, int]]
) -> None:
    """2,000 projects, each allocated and paid: the rules' dictionaries would hold three
    keys a project (two accounts and its BRANCH figure), 6,000; packed from 300 on, they
    never hold much more than that and the last batch's."""
    codes = [f"P{i:04d}" for i in range(2000)]
    text = _projects(
        codes, "2017-05-01 allocate FUND 2017-18 {} 20", "2017-06-01 pay FUND 2017-18 {} 20"
    )
    monkeypatch.setattr(journal_cold, "HOLD", 300)
    monkeypatch.setattr(write_journal, "BATCH", 100)
    result = _loaded(grants, books(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert max(holding for holding, _ in held) < 1_000
    assert max(lines for _, lines in held) > 1_800
    figures = json.loads(grants("balance", "--json").output)
    paid = {r["line"]: r["paid"] for r in figures if r.get("line")}
    assert len(paid) == 2000
    assert set(paid.values()) == {"20.00"}


def test_packed_lines_come_back_as_they_were_after_the_buffer_is_compacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines packed, some put back and packed again round after round (the buffer compacted
    each time it is half empty): every key, balance and id comes back as it was, one too big
    for the narrow form too; a line of a branch, and one the batch named, are never
    packed."""
    monkeypatch.setattr(journal_cold, "HOLD", 1)
    monkeypatch.setattr(journal_cold, "_SPARE", 0)
    codes = [f"L{i}" for i in range(10)]
    lines = {("S", code): 3 * i + 1 for i, code in enumerate(codes)}
    lines |= {("S", "P"): 100, ("S", "C"): 101}
    cold = journal_cold.ColdLines(lines, {("S", "C"): "P"})
    years = [period_of(2017, 2017), period_of(2018, 2019)]
    balances: dict[Any, int] = {("S", years[0], None, "cash"): -5}
    ids: dict[Any, int] = {("S", years[0], None, "cash"): 1}
    for i, code in enumerate([*codes, "P", "C"]):
        for year in years:
            balances[("S", year, code, "allocated")] = 100 * i - 7
            ids[("S", year, code, "allocated")] = 10 + i + (1 << 40 if code == "L3" else 0)
            balances[("S", year, code, rules.BRANCH)] = -i
            ids[("S", year, code, "paid")] = 50 + i  # an account nothing has posted to yet
    wanted = dict(balances), dict(ids)
    cold.cool({("S", "L0")}, balances, ids)
    assert len(cold) == 9
    assert {k[2] for k in balances} == {k[2] for k in ids} == {None, "L0", "P", "C"}
    compacted = 0
    for start in range(6):
        cold.warm({("S", code) for code in codes[start % 2 :: 2]}, balances, ids)
        size = len(cold._data)
        cold.cool(set(), balances, ids)
        compacted += len(cold._data) < size
        assert len(cold) == 10
    assert compacted
    cold.warm({("S", code) for code in [*codes, "P", "C", "X"]}, balances, ids)
    assert (balances, ids) == wanted
    assert len(cold) == 0


def test_a_big_loads_indexes_are_built_with_a_small_page_cache(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str
) -> None:
    """A load of many entries into an empty journal builds the indexes it dropped after
    its rows with the page cache cut to INDEX_CACHE_KIB (SQLite's sorter takes as much again
    as the cache may hold), not the load's 64 MiB."""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's page cache")
    caches: list[int] = []
    create = bulk._create

    def creating(connection: Any, indexes: Any) -> None:
        caches.append(connection.exec_driver_sql("PRAGMA cache_size").scalar())
        create(connection, indexes)

    monkeypatch.setattr(bulk, "_create", creating)
    codes = [f"P{i:04d}" for i in range(3000)]
    text = _projects(
        codes, "2017-05-01 allocate FUND 2017-18 {} 20", "2017-06-01 pay FUND 2017-18 {} 20"
    )
    result = _loaded(grants, books(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert caches == [-bulk.INDEX_CACHE_KIB]


def test_a_second_load_lets_go_of_the_accounts_it_reads_by_id(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A load into a journal that holds entries reads each line's accounts by id for the
    line's balances, then keeps them by key alone (packed with the line): 2,000 projects
    paid a second time leave the stream's own accounts by id, not every project's."""
    journals: list[journal.Journal] = []
    in_batches = journal.Journal.in_batches

    def watched(j: journal.Journal, *args: Any, **kwargs: Any) -> Any:
        journals.append(j)
        return in_batches(j, *args, **kwargs)

    codes = [f"P{i:04d}" for i in range(2000)]
    text = _projects(codes, "2017-05-01 allocate FUND 2017-18 {} 20")
    assert _loaded(grants, books(tmp_path, text, "first.grants")).exit_code == 0
    monkeypatch.setattr(journal.Journal, "in_batches", watched)
    monkeypatch.setattr(journal_cold, "HOLD", 300)
    monkeypatch.setattr(write_journal, "BATCH", 100)
    more = text + "".join(f"2017-06-01 pay FUND 2017-18 {code} 20\n" for code in codes)
    result = _loaded(grants, books(tmp_path, more, "more.grants"))
    assert result.exit_code == 0, result.output
    (j,) = journals
    assert len(j._account_keys) < 10
