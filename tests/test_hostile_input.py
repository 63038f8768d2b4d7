"""Careless and hostile input: every case a clear, located error or the right figure."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from grants.ledger.loader import read_books
from tests.conftest import Grants
from tests.helpers import FUND, NOW, books

BASE = (
    FUND
    + """
2017-04-01 award FUND 2017-18 1,000
2017-04-01 allocate FUND 2017-18 A 600
2017-04-01 allocate FUND 2017-18 A1 300
  share: 50.00%
2017-05-01 pay FUND 2017-18 A1 50
  id: pay1
  source: "remittance 0041"
"""
)


def load(g: Grants, path: Path) -> dict:
    result = g("ledger", "load", str(path), "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def journal(g: Grants) -> list[dict]:
    return json.loads(g("journal", "--json").output)


def test_an_export_loaded_back_changes_nothing(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    assert (
        grants("pay", "FUND", "2017-18", "A1", "10", "--reason", "top-up\nsecond line").exit_code
        == 0
    )
    assert grants("reverse", "pay1", "--reason", "wrong line").exit_code == 0
    before = journal(grants)
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    report = load(grants, out / "main.grants")
    assert report["created"].get("journal entry", 0) == 0
    assert journal(grants) == before


def test_a_second_identical_payment_with_its_own_source_is_recorded(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE))
    second = BASE + '2017-05-01 pay FUND 2017-18 A1 50\n  source: "remittance 0042"\n'
    report = load(grants, books(tmp_path, second, "second.grants"))
    assert report["created"]["journal entry"] == 1
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert next(r for r in rows if r["line"] == "A1")["paid"] == "100.00"


def test_the_database_password_never_reaches_the_journal(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    assert grants("pay", "FUND", "2017-18", "A1", "1", "--date", "2017-06-01").exit_code == 0
    origin = journal(grants)[-1]["origin"]
    assert origin == "command: grants pay FUND 2017-18 A1 1 --date 2017-06-01"
    assert grants.url not in origin


def test_errors_are_located_in_the_file_being_checked(grants: Grants, tmp_path: Path) -> None:
    load(grants, books(tmp_path, BASE))
    out = tmp_path / "export"
    assert grants("ledger", "export", "-o", str(out)).exit_code == 0
    text = (
        (out / "ledger-0001.grants")
        .read_text()
        .replace("pay FUND 2017-18 A1 50.00", "pay FUND 2017-18 A1 5,000.00")
    )
    (out / "ledger-0001.grants").write_text(text)
    line = text.splitlines().index("2017-05-01 pay FUND 2017-18 A1 5,000.00") + 1
    result = grants("ledger", "check", str(out / "main.grants"))
    assert result.exit_code == 1
    assert (
        f"ledger-0001.grants:{line}: pay of £5,000.00 to FUND 2017-18 A1 would take"
        in result.output
    )


def test_reversing_one_entry_twice_in_a_file_is_a_located_error(
    grants: Grants, tmp_path: Path
) -> None:
    text = BASE + '2017-06-01 reverse pay1\n  reason: "x"\n2017-06-02 reverse pay1\n  reason: "y"\n'
    result = grants("ledger", "check", str(books(tmp_path, text)))
    assert result.exit_code == 1
    assert "books.grants:24: entry pay1 is reversed twice" in result.output


def test_an_id_added_to_a_recorded_entry_can_then_be_reversed(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE))
    text = BASE + "2017-04-01 allocate FUND 2017-18 B 100\n"
    load(grants, books(tmp_path, text))
    named = text.replace(
        "2017-04-01 allocate FUND 2017-18 B 100\n",
        "2017-04-01 allocate FUND 2017-18 B 100\n  id: b100\n",
    )
    named += '2017-07-01 reverse b100\n  reason: "not agreed"\n'
    report = load(grants, books(tmp_path, named))
    assert report["created"] == {"journal entry": 1}
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert next(r for r in rows if r["line"] == "B")["allocated"] == "0.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["award", "FUND", "2017-18", "1" + "0" * 30], "larger than one entry may hold"),
        (["award", "FUND", "2017-18", "١٢٣"], "is not an amount of money"),
        (["award", "FUND", "２０１７-１８", "1"], "is not a financial year"),
        (["award", "FUND", "2017-18", "1", "--stated", "abc"], "'abc' is not an amount of money"),
        (
            ["award", "FUND", "2017-18", "1", "--tranche", "a+b"],
            "--tranche 'a+b' is not a valid code",
        ),
        (
            ["allocate", "FUND", "2017-18", "new line", "1", "--name", "X"],
            "line 'new line' is not a valid code",
        ),
        (["reverse", "", "--reason", "x"], "give the entry to reverse"),
        (["reverse", "²", "--reason", "x"], "there is no journal entry '²'"),
        (["reverse", "9" * 30, "--reason", "x"], "there is no journal entry"),
        (["--actor", "x" * 101, "balance"], "give a name of 1 to 100 printable characters"),
    ],
)
def test_bad_command_input(grants: Grants, tmp_path: Path, args: list[str], message: str) -> None:
    load(grants, books(tmp_path, BASE))
    before = journal(grants)
    result = grants(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert "recorded entry" not in result.output
    assert journal(grants) == before


def test_a_port_that_is_not_a_number() -> None:
    result = Grants("postgresql://u@localhost:notaport/db")("balance")
    assert result.exit_code == 1
    assert "is not a database URL" in result.output


def test_byte_order_mark_and_form_feeds(tmp_path: Path) -> None:
    text = "\ufeff" + FUND.replace(
        "2017-04-01 line FUND B", "; page break\x0c\n2017-04-01 line FUND B"
    )
    text += "2017-04-01 award FUND 2017-18 1,00\n"
    problems = [str(p) for p in read_books(books(tmp_path, text), "t", NOW).problems]
    expected_line = text.count("\n")  # the award is the last line
    assert [p.rsplit("/", 1)[-1] for p in problems] == [
        f"books.grants:{expected_line}: '1,00' is not an amount of money: write it like 1234.50, "
        "£1,234.50 or (1,234.50) for a negative amount"
    ]


@pytest.mark.parametrize(
    ("assertion", "message"),
    [
        (
            "balance FUND 2017-18 awarded:NOPE 0",
            "FUND 2017-18 has no award tranche 'NOPE' (tranches: none)",
        ),
        ("balance FUND 2017-18 stated:A 0", "stated takes no target"),
        ("balance FUND 2017-18 allocated:A+A 1200", "'A+A' names the same target twice"),
        ("balance FUND 2017-18 allocated:ZZ 0", "there is no line 'ZZ' in stream FUND"),
    ],
)
def test_assertion_targets_are_checked(
    grants: Grants, tmp_path: Path, assertion: str, message: str
) -> None:
    result = grants(
        "ledger", "check", str(books(tmp_path, BASE + "2018-03-31 " + assertion + "\n"))
    )
    assert result.exit_code == 1
    assert message in result.output


def test_a_numeric_books_id_is_not_confused_with_an_entry_number(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, books(tmp_path, BASE.replace("  id: pay1", "  id: 3")))
    result = grants("reverse", "3", "--reason", "x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["amount"] == "-50.00"


def test_reprofiling_part_of_a_tranche(grants: Grants, tmp_path: Path) -> None:
    text = (
        FUND
        + "2017-04-01 award FUND 2017-18 500\n  tranche: MAIN\n2017-10-01 reprofile FUND 2017-18 2018-19 100\n  tranche: MAIN\n"
    )
    load(grants, books(tmp_path, text))
    rows = json.loads(grants("balance", "--stream", "FUND", "--json").output)
    assert [(r["year"], r["awarded"]) for r in rows if r["line"] is None] == [
        ("2017-18", "400.00"),
        ("2018-19", "100.00"),
    ]


def test_a_balance_holds_at_the_start_of_its_date(grants: Grants, tmp_path: Path) -> None:
    text = (
        BASE + "2017-04-30 balance FUND 2017-18 paid 0\n2017-05-02 balance FUND 2017-18 paid 50\n"
    )
    load(grants, books(tmp_path, text))
    # A later payment does not break the books: loading them again changes nothing.
    assert grants("pay", "FUND", "2017-18", "A1", "10", "--date", "2017-06-01").exit_code == 0
    report = load(grants, books(tmp_path, text))
    assert report["created"] == {}
    wrong = text.replace("balance FUND 2017-18 paid 0\n", "balance FUND 2017-18 paid 50\n")
    result = grants("ledger", "check", str(books(tmp_path, wrong, "wrong.grants")))
    assert result.exit_code == 1
    assert "FUND 2017-18 paid is 0.00 (£), not 50.00 as asserted" in result.output


def test_check_reports_every_refused_entry(grants: Grants, tmp_path: Path) -> None:
    text = (
        BASE
        + "2017-06-01 pay FUND 2017-18 B 1\n2017-06-02 allocate FUND 2017-18 B 500\n2017-06-03 pay FUND 2017-18 A1 1,000\n"
    )
    result = grants("ledger", "check", str(books(tmp_path, text)))
    assert result.exit_code == 1
    lines = [line.rsplit("/", 1)[-1] for line in result.output.splitlines()]
    assert lines[0].startswith("books.grants:22: pay of £1.00 to FUND 2017-18 B would take")
    assert lines[1].startswith("books.grants:23: allocate of £500.00 to FUND 2017-18 B would take")
    assert lines[2].startswith("books.grants:24: pay of £1,000.00 to FUND 2017-18 A1 would take")
    assert result.output.splitlines()[3] == f"3 error(s) in {tmp_path / 'books.grants'}"


def test_an_intended_over_allocation_is_reported_on_every_load(
    grants: Grants, tmp_path: Path
) -> None:
    text = BASE + "2017-06-01 allocate FUND 2017-18 B 500\n  over-allocation: yes\n"
    path = books(tmp_path, text)
    first = load(grants, path)
    again = load(grants, path)
    assert [w.rsplit("/", 1)[-1] for w in first["warnings"]] == [
        "books.grants:22: warning: allocate of £500.00 to FUND 2017-18 B over-allocates the "
        "unallocated award of FUND 2017-18 by £100.00 (marked as intended)"
    ]
    assert [w.rsplit("/", 1)[-1] for w in again["warnings"]] == [
        "books.grants:22: warning: FUND 2017-18 is over-allocated by £100.00 (marked as intended)"
    ]
