"""The command line as a UK officer uses it: plurals, codes in any case with a suggestion
for a slip, the stream a command needs when there is only one (or a question when there are
several), and a payment recorded twice."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants import formatting
from grants.cli import options
from grants.db.models import Entry
from grants.services.repeated import repeated_payments
from tests.conftest import Grants
from tests.helpers import books, load_text
from tests.test_plans import FUND

SECOND_PCC = """\
2017-04-01 stream CSF2 "Another community safety fund"
  kind: pcc-csf
  funder: PCC
2017-04-01 line CSF2 BANBURY "Banbury"
2017-04-01 award CSF2 2017-18 10,000
2017-04-01 allocate CSF2 2017-18 BANBURY 5,000
"""


@pytest.fixture
def fund(grants: Grants, tmp_path: Path) -> Grants:
    """Two streams, of which one (CSF) is a PCC Community Safety Fund."""
    loaded = grants("ledger", "load", str(books(tmp_path, FUND)))
    assert loaded.exit_code == 0, loaded.output
    return grants


@pytest.fixture
def two_pcc(fund: Grants, tmp_path: Path) -> Grants:
    loaded = fund("ledger", "load", str(books(tmp_path, SECOND_PCC, "second.grants")))
    assert loaded.exit_code == 0, loaded.output
    return fund


@pytest.mark.parametrize(
    ("n", "one", "many", "shown"),
    [
        (0, "entry", None, "0 entries"),
        (1, "entry", None, "1 entry"),
        (2, "journal entry", None, "2 journal entries"),
        (1, "return", None, "1 return"),
        (3, "return form", None, "3 return forms"),
        (2, "tranche", None, "2 tranches"),
        (2, "day", None, "2 days"),
        (1234, "line", None, "1,234 lines"),
        (2, "discrepancy or warning", "discrepancies or warnings", "2 discrepancies or warnings"),
        (1, "discrepancy or warning", "discrepancies or warnings", "1 discrepancy or warning"),
    ],
)
def test_count_says_one_or_many(n: int, one: str, many: str | None, shown: str) -> None:
    assert formatting.count(n, one, many) == shown


def test_summaries_count_in_the_right_number(fund: Grants, tmp_path: Path) -> None:
    checked = fund("ledger", "check", str(books(tmp_path, FUND, "again.grants")))
    assert checked.exit_code == 0, checked.output
    summary = checked.output.strip().splitlines()[-1]
    assert "(s)" not in summary
    assert "2 organisations" in summary and "2 streams" in summary
    assert "1 award" not in summary  # journal entries are counted as such
    assert "2 journal entries" in summary


def test_stream_and_line_codes_in_any_case(fund: Grants) -> None:
    paid = fund("pay", "csf", "2017-18", "cherwell", "100", "--date", "2017-06-30", "--json")
    assert paid.exit_code == 0, paid.output
    last = json.loads(fund("journal", "--stream", "Csf", "--limit", "1", "--json").output)[0]
    assert (last["stream"], last["line"], last["amount"]) == ("CSF", "CHERWELL", "100.00")
    lower = fund("balance", "--stream", "csf", "--year", "2017-18", "--json")
    upper = fund("balance", "--stream", "CSF", "--year", "2017-18", "--json")
    assert lower.exit_code == 0 and lower.output == upper.output


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["balance", "--stream", "cfs"], "there is no funding stream 'CFS'; did you mean CSF?"),
        (["journal", "--stream", "LFG"], "there is no funding stream 'LFG'; did you mean LGF?"),
        (["pay", "CSF", "2017-18", "cherwel", "1"], "CSF has no line 'CHERWEL'; did you mean "
                                                    "CHERWELL?"),
        (["allocate", "CSF", "2017-18", "CHERWELL", "1", "--name", "x", "--recipient", "pc"],
         "there is no organisation 'PC'; did you mean PCC?"),
        (["balance", "--stream", "ZZZZZZ"], "there is no funding stream 'ZZZZZZ'; `grants "
                                            "streams` lists them"),
        (["report", "pcc-template", "--year", "2017-18", "--area", "cherwel"],
         "did you mean Cherwell?"),
    ],
)  # fmt: skip
def test_a_near_miss_is_answered_with_the_likely_code(
    fund: Grants, command: list[str], message: str
) -> None:
    result = fund(*command)
    assert result.exit_code == 1
    assert message in result.output


def test_the_only_pcc_stream_is_the_default(fund: Grants) -> None:
    # FUND holds a PCC stream and a growth fund: the PCC commands need no --stream.
    named = fund("report", "pcc-template", "--stream", "CSF", "--year", "2017-18", "--json")
    default = fund("report", "pcc-template", "--year", "2017-18", "--json")
    assert default.exit_code == 0, default.output
    assert default.output == named.output
    resourcing = fund("report", "resourcing", "--years", "2017-18", "--json")
    assert resourcing.exit_code == 0 and json.loads(resourcing.output)["stream"] == "CSF"
    shown = fund("plan", "show", "--year", "2017-18")
    assert shown.exit_code == 0, shown.output


def test_several_streams_are_listed_when_none_is_named(fund: Grants) -> None:
    # allocations takes any stream: two are held, so it asks (here: no terminal, exit 2).
    result = fund("allocations")
    assert result.exit_code == 2
    assert "name the funding stream with --stream: the ledger holds CSF, LGF" in result.output


@pytest.mark.parametrize(
    "command",
    [
        ["report", "pcc-template", "--year", "2017-18"],
        ["report", "resourcing", "--years", "2017-18"],
        ["returns", "issue", "--year", "2017-18", "--stage", "mid-year", "-o", "out"],
        ["plan", "issue", "--year", "2017-18", "-o", "out"],
        ["plan", "show", "--year", "2017-18"],
    ],
)
def test_two_pcc_streams_without_a_terminal_exit_2_listing_them(
    two_pcc: Grants, command: list[str]
) -> None:
    result = two_pcc(*command)
    assert result.exit_code == 2
    assert "with --stream: the ledger holds CSF, CSF2" in result.output
    assert "LGF" not in result.output  # not a PCC stream


def test_two_pcc_streams_on_a_terminal_ask_which(
    two_pcc: Grants, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(options, "interactive", lambda: True)
    result = two_pcc("report", "pcc-template", "--year", "2017-18", "--json", input="csf2\n")
    assert result.exit_code == 0, result.output
    assert "The ledger holds 2 streams: CSF, CSF2." in result.output
    assert json.loads(result.output[result.output.index("{") :])["stream"] == "CSF2"


def test_a_capital_command_without_a_capital_stream_says_so(fund: Grants) -> None:
    result = fund("programme")
    assert result.exit_code == 1
    assert "the ledger holds no capital stream" in result.output


def test_the_same_payment_twice_on_a_day_is_warned_about(fund: Grants) -> None:
    args = ["pay", "CSF", "2017-18", "CHERWELL", "1,000", "--date", "30/06/2017"]
    first = json.loads(fund(*args, "--json").output)
    assert first["warnings"] == []
    second = fund(*args)
    assert second.exit_code == 0, second.output  # recorded: it may be a second payment
    assert (
        f"warning: a payment of £1,000.00 to CSF CHERWELL on 30 June 2017 is already recorded "
        f"(entry {first['entry']})"
    ) in second.output
    other_day = json.loads(fund(*args[:-1], "01/07/2017", "--json").output)
    other_amount = json.loads(fund(*args[:4], "999", *args[5:], "--json").output)
    assert other_day["warnings"] == [] and other_amount["warnings"] == []


def test_a_reversed_payment_is_not_a_repeat(fund: Grants) -> None:
    args = ["pay", "CSF", "2017-18", "CHERWELL", "500", "--date", "2017-07-03", "--json"]
    first = json.loads(fund(*args).output)
    fund("reverse", str(first["entry"]), "--reason", "keyed against the wrong day")
    again = json.loads(fund(*args).output)
    assert again["warnings"] == []


def test_books_with_a_payment_twice_load_with_a_warning(grants: Grants, tmp_path: Path) -> None:
    text = FUND + (
        "2017-06-30 pay CSF 2017-18 CHERWELL 2,000\n2017-06-30 pay CSF 2017-18 CHERWELL 2,000\n"
    )
    path = books(tmp_path, text)
    loaded = grants("ledger", "load", str(path))
    assert loaded.exit_code == 0, loaded.output
    first, second = FUND.count("\n") + 1, FUND.count("\n") + 2
    assert (
        f"{path}:{second}: warning: a payment of £2,000.00 to CSF CHERWELL on 30 June 2017"
        in loaded.output
    )
    assert f"{path}:{first}: warning: a payment" not in loaded.output
    paid = json.loads(grants("balance", "--stream", "CSF", "--json").output)
    assert [r["paid"] for r in paid if r["line"] == "CHERWELL"] == ["4000.00"]


def test_many_payments_are_checked_for_repeats_as_a_few_are(
    session: Session, tmp_path: Path
) -> None:
    """A load's hundreds of payments are looked over in one pass: the same repeats, naming
    the same earlier entries, as when they are looked up a few at a time."""
    pays = ["2017-06-29 pay CSF 2017-18 CHERWELL 7\n  id: FIRST-SEVEN"]
    for i in range(700):
        day = "2017-06-30" if i % 3 else "2017-07-01"
        pays.append(f"{day} pay CSF 2017-18 CHERWELL {1 + i % 120}")
    pays += [
        "2017-06-29 pay CSF 2017-18 CHERWELL 7",
        '2017-08-01 reverse FIRST-SEVEN\n  reason: "paid twice"',
        "2017-06-29 pay CSF 2017-18 CHERWELL 7",
    ]
    load_text(session, tmp_path, FUND + "\n".join(pays) + "\n")
    ids = list(session.scalars(select(Entry.id).where(Entry.kind == "pay").order_by(Entry.id)))
    assert len(ids) > 700
    few: dict[int, str] = {}
    for start in range(0, len(ids), 100):
        few.update(repeated_payments(session, ids[start : start + 100]))
    many = repeated_payments(session, ids)
    assert len(many) > 400
    assert many == few
