"""A books reversal's key, whatever the books call the entry it reverses: later books may
give an entry already recorded an id (or another id) only to reverse it by that id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grants.ledger import write_journal
from grants.services.journal_reversal import Reversals
from tests.conftest import Grants
from tests.helpers import FUND, books

PAYMENTS = """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600

2017-05-01 pay FUND 2017-18 A 10
2017-05-01 pay FUND 2017-18 A 10{second}
2017-05-02 pay FUND 2017-18 A 20
  id: {third}
"""
FIRST = FUND + PAYMENTS.format(second="", third="early")
# The second of the two identical payments given an id only now, the third renamed; both
# reversed by the names these books give them, and a payment after.
LATER = (
    FUND
    + PAYMENTS.format(second="\n  id: late", third="renamed")
    + """
2017-07-01 reverse late
  reason: "paid twice"
2017-07-01 reverse renamed
  reason: "paid against the wrong line"
2017-07-02 pay FUND 2017-18 A 5
"""
)


def _journal(grants: Grants) -> list[dict[str, object]]:
    listed = grants("journal", "--json")
    assert listed.exit_code == 0, listed.output
    rows: list[dict[str, object]] = json.loads(listed.output)
    return rows


def _loaded(grants: Grants, path: Path) -> int:
    """Load the books; how many journal entries they added."""
    result = grants("ledger", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    return int(json.loads(result.output)["created"].get("journal entry", 0))


def test_an_entry_named_only_by_later_books_is_reversed_under_its_stored_ref(
    tmp_path: Path, grants: Grants
) -> None:
    assert _loaded(grants, books(tmp_path, FIRST, "first.grants")) == 5
    later = books(tmp_path, LATER, "later.grants")
    assert _loaded(grants, later) == 3
    rows = _journal(grants)
    refs = {row["entry"]: row["ref"] for row in rows}
    reverses = [row["reverses"] for row in rows if row["reverses"] is not None]
    assert reverses == [4, 5]  # the second payment of 10, and the payment of 20
    assert refs[5] == "early"
    # The ledger holds nothing anyone changed: verify says so, and the export is written.
    checked = grants("verify")
    assert checked.exit_code == 0, checked.output
    assert _loaded(grants, later) == 0
    other = grants.restored(tmp_path / "export", tmp_path / "restored.db")
    text = "".join(p.read_text() for p in sorted((tmp_path / "export").glob("*.grants")))
    assert f"reverse {refs[4]}\n" in text and "reverse early\n" in text
    assert "reverse late" not in text and "reverse renamed" not in text
    assert "\n  key: " not in text  # each key is the one its words give
    assert other("verify").exit_code == 0
    # The books load on the restored ledger as on the one they were first loaded on.
    assert _loaded(other, later) == 0


def test_books_loaded_when_such_a_reversal_was_keyed_by_the_books_name_load_again(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ledger that recorded the reversals under the names the later books gave (before
    they were keyed by the stored ref) takes the same books again as nothing new."""
    _loaded(grants, books(tmp_path, FIRST, "first.grants"))
    later = books(tmp_path, LATER, "later.grants")
    with monkeypatch.context() as patched:
        patched.setattr(Reversals, "_keyed_by_stored_ref", lambda self, item, key, *_: (key, False))
        assert _loaded(grants, later) == 3
    refs = [row["ref"] for row in _journal(grants)]
    assert _loaded(grants, later) == 0
    assert [row["ref"] for row in _journal(grants)] == refs


TWICE = (
    FUND
    + PAYMENTS.format(second="", third="renamed")
    + """
2017-07-01 reverse {one}
  reason: "paid twice"
2017-07-01 reverse {other}
  reason: "paid twice"
"""
)


@pytest.mark.parametrize("batch", [10_000, 1])
@pytest.mark.parametrize(("one", "other"), [("early", "renamed"), ("renamed", "early")])
def test_an_entry_reversed_under_two_names_is_refused_wherever_the_batches_fall(
    tmp_path: Path, grants: Grants, monkeypatch: pytest.MonkeyPatch, batch: int, one: str,
    other: str,
) -> None:  # fmt: skip
    """Its ref and an id the books give it only now name one entry, and both reversals have
    one key: the second is refused as reversing the entry twice, in one batch or in two
    (as when ten thousand entries lie between them), not skipped as recorded."""
    _loaded(grants, books(tmp_path, FIRST, "first.grants"))
    monkeypatch.setattr(write_journal, "BATCH", batch)
    result = grants("ledger", "load", str(books(tmp_path, TWICE.format(one=one, other=other))))
    assert result.exit_code == 1
    assert f"entry {other} is reversed twice; an entry is reversed once" in result.output
    assert len(_journal(grants)) == 5


def test_an_entry_reversed_already_is_not_reversed_again_under_its_new_name(
    tmp_path: Path, grants: Grants
) -> None:
    """Books that reversed the entry by its ref, loaded again with a second reversal of it
    by an id given only now: the first is recorded, the second refused."""
    _loaded(grants, books(tmp_path, FIRST, "first.grants"))
    reversed_once = TWICE.format(one="early", other="renamed").rsplit("2017-07-01", 1)[0]
    assert _loaded(grants, books(tmp_path, reversed_once, "once.grants")) == 1
    result = grants(
        "ledger", "load", str(books(tmp_path, TWICE.format(one="early", other="renamed")))
    )
    assert result.exit_code == 1
    assert "entry renamed was already reversed by entry 6" in result.output
    assert len(_journal(grants)) == 6
