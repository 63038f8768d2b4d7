"""An entry's ref: a books id, or the one its key gives (indexed only as the key), on SQLite
and PostgreSQL."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from grants.db import migrate
from grants.db.engine import make_engine, make_session_factory
from grants.errors import RuleError
from grants.ledger.loader import load
from grants.periods import parse_period
from grants.services.journal import NewEntry
from grants.services.rules import Operation
from grants.services.verify import verify
from tests.conftest import Grants
from tests.helpers import FUND, NOW, books, entry, load_text, record, reversal

Y = parse_period("2017-18")
KEY = "0123456789ab" + "c" * 28  # a key as the books give it: 40 hex digits


@pytest.fixture
def fund(session: Session, tmp_path: Path) -> Session:
    load_text(session, tmp_path, FUND)
    record(session, entry("award", 1000))
    return session


def allocation(amount: int, *, key: str | None = None, ref: str | None = None) -> NewEntry:
    op = Operation("allocate", "FUND", Y, amount * 100, line="A")
    return NewEntry(op, date(2017, 4, 2), "tester", NOW, ref=ref, key=key)


def refs(session: Session) -> list[str]:
    return list(session.execute(text("SELECT ref FROM entry ORDER BY id")).scalars())


def test_an_entry_without_an_id_is_named_and_reversed_by_the_ref_its_key_gives(
    fund: Session,
) -> None:
    record(fund, allocation(100, key=KEY))
    assert refs(fund)[-1] == "e0123456789ab"
    record(fund, reversal("e0123456789ab"))
    assert fund.execute(text("SELECT reverses_id FROM entry ORDER BY id DESC")).first() == (2,)


def test_a_books_id_names_its_entry_and_cannot_be_given_twice(fund: Session) -> None:
    record(fund, allocation(100, ref="GRANT-1"))
    before = refs(fund)
    with pytest.raises(RuleError, match="id GRANT-1 is already entry 2's"):
        record(fund, allocation(200, ref="GRANT-1"))
    with pytest.raises(RuleError, match="id GRANT-2 is given to two entries"):
        record(fund, allocation(300, ref="GRANT-2"), allocation(400, ref="GRANT-2"))
    assert refs(fund) == before
    record(fund, reversal("GRANT-1"))


def test_a_books_id_may_not_be_the_ref_another_entrys_key_gives(fund: Session) -> None:
    record(fund, allocation(100, key=KEY))
    with pytest.raises(RuleError, match="id e0123456789ab is already entry 2's"):
        record(fund, allocation(200, ref="e0123456789ab"))
    # Nor the other way round: the key's entry after the id, recorded or in the same batch.
    other = "fedcba987654" + "0" * 28
    record(fund, allocation(300, ref="efedcba987654"))
    with pytest.raises(RuleError, match="is another entry's id"):
        record(fund, allocation(400, key=other))
    third = "aaaaaaaaaaaa" + "1" * 28
    with pytest.raises(RuleError, match="is another entry's id"):
        record(fund, allocation(5, ref="eaaaaaaaaaaaa"), allocation(6, key=third))
    with pytest.raises(RuleError, match="is the ref another entry's key gives"):
        record(fund, allocation(6, key=third), allocation(5, ref="eaaaaaaaaaaaa"))
    assert refs(fund)[-1] == "efedcba987654"


def test_an_id_that_is_its_own_keys_ref_is_refused_when_another_entry_has_it(
    fund: Session,
) -> None:
    # The first entry is given the id e0123456789ab; the second's key gives it that ref, and
    # it names it as its id too: two entries would answer to one ref.
    record(fund, allocation(100, ref="e0123456789ab"))
    before = refs(fund)
    with pytest.raises(RuleError, match="is another entry's id"):
        record(fund, allocation(200, key=KEY, ref="e0123456789ab"))
    other = "fedcba987654" + "0" * 28  # and the same in one batch
    with pytest.raises(RuleError, match="is another entry's id"):
        record(
            fund, allocation(5, ref="efedcba987654"), allocation(6, key=other, ref="efedcba987654")
        )
    assert refs(fund) == before
    # Its own ref, named by itself, with nobody else holding it, is as if no id were given.
    record(fund, allocation(300, key="f" * 40, ref="e" + "f" * 12))
    assert refs(fund)[-1] == "e" + "f" * 12


def test_a_ledger_keeps_its_refs_and_its_chain_through_0015(empty_url: str, tmp_path) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0014")
        factory = make_session_factory(engine)
        with factory() as session, session.begin():
            load(session, books(tmp_path, FUND), "tester", NOW)  # an empty ledger, no people
            award = entry("award", 1000)
            award.key = None  # keyed as the books key it, which verify recomputes
            record(session, award, allocation(100, ref="GRANT-1"))
            keyed = allocation(200)  # its key as the books give it, from what it says
            record(session, keyed)
        name = f"e{keyed.content_key()[:12]}"
        migrate.upgrade(engine)
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            result = verify(session.connection())
            assert result.ok, [str(p) for p in result.problems]
            assert refs(session)[-2:] == ["GRANT-1", name]
        with factory() as session, session.begin():
            with pytest.raises(RuleError, match="already entry"):
                record(session, allocation(300, ref="GRANT-1"))
        with factory() as session, session.begin():
            undo = reversal(name)
            undo.key = None
            record(session, undo)
        migrate.downgrade(engine, "0014")
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            assert verify(session.connection()).ok
        migrate.upgrade(engine)
    finally:
        engine.dispose()


def test_an_entry_refused_for_its_id_changes_no_balance_for_the_entries_after_it(
    grants: Grants, tmp_path: Path
) -> None:
    """An allocation refused because its id is another entry's is checked, and refused,
    before it changes any balance: a payment after it, in the same books, finds nothing
    allocated to its line and is refused too (each at its line)."""
    reference = FUND + "2017-04-01 award FUND 2017-18 1,000\n"
    first = reference + "2017-05-01 allocate FUND 2017-18 A 100\n  id: X\n"
    assert grants("ledger", "load", str(books(tmp_path, first, "first.grants"))).exit_code == 0
    later = (
        reference
        + "2017-05-01 allocate FUND 2017-18 B 100\n  id: X\n"
        + "2017-06-01 pay FUND 2017-18 B 100\n"
    )
    path = books(tmp_path, later, "later.grants")
    result = grants("ledger", "load", str(path))
    assert result.exit_code == 1
    lines = len(reference.splitlines())
    assert f"later.grants:{lines + 1}: id X is already entry" in result.output
    assert f"later.grants:{lines + 3}:" in result.output
    assert "short by £100.00" in result.output
