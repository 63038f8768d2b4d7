"""Reference data in the books (organisations and lines): each refusal at its line, what is
already recorded compared, and many of them written a chunk at a time as plain rows, in the
order of the books, parents and all."""

from __future__ import annotations

import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, aliased

from grants.db.engine import make_session_factory
from grants.db.models import Line, Organisation, PlanLine
from grants.db.models.chain import Seal
from grants.errors import BooksError
from grants.ledger import look_alikes, reference, stream, write
from grants.ledger.parser import Directive
from grants.ledger.reference import LineRecord, OrgRecord
from grants.ledger.validate import read_books
from tests.conftest import Grants
from tests.helpers import NOW, books, load_text

REFERENCE = """
2017-04-01 org F "Funder"
  role: funder
2017-04-01 org R1 "Recipient one"
2017-04-01 org R2 "Recipient two"
2017-04-01 stream FUND "Fund"
  funder: F
2017-04-01 line FUND A "Line A"
  recipient: R1
2017-04-01 line FUND A1 "Line A1"
  parent: A
  recipient: R2
2017-04-01 line FUND B "Line B"
"""
PLAN_AFTER_THE_JOURNAL = """
2017-04-01 award FUND 2017-18 100,000
2017-04-01 allocate FUND 2017-18 A 40,000
2017-06-20 plan FUND 2017-18 A "Posts"
  cost: 40,000
"""
T = TypeVar("T")
LAST = REFERENCE.count("\n")  # the books' last line: what is added begins after it


def held_by(make: Callable[[], T]) -> tuple[int, T]:
    """What ``make`` returns, and the bytes it holds once made (traced by tracemalloc)."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        return tracemalloc.get_traced_memory()[0] - before, made
    finally:
        tracemalloc.stop()


def problems(session: Session, tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(BooksError) as refused:
        load_text(session, tmp_path, text)
    return [str(p).rsplit("/", 1)[-1] for p in refused.value.problems]


@pytest.mark.parametrize(
    ("added", "line", "message"),
    [
        ('2017-04-01 org R1 "Again"', 1, "organisation R1 is declared twice"),
        ('2017-04-01 line FUND A "Line A"', 1, "line A of FUND is declared twice"),
        (
            '2017-04-01 line FUND C "C"\n  recipient: NOBODY',
            1,
            "recipient 'NOBODY' is not an organisation declared with `org`",
        ),
        (
            '2017-04-01 line FUND D "D"\n  parent: E\n2017-04-01 line FUND E "E"',
            1,
            "parent 'E' is not a line of FUND declared before this one: declare the parent first",
        ),
        (
            '2017-04-01 line FUND G "G"\n  parent: G',
            1,
            "parent 'G' is not a line of FUND declared before this one: declare the parent first",
        ),
        (
            '2017-04-01 line NOPE X "X"',
            1,
            "there is no stream 'NOPE': declare it with `stream` first",
        ),
    ],
)
def test_each_refusal_of_reference_data_is_at_its_line(
    session: Session, tmp_path: Path, added: str, line: int, message: str
) -> None:
    found = problems(session, tmp_path, REFERENCE + added + "\n")
    assert found == [f"books.grants:{LAST + line}: {message}"]
    assert session.scalar(select(func.count()).select_from(Line)) == 0


def test_recorded_reference_data_is_compared_not_changed(session: Session, tmp_path: Path) -> None:
    first = load_text(session, tmp_path, REFERENCE)
    assert first.created == Counter({"organisation": 3, "line": 3, "stream": 1})
    again = load_text(session, tmp_path, REFERENCE)
    assert again.created == Counter() and again.skipped["line"] == 3
    renamed = REFERENCE.replace('"Recipient one"', '"Renamed"')
    assert problems(session, tmp_path, renamed) == [
        "books.grants:4: organisation 'R1' is already recorded differently "
        "(name 'Recipient one' -> 'Renamed'); reference data cannot be changed by loading books"
    ]
    moved = REFERENCE.replace("parent: A", "parent: B").replace(
        '2017-04-01 line FUND B "Line B"\n', ""
    )
    moved = moved.replace('2017-04-01 line FUND A1 "Line A1"', '2017-04-01 line FUND B "Line B"'
                          '\n2017-04-01 line FUND A1 "Line A1"')  # fmt: skip
    assert problems(session, tmp_path, moved) == [
        "books.grants:11: line A1 is already recorded with a different parent"
    ]


def test_a_recorded_line_is_not_given_a_parent_new_in_the_books(
    session: Session, tmp_path: Path
) -> None:
    """A line recorded with no parent, declared again beneath a line these books add: the
    recorded line cannot have it as its parent (the books would say one tree, the ledger
    another)."""
    load_text(session, tmp_path, REFERENCE)
    text = REFERENCE.replace(
        '2017-04-01 line FUND B "Line B"\n',
        '2017-04-01 line FUND N "New"\n2017-04-01 line FUND B "Line B"\n  parent: N\n',
    )
    assert problems(session, tmp_path, text) == [
        "books.grants:14: line B is already recorded with a different parent"
    ]


MANY = (
    REFERENCE
    + """
2017-04-01 org R3 "Recipient three"
2017-04-01 line FUND B1 "Line B1"
  parent: B
  recipient: R3
2017-04-01 line FUND A2 "Line A2"
  parent: A
2017-04-01 line FUND B11 "Line B11"
  parent: B1
"""
)


@pytest.fixture
def inserts(engine: Engine) -> Iterator[Counter[str]]:
    """The INSERT statements sent to the database, by table (one for many rows counts once)."""
    counted: Counter[str] = Counter()

    def count(conn, cursor, statement: str, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        words = statement.split(None, 3)
        if words[0].upper() == "INSERT":
            counted[words[2].strip('"')] += 1

    event.listen(engine, "before_cursor_execute", count)
    yield counted
    event.remove(engine, "before_cursor_execute", count)


def tree(session: Session) -> list[tuple[int, str, str | None, str | None]]:
    parent, org = aliased(Line), aliased(Organisation)
    return [
        tuple(row)
        for row in session.execute(
            select(Line.id, Line.code, parent.code, org.code)
            .outerjoin(parent, Line.parent_id == parent.id)
            .outerjoin(org, Line.recipient_id == org.id)
            .order_by(Line.id)
        )
    ]


def test_many_are_written_a_chunk_at_a_time_in_the_order_of_the_books(
    engine: Engine, tmp_path: Path, inserts: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two at a time: each line's parent found whether it was written in an earlier chunk or
    in its own; ids and the chain in the order of the books; one statement a chunk."""
    monkeypatch.setattr(write, "CHUNK", 2)
    with make_session_factory(engine)() as session, session.begin():
        load_text(session, tmp_path, MANY)  # sealed as it commits
    assert inserts["organisation"] == 2 and inserts["line"] == 3
    with make_session_factory(engine, read_only=True)() as session, session.begin():
        first = min(i for i, *_ in tree(session))
        assert [(i - first, *rest) for i, *rest in tree(session)] == [
            (0, "A", None, "R1"),
            (1, "A1", "A", "R2"),
            (2, "B", None, None),
            (3, "B1", "B", "R3"),
            (4, "A2", "A", None),
            (5, "B11", "B1", None),
        ]
        orgs = session.scalars(select(Organisation.code).order_by(Organisation.id))
        assert list(orgs) == ["F", "R1", "R2", "R3"]
        chain = list(session.scalars(select(Seal.tbl).order_by(Seal.seq)))
    books_order = ["organisation"] * 3 + ["stream"] + ["line"] * 3 + ["organisation"]
    assert chain[-11:] == books_order + ["line"] * 3


def test_a_national_funders_recipients_are_written_in_one_statement(
    session: Session, tmp_path: Path, inserts: Counter[str]
) -> None:
    """A recipient and a line for each of 300 grants: a statement each, not one a record."""
    text = '2017-04-01 stream FUND "Fund"\n' + "".join(
        f'2017-04-01 org R{n} "Recipient {n}"\n2017-04-01 line FUND L{n} "Project {n}"\n'
        f"  recipient: R{n}\n"
        for n in range(300)
    )
    report = load_text(session, tmp_path, text)
    assert report.created["organisation"] == 300 and report.created["line"] == 300
    assert inserts["organisation"] == 1 and inserts["line"] == 1


def test_a_refusal_after_a_chunk_is_written_records_nothing(
    tmp_path: Path, grants: Grants, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(write, "CHUNK", 2)
    path = books(tmp_path, MANY + '2017-04-01 line FUND Z "Z"\n  parent: NONE\n')
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1, result.output
    assert "parent 'NONE' is not a line of FUND" in result.output
    assert "nothing was recorded" in result.output
    assert session.scalar(select(func.count()).select_from(Organisation)) == 0
    assert session.scalar(select(func.count()).select_from(Line)) == 0


def test_no_line_is_written_once_the_books_are_refused(
    session: Session, tmp_path: Path, inserts: Counter[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A problem found before the lines (an organisation declared twice): every line is
    still checked, and every problem reported, but none is written, chunk after chunk."""
    monkeypatch.setattr(write, "CHUNK", 2)
    text = MANY.replace('2017-04-01 org R3 "Recipient three"', '2017-04-01 org R1 "Again"')
    assert problems(session, tmp_path, text + '2017-04-01 line FUND Z "Z"\n  parent: NONE\n') == [
        "books.grants:15: organisation R1 is declared twice",
        "books.grants:16: recipient 'R3' is not an organisation declared with `org`",
        "books.grants:23: parent 'NONE' is not a line of FUND declared before this one: "
        "declare the parent first",
    ]
    assert inserts["line"] == 0


def test_a_held_directive_keeps_where_it_is_its_day_and_its_provenance() -> None:
    d = Directive("b.grants", 7, date(2017, 4, 1), "line", ["FUND", "A", "Line A"],
                  {"recipient": "R1", "source": "p.txt:3", "note": "n"},
                  {"recipient": 8, "source": 9, "note": 10}, 5)  # fmt: skip
    held = d.held()
    assert (held.where, held.day, held.keyword, held.index) == ("b.grants:7", d.day, "line", 5)
    assert held.meta == {"source": "p.txt:3", "note": "n"}
    assert list(held.args) == [] and dict(held.meta_lines) == {}
    bare = Directive("b.grants", 8, date(2017, 4, 1), "org", ["R1", "One"], {"role": "funder"})
    with pytest.raises(TypeError):
        bare.held().meta["source"] = "changed"  # shared by every held directive
    with pytest.raises(TypeError):
        bare.held().meta_lines["role"] = 9


def test_books_keep_little_of_each_line_and_organisation(tmp_path: Path) -> None:
    """Read, the books keep each line and organisation until they are written: what they
    hold of one, measured (26 bytes packed, reference.Kept; 443 as a tuple of objects
    each, 470 before every line of a stream shared one string for its code, 640 with a pair
    and a dictionary each rather than a tuple; 1,260 before directives were held without
    their arguments and metadata, and days and keywords were shared)."""
    count = 20_000
    text = '2017-04-01 stream FUND "Fund"\n' + "".join(
        f'2017-04-01 org R{n:05d} "Recipient {n}"\n  role: recipient\n'
        f'2017-04-01 line FUND L{n:05d} "Project {n}"\n  recipient: R{n:05d}\n'
        for n in range(count)
    )
    path = books(tmp_path, text)
    held, read = held_by(lambda: read_books(path, "tester", NOW))
    assert not read.problems and len(read.orgs) == len(read.lines) == count
    assert held / (2 * count) < 60, f"{held / (2 * count):.0f} bytes a record"


@pytest.mark.parametrize(
    "many", [0, 1, reference.PACKED - 1, reference.PACKED, 2 * reference.PACKED + 5]
)
def test_kept_records_are_read_back_as_they_were_given(many: int) -> None:
    """Packed a chunk at a time, read back in order as often as asked: each record equal to
    the one given, its directive held alike (where it is, its day, its place, its
    provenance; no arguments or other metadata), whichever chunk it fell in."""
    given = []
    for n in range(many):
        meta = {"recipient": "R1", "source": f"p{n}.txt:3", "note": "Ünïcode \u2014 note"}
        d = Directive(
            f"books-{n % 3}.grants",
            n + 1,
            date(2017, 4, 1 + n % 28),
            "line",
            ["FUND", f"L{n}", f"Line {n}"],
            meta if n % 2 else {},
            {"note": 4},
            7 + n,
        )
        given.append(LineRecord(d.held(), "FUND", f"L{n}", f"Lïne {n}", "allocation",
                                "A" if n % 3 else None, None, f"ref {n}" if n % 5 else None,
                                None, n * 10**9 if n % 2 else None, -n or None))  # fmt: skip
    kept = reference.Kept(LineRecord)
    for rec in given:
        kept.append(rec)
    assert len(kept) == many
    for _ in range(2):
        back = list(kept)
        assert back == given
        for was, now in zip(given, back, strict=True):
            assert (now.d.where, now.d.day, now.d.keyword, now.d.index) == (
                was.d.where, was.d.day, was.d.keyword, was.d.index)  # fmt: skip
            assert dict(now.d.meta) == dict(was.d.meta)
            assert list(now.d.args) == [] and dict(now.d.meta_lines) == {}
    orgs = reference.Kept(OrgRecord)
    held = Directive("b.grants", 3, date(2018, 1, 2), "org", ["R1", "One"], {}, {}, 2).held()
    orgs.append(OrgRecord(held, "R1", "One", "funder"))
    assert list(orgs) == [OrgRecord(held, "R1", "One", "funder")]
    kept.clear()
    assert len(kept) == 0 and list(kept) == []


def test_look_alikes_are_warned_of_stream_by_stream_against_the_first_name_seen(
    session: Session, tmp_path: Path
) -> None:
    """Organisations first, then the lines of each stream in the order the books first name
    it; a name is compared with every other name of its skeleton seen before (here, the
    second one seen, the first being its own)."""
    text = """
2017-04-01 stream S1 "One"
2017-04-01 stream S2 "Two"
2017-04-01 line S2 A "Cherwell"
2017-04-01 line S1 A "Cherwell"
2017-04-01 line S2 B "Cherw\u0435ll"
2017-04-01 line S1 B "Cherw\u0435ll"
2017-04-01 line S2 D "Cherwell"
2017-04-01 org R1 "Oxford"
2017-04-01 org R2 "\uff2fxford"
"""
    report = load_text(session, tmp_path, text)
    assert _look_alikes(report, tmp_path) == [
        "books.grants:10: warning: organisation R2 'Ｏxford' looks the same as organisation R1 "
        "'Oxford' (books.grants:9)",
        "books.grants:6: warning: line B 'Cherwеll' looks the same as line A 'Cherwell' of S2 "
        "(books.grants:4)",
        "books.grants:8: warning: line D 'Cherwell' looks the same as line B 'Cherwеll' of S2 "
        "(books.grants:6)",
        "books.grants:7: warning: line B 'Cherwеll' looks the same as line A 'Cherwell' of S1 "
        "(books.grants:5)",
    ]


def test_a_look_alike_of_a_recorded_name_is_warned_of_as_already_recorded(
    session: Session, tmp_path: Path
) -> None:
    """A name that looks the same as one recorded by earlier books: the warning says it is
    already recorded (it has no place in these books)."""
    load_text(session, tmp_path, '2017-04-01 org R1 "Oxford"\n2017-04-01 stream S "S"\n'
                                 '2017-04-01 line S A "Cherwell"\n')  # fmt: skip
    report = load_text(session, tmp_path, '2017-04-01 org R2 "\uff2fxford"\n'
                                          '2017-04-01 stream S "S"\n'
                                          '2017-04-01 line S B "Cherw\u0435ll"\n')  # fmt: skip
    assert _look_alikes(report, tmp_path) == [
        "books.grants:1: warning: organisation R2 'Ｏxford' looks the same as organisation R1 "
        "'Oxford' (already recorded)",
        "books.grants:3: warning: line B 'Cherwеll' looks the same as line A 'Cherwell' of S "
        "(already recorded)",
    ]


def _look_alikes(report: write.LoadReport, tmp_path: Path) -> list[str]:
    """Each warning of a load, its place relative to ``tmp_path``, up to what it names."""
    here = f"{tmp_path}/"
    return [str(w).replace(here, "").split(" but is written")[0] for w in report.warnings]


def test_the_order_of_a_loads_records_is_kept_in_nine_bytes_a_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The records a load adds, by their directive's place in the books and their table:
    reference data and the rest given table by table, the journal's in the books' order;
    sealed in the books' order, those of one directive in the order given, runs of a table
    as one. A national funder's books add an organisation and a line for every few entries:
    what is held of each is measured (9 bytes; about 95 before, a pair kept for each)."""
    noted: list[tuple[str, int]] = []
    monkeypatch.setattr(stream, "record_order", lambda _, table, n: noted.append((table, n)))
    made = stream.MadeOrder()
    for index, table in [(0, "organisation"), (3, "organisation"), (1, "stream"),
                         (2, "line"), (8, "line"), (6, "plan_line"), (6, "statement")]:  # fmt: skip
        made.add(index, table)
    for index, table in [(4, "entry"), (5, "entry"), (5, "claim"), (7, "entry")]:
        made.add_in_order(index, table)
    made.seal_order(None)  # type: ignore[arg-type]  # record_order is replaced
    assert noted == [
        ("organisation", 1), ("stream", 1), ("line", 1), ("organisation", 1), ("entry", 2),
        ("claim", 1), ("plan_line", 1), ("statement", 1), ("entry", 1), ("line", 1),
    ]  # fmt: skip
    many = 20_000

    def made() -> stream.MadeOrder:
        order = stream.MadeOrder()
        for index in range(many):
            order.add(1000 + index, "organisation" if index % 2 else "line")
        return order

    held, _ = held_by(made)
    assert held / many < 16, f"{held / many:.0f} bytes a record"


def test_the_writer_lets_the_codes_go_once_the_lines_are_written(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the lines are written, the writer's ids of every organisation and line by code
    are let go (a national funder's books declare one of each for every grant): the lines'
    names are compared and the journal, which keeps its own catalogue, is recorded with none
    held, and a step after it that asks reads them again (here a plan of a line these books
    declare)."""
    seen: list[object] = []
    compare, record = write.Writer._look_alike_lines, write.write_journal

    def watched(step: Callable[[write.Writer], None]) -> Callable[[write.Writer], None]:
        def run(w: write.Writer) -> None:
            seen.append((step.__name__, w._orgs, w._lines))
            step(w)

        return run

    monkeypatch.setattr(write.Writer, "_look_alike_lines", watched(compare))
    monkeypatch.setattr(write, "write_journal", watched(record))
    report = load_text(session, tmp_path, REFERENCE + PLAN_AFTER_THE_JOURNAL)
    assert seen == [("_look_alike_lines", None, None), ("write_journal", None, None)]
    assert report.created["plan line"] == 1 and report.created["journal entry"] == 2
    line_a = session.scalar(select(Line.id).where(Line.code == "A"))
    assert session.scalar(select(PlanLine.line_id)) == line_a


def test_a_name_seen_is_kept_without_its_directive() -> None:
    """The look-alike check keeps each name it has seen with its code and where it is (a
    file's name and a number), not its directive: what 20,000 names declared take, each
    directive made afresh and let go by the caller (243 bytes a name; 396 with its
    directive)."""
    many = 20_000

    def seen() -> look_alikes.Names:
        names = look_alikes.Names("organisation")
        for n in range(many):
            d = Directive("b.grants", 2 * n + 1, date(2017, 4, 1), "org", [], {}, {}, n)
            assert names.declared(d.held(), f"R{n:06d}", f"Recipient {n}") is None
        return names

    held, _ = held_by(seen)
    assert held / many < 300, f"{held / many:.0f} bytes a name"


def test_recorded_reference_data_is_compared_a_group_at_a_time(
    session: Session, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two at a time: each recorded record compared with its own row, whichever group it
    falls in; one declared twice across groups, a name changed and a parent changed in the
    last group, each refused at its line."""
    monkeypatch.setattr(write, "LOOKUP", 2)
    load_text(session, tmp_path, MANY)
    again = load_text(session, tmp_path, MANY)
    assert again.created == Counter() and again.skipped == Counter(
        {"organisation": 4, "line": 6, "stream": 1}
    )
    renamed = MANY.replace('"Recipient three"', '"Renamed"').replace(
        "2017-04-01 line FUND B11", '2017-04-01 org R1 "Recipient one"\n2017-04-01 line FUND B11'
    )
    moved = renamed.replace("  parent: B1\n", "  parent: A\n")
    assert problems(session, tmp_path, moved) == [
        "books.grants:15: organisation 'R3' is already recorded differently (name 'Recipient "
        "three' -> 'Renamed'); reference data cannot be changed by loading books",
        "books.grants:21: organisation R1 is declared twice",
        "books.grants:22: line B11 is already recorded with a different parent",
    ]


def test_a_second_load_reads_the_recorded_rows_a_group_at_a_time(
    session: Session, tmp_path: Path
) -> None:
    """Books of 10,000 organisations and lines loaded again: what comparing them with what
    is recorded holds at its height, a record (every code's id, the codes declared, a
    group's rows: about 415 bytes an organisation and 510 a line; 700 and 910 when every
    recorded row was read first)."""
    count = 10_000
    text = '2017-04-01 stream FUND "Fund"\n' + "".join(
        f'2017-04-01 org R{n:05d} "Recipient {n}"\n  role: recipient\n'
        f'2017-04-01 line FUND L{n:05d} "Project {n}"\n  recipient: R{n:05d}\n'
        for n in range(count)
    )
    load_text(session, tmp_path, text)
    heights: list[int] = []

    def measured(step: Callable[[write.Writer], None]) -> Callable[[write.Writer], None]:
        def run(w: write.Writer) -> None:
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            step(w)
            heights.append(tracemalloc.get_traced_memory()[1] - before)

        return run

    orgs, lines = write.Writer._write_orgs, write.Writer._write_lines
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(write.Writer, "_write_orgs", measured(orgs))
        patch.setattr(write.Writer, "_write_lines", measured(lines))
        tracemalloc.start()
        try:
            again = load_text(session, tmp_path, text)
        finally:
            tracemalloc.stop()
    assert again.skipped["organisation"] == again.skipped["line"] == count
    per_record = [height / count for height in heights]
    assert all(b < 620 for b in per_record), [f"{b:.0f} bytes a record" for b in per_record]
