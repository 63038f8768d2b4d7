"""Migration 0008: a ledger goes down to 0005 and up again with its chain intact (profile_amount
rebuilt on SQLite, its guards put back), takes later-years amounts and the books' names and
headings, and goes back to 0005 only while it holds none."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from grants.db import guards, migrate
from grants.db.engine import make_engine
from grants.db.records import GUARDED
from tests.conftest import OFFICER, Grants, add_person

BOOKS = """\
2020-04-01 org F "A funder"
  role: funder
2020-04-01 stream CAP "A capital programme"
  kind: capital-grant
  funder: F
2020-04-01 award CAP 2020-21:2021-22 1,000,000
2020-04-01 programme CAP plan "The plan"
2020-04-01 profile CAP plan payments P "Payments"
  2020/21: 400,000
  2021/22: 600,000
"""
LATER = """
2020-05-01 tranche CAP NONE "A tranche named before it is used"
2020-05-01 profile CAP plan payments Q "Later payments"
  2021/22: 100,000
  later: 250,000
"""


def test_a_ledger_at_0005_upgrades_and_goes_back(empty_url: str, tmp_path: Path) -> None:
    books = tmp_path / "books.grants"
    books.write_text(BOOKS, encoding="utf-8")
    engine = make_engine(empty_url)
    grants = Grants(empty_url)
    try:
        migrate.upgrade(engine)
        assert grants("ledger", "load", str(books)).exit_code == 0
        head = grants("verify", "--head").output.strip()
        amounts = "SELECT id, profile_id, year, amount_pence FROM profile_amount ORDER BY id"
        with engine.connect() as connection:
            before = connection.execute(text(amounts)).all()
        # Down to 0005 (the profile amounts' table rebuilt on SQLite) and up again: every
        # record kept, the chain as it was.
        migrate.downgrade(engine, "0005")
        with engine.connect() as connection:
            assert connection.execute(text(amounts)).all() == before
        migrate.upgrade(engine)
        assert grants("verify").exit_code == 0
        assert grants("verify", "--head").output.strip() == head
        with engine.connect() as connection:
            assert guards.check(connection, GUARDED) == []
            with pytest.raises(Exception, match="append-only"):
                connection.execute(text("UPDATE profile_amount SET amount_pence = 1"))
        books.write_text(BOOKS + LATER, encoding="utf-8")
        # The ledger has had no people so far (revision 0005 cannot hold them): its first
        # officer loads the later books.
        add_person(empty_url, OFFICER, ["admin", "officer"])
        loaded = grants("ledger", "load", str(books))
        assert loaded.exit_code == 0, loaded.output
        assert grants("verify").exit_code == 0
        shown = grants("programme", "--json")
        assert '"later": "250000.00"' in shown.output
        with pytest.raises(RuntimeError, match="the ledger holds people"):
            migrate.downgrade(engine, "0005")
    finally:
        engine.dispose()


def test_an_empty_ledger_goes_down_and_up(empty_url: str) -> None:
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine)
        migrate.downgrade(engine, "0005")
        with engine.connect() as connection:
            later = ("stream_text", "person", "person_event", "credential", "audit_event",
                     "form_issue", "claim", "commitment", "instalment", "indicator",
                     "spend_profile", "project_claim", "output_target", "output_actual")  # fmt: skip
            assert guards.check(connection, [t for t in GUARDED if t not in later]) == []
        migrate.upgrade(engine)
        with engine.connect() as connection:
            assert guards.check(connection, GUARDED) == []
    finally:
        engine.dispose()


def test_0008_goes_back_only_while_it_holds_no_names_or_headings(empty_url: str) -> None:
    """A ledger at 0009 (before people) that holds a books heading is not taken below 0008,
    where its table would be lost."""
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0009")
        with engine.begin() as connection:
            connection.execute(
                text("INSERT INTO stream (code, name, kind, day) "
                     "VALUES ('CAP', 'A capital programme', 'capital-grant', '2020-04-01')")
            )  # fmt: skip
            connection.execute(
                text("INSERT INTO stream_text (stream_id, kind, code, text, day) "
                     "SELECT id, 'heading', 'resources.title', 'Resources', '2020-04-01' "
                     "FROM stream")
            )  # fmt: skip
        with pytest.raises(RuntimeError, match="tranche names or headings"):
            migrate.downgrade(engine, "0005")
    finally:
        engine.dispose()
