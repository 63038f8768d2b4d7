"""The books' arguments and metadata checked as text, whatever path a value takes: plain
printable ASCII (nearly every value of long books) passes as it is, and everything else a
field refuses is still refused at its line, on the first read and on the second (the one a
load records from)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Entry, Organisation
from grants.errors import BooksError
from grants.ledger.loader import read_books
from grants.ledger.stream import entries_again
from tests.helpers import FUND, NOW, books, load_text

LONG = "9" * 1_001


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # A control character typed into an argument: printable ASCII it is not.
        (
            '2017-04-01 award FUND "2017-18\x07" 100\n',
            "books.grants:1: award period '2017-18\\x07' has U+0007 BELL at character 8",
        ),
        # A tab, escaped inside quotes, in a value (only a note may hold one).
        (
            '2017-04-01 allocate FUND 2017-18 "A\\tB" 100\n',
            "books.grants:1: allocate line 'A\\tB' has U+0009 TAB at character 2",
        ),
        # All printable ASCII, but longer than a value may be.
        (
            f"2017-04-01 award FUND 2017-18 {LONG}\n",
            "books.grants:1: award amount is 1,001 characters long, more than the 1,000",
        ),
        # A metadata value held to its column's size (`actor:` at most 100 characters).
        (
            "2017-04-01 award FUND 2017-18 100\n  actor: " + "a" * 101 + "\n",
            "books.grants:2: actor is 101 characters long, more than the 100 it may have",
        ),
        (
            '2017-04-01 award FUND 2017-18 100\n  source: "p\\tq"\n',
            "books.grants:2: source 'p\\tq' has U+0009 TAB at character 2",
        ),
        (
            '2017-04-01 org X "Name\\x"\n  role: funder\n2017-04-01 org Y "' + "N" * 201 + '"\n',
            "books.grants:3: organisation name is 201 characters long, more than the 200",
        ),
        # An entry's own metadata, read only when an entry has any.
        (
            "2017-04-01 allocate FUND 2017-18 A 100\n  over-allocation: maybe\n",
            "books.grants:2: over-allocation is yes or no",
        ),
        (
            "2017-04-01 award FUND 2017-18 100\n  tranche: first\n",
            "books.grants:1: 'first' is not a valid tranche code",
        ),
    ],
)
def test_a_refused_value_is_located(tmp_path: Path, text: str, expected: str) -> None:
    found = [str(p) for p in read_books(books(tmp_path, text), "t", NOW).problems]
    assert any(expected in p for p in found), found


def test_the_second_read_refuses_as_the_first(tmp_path: Path) -> None:
    """The read a load records from checks every value again, as the first read did."""
    path = books(tmp_path, '2017-04-01 award FUND "2017-18\x07" 100\n')
    first = read_books(path, "t", NOW)
    again = read_books(path, "t", NOW)
    again.problems.clear()
    assert list(entries_again(again)) == []
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems] != []


def test_values_and_entry_metadata_are_recorded_as_written(
    tmp_path: Path, session: Session
) -> None:
    """Names are kept NFC-normalised, other values as they are (ASCII or not), and an
    entry's metadata reaches its record."""
    text = (
        FUND.replace('"A funder"', '"Cafe\u0301 funder"')  # e + combining acute: NFC is one é
        + """
2017-04-01 award FUND 2017-18 1,000
  source: "Board paper, 1 April \u2014 item 4"
2017-04-01 allocate FUND 2017-18 A 1,200
  over-allocation: yes
  share: 41.75%
  note: "first\tsecond"
2017-04-01 award FUND 2018-19 5
"""
    )
    load_text(session, tmp_path, text)
    assert session.scalar(select(Organisation.name).where(Organisation.code == "FUNDER")) == (
        "Caf\u00e9 funder"
    )
    rows = session.execute(
        select(Entry.kind, Entry.tranche, Entry.over_allocation, Entry.share, Entry.source,
               Entry.note).order_by(Entry.id)
    ).all()  # fmt: skip
    assert [tuple(r) for r in rows] == [
        ("award", None, False, None, "Board paper, 1 April \u2014 item 4", None),
        ("allocate", None, True, "41.75%", None, "first\tsecond"),
        ("award", None, False, None, None, None),
    ]


def test_a_refused_entry_records_nothing(tmp_path: Path, session: Session) -> None:
    with pytest.raises(BooksError):
        load_text(session, tmp_path, FUND + '2017-04-01 award FUND 2017-18 "1\t000"\n')
    assert session.scalar(select(Entry.id)) is None
