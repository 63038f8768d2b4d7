"""The books reader works out each entry's key once, the same as the entry's content gives."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from grants.ledger.parser import _strip_comment
from grants.ledger.stream import entries_again
from grants.ledger.validate import read_books
from grants.periods import FinancialYear, Period, parse_period
from tests.helpers import FUND, books

ENTRIES = """
2017-04-01 award FUND 2017-18 1,000.00
2017-04-01 allocate FUND 2017-18 A 10.00 ; twice, the same
2017-04-01 allocate FUND 2017-18 A 10.00
2017-04-02 pay FUND 2017-18 A 5.00
  source: "paper; page 2"
"""


def test_each_entry_is_keyed_once_as_its_content_keys_it(tmp_path: Path) -> None:
    read = read_books(books(tmp_path, FUND + ENTRIES), "tester")
    assert not read.problems
    assert read.entry_count == 4 and not read.entries  # counted, not kept
    items = [item for _, item, _, _ in entries_again(read)]
    assert not read.problems
    assert [i.occurrence for i in items] == [0, 0, 1, 0]
    for item in items:
        fresh = dataclasses.replace(item, derived=None)
        assert item.derived == fresh.content_key()
    assert len({i.idempotency_key() for i in items}) == 4
    assert items[3].source == "paper; page 2"


def test_a_period_hashes_by_its_years() -> None:
    first = parse_period("2017-18:2019-20")
    same = Period(FinancialYear(2017), FinancialYear(2019))
    assert first == same and hash(first) == hash(same)
    assert {first: 1}[same] == 1
    later = dataclasses.replace(first, last=FinancialYear(2020))
    assert hash(later) != hash(first) and later != first


def test_a_comment_is_cut_where_the_books_begin_one() -> None:
    assert _strip_comment("a b ; c") == "a b "
    assert _strip_comment(";c") == ""
    assert _strip_comment("a;b") == "a;b"
    assert _strip_comment('a "x ; y" ; z') == 'a "x ; y" '
    assert _strip_comment('a "x \\" ; y"') == 'a "x \\" ; y"'
    assert _strip_comment("a\x0c; z") == "a\x0c"
