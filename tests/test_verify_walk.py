"""How `grants verify` walks the chain: the faster paths it takes must find exactly what the
general ones find (tests/test_tamper.py attacks the record itself)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Connection, text

from grants.db.records import BY_TABLE
from grants.db.seal import Records, accounts_of
from grants.services.verify import verify
from tests.conftest import Grants
from tests.test_tamper import unguard


@pytest.fixture
def attack(oxfordshire: Grants, rolled_back: Connection) -> Connection:
    """The Oxfordshire ledger, in a transaction that is rolled back."""
    return rolled_back


def _read(connection: Connection, gathered_apart: bool) -> tuple[list[Any], list[Any]]:
    """Every entry with its postings, and the posting rows of no entry: read in the entries'
    own loop, or (``gathered_apart``) by the general rule for rows that belong to a record."""
    reader = Records(connection, BY_TABLE["entry"], 0, accounts_of(connection))
    if gathered_apart:
        reader._postings = False  # the rows of any record, the accounts put in as they are
    return list(reader), reader.rest_of_children()


def test_entries_read_with_their_postings_are_the_records_the_general_rule_reads(
    attack: Connection,
) -> None:
    """Postings naming no entry (0), an entry not made yet, and one out of place among
    another entry's: read with the entries, each row goes where the general rule puts it."""
    unguard(attack, "posting")
    # Rows naming no entry: the entry's key checked at a commit that never comes (SQLite),
    # or not at all (PostgreSQL, as a superuser).
    if attack.dialect.name == "sqlite":
        attack.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
    else:
        attack.exec_driver_sql("ALTER TABLE posting DISABLE TRIGGER ALL")
    top = attack.execute(text("SELECT MAX(id) FROM posting")).scalar_one()
    newest = attack.execute(text("SELECT MAX(id) FROM entry")).scalar_one()
    for offset, entry in ((1, 0), (2, newest + 1), (3, 7), (4, -3)):
        attack.execute(
            text(
                "INSERT INTO posting (id, entry_id, account_id, amount_pence) "
                "SELECT :i, :e, account_id, amount_pence FROM posting WHERE id = 1"
            ),
            {"i": top + offset, "e": entry},
        )
    fast, fast_rest = _read(attack, gathered_apart=False)
    general, general_rest = _read(attack, gathered_apart=True)
    assert fast == general
    assert fast_rest == general_rest
    assert {row[0] for row in fast_rest} == {0, -3, newest + 1}
    seventh = next(postings for record_id, _, postings in fast if record_id == 7)
    assert top + 3 in [posting[0] for posting in seventh]


def test_a_digest_that_is_not_text_of_hexadecimal_digits_is_named(attack: Connection) -> None:
    """A seal's digest rewritten with a character that is not ASCII: the link is named as
    changed, and the next one too (it cannot follow from that digest), as with any other
    wrong digest; verify does not stop."""
    unguard(attack, "seal")
    seq = attack.execute(text("SELECT seq FROM seal WHERE tbl = 'entry' AND row_id = 20")).scalar()
    attack.execute(
        text("UPDATE seal SET digest = 'é' || substr(digest, 2) WHERE seq = :s"), {"s": seq}
    )
    result = verify(attack)
    changed = [(p.seq, p.check) for p in result.problems if p.check != "guard"]
    assert changed == [(seq, "chain"), (seq + 1, "chain")]
    assert (
        str(result.first)
        == f"entry 20: has changed since it was sealed (link {seq:,} of the chain)"
    )


def test_an_entry_posting_twice_to_an_account_it_should_post_to_once_is_named(
    attack: Connection,
) -> None:
    """Postings compared account by account: an allocation whose line's account is renamed
    to the award's other account posts to one account twice, which its shape never does."""
    entry = attack.execute(
        text(
            "SELECT e.id FROM entry e JOIN line l ON l.id = e.line_id WHERE e.kind = 'allocate' "
            "AND l.code = 'PH' AND e.amount_pence = 5065600"
        )
    ).scalar_one()
    postings = attack.execute(
        text("SELECT id, account_id FROM posting WHERE entry_id = :e ORDER BY id"), {"e": entry}
    ).all()
    unguard(attack, "posting")
    attack.execute(
        text("UPDATE posting SET account_id = :a WHERE id = :p"),
        {"a": postings[0][1], "p": postings[1][0]},
    )
    result = verify(attack)
    found = [p for p in result.problems if p.check == "postings"]
    assert [(p.table, p.row_id) for p in found] == [("entry", entry)]
    assert "are not the ones its allocate of £50,656.00 makes" in found[0].message
