"""`grants reconcile`: the round trip of a return, and each check's findings, exactly."""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import PlanLine
from grants.formatting import day
from grants.money import from_pence
from grants.services import reconcile as reconcile_module
from grants.services import reconcile_context
from grants.services.balances import Balances
from tests.conftest import Grants
from tests.helpers import books
from tests.test_plans import FUND, PLAN
from tests.test_returns import KEEP, fill


def findings(g: Grants, *args: str) -> tuple[int, list[tuple[str, str, str | None, str]]]:
    result = g("reconcile", "--stream", "CSF", "--json", *args)
    # The JSON is the standard output; stderr holds at most the warning that a walk of every
    # link could not be recorded (a test's own session holds the writer's lock).
    assert result.stdout.startswith("{"), result.output
    refused = "warning: this walk of every link is not recorded"
    assert all(line.startswith(refused) for line in result.stderr.splitlines()), result.stderr
    data = json.loads(result.stdout)
    return result.exit_code, [
        (f["severity"], f["check"], f["line"], f["message"]) for f in data["findings"]
    ]


def issue(g: Grants, tmp_path: Path, stage: str) -> Path:
    out = tmp_path / stage
    result = g("returns", "issue", "--stream", "CSF", "--year", "2017-18", "--stage", stage,
               "-o", str(out))  # fmt: skip
    assert result.exit_code == 0, result.output
    return out / f"csf-2017-18-{stage}-cherwell.xlsx"


def test_round_trip_issue_fill_import_reconcile(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    code, before = findings(grants, "--as-of", "2017-11-15")
    assert code == 1
    assert ("error", "returns due", "CHERWELL",
            f"the mid-year return, due {day(date(2017, 10, 31))}, is missing (15 days late)") in before  # fmt: skip
    form = issue(grants, tmp_path, "mid-year")
    # As a recipient would: £1,234 typed as text, the second line's spend and progress blank.
    filled = fill(form, tmp_path / "cherwell.xlsx", D13="£1,234", D14=None)
    result = grants("returns", "import", "--received", "2017-11-03", str(filled))
    assert result.exit_code == 0, result.output
    code, after = findings(grants, "--as-of", "2017-11-15")
    assert code == 0  # warnings only
    assert after == [
        ("warning", "allocated vs award", None, "£41,458.00 of the award is not allocated"),
        ("warning", "returns due", "CHERWELL",
         f"the mid-year return was received {day(date(2017, 11, 3))}, after it was due ({day(date(2017, 10, 31))})"),
        ("warning", "returned figures", "CHERWELL",
         "mid-year: no spend to date given for 'ASB caseworker' (cherwell.xlsx:Return!D14)"),
        ("warning", "returned figures", "CHERWELL",
         "mid-year: no progress or outcomes given for 'ASB caseworker'"),
    ]  # fmt: skip
    # After the year end, the end-year return is missing.
    code, later = findings(grants, "--as-of", "2018-05-15")
    assert code == 1
    assert ("error", "returns due", "CHERWELL",
            f"the end-year return, due {day(date(2018, 4, 30))}, is missing (15 days late)") in later  # fmt: skip


def test_overspend_is_an_error_and_underspend_a_proposed_clawback(
    grants: Grants, tmp_path: Path
) -> None:
    paid = "2017-07-01 pay CSF 2017-18 CHERWELL 58,542\n"
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN + paid))).exit_code == 0
    form = issue(grants, tmp_path, "end-year")
    over = fill(form, tmp_path / "over.xlsx", D13=40000, D14=20000, B10=datetime(2018, 4, 20))
    assert grants("returns", "import", "--received", "2018-04-22", str(over)).exit_code == 0
    code, found = findings(grants, "--as-of", "2018-04-25")
    assert code == 1
    assert ("error", "returned figures", "CHERWELL", "end-year: spend to date £60,000.00 exceeds "
            "the allocation of £58,542.00 by £1,458.00") in found  # fmt: skip
    under = fill(form, tmp_path / "under.xlsx", D13=40000, D14=10000, B10=datetime(2018, 4, 21))
    assert grants("returns", "import", "--received", "2018-04-22", str(under)).exit_code == 0
    _, found = findings(grants, "--as-of", "2018-04-25")
    assert not any("exceeds the allocation" in f[3] for f in found)  # the correction stands
    assert ("warning", "returned figures", "CHERWELL", "end-year: £8,542.00 of the allocation of "
            "£58,542.00 is unspent at the year end: proposed clawback £8,542.00 (paid "
            "£58,542.00, spent £50,000.00)") in found  # fmt: skip
    data = json.loads(grants("reconcile", "--json", "--as-of", "2018-04-25").output)
    clawback = [f for f in data["findings"] if "clawback" in f["message"]]
    assert clawback[0]["amount"] == "8542.00"


def test_plan_that_does_not_match_its_allocation(grants: Grants, tmp_path: Path) -> None:
    text = FUND + PLAN.replace("cost: 18,542", "cost: 18,000")
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    code, found = findings(grants, "--as-of", "2017-05-01")
    assert code == 1
    assert ("error", "plan vs allocation", "CHERWELL",
            "the spending plan totals £58,000.00 against the allocation of £58,542.00 "
            "(difference -£542.00); its lines are 99.1% of the allocation, not 100%") in found  # fmt: skip


def test_a_printed_share_that_is_not_the_lines_share(grants: Grants, tmp_path: Path) -> None:
    text = FUND + (
        '2017-04-01 line CSF DISTRICT "A district"\n  parent: CHERWELL\n'
        "2017-04-01 allocate CSF 2017-18 DISTRICT 10,000\n  share: 18.3%\n"
    )
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    _, found = findings(grants)
    assert ("warning", "children vs parent", "DISTRICT",
            "the printed share 18.3% of CHERWELL is not DISTRICT's £10,000.00 of £58,542.00, "
            "which is 17.0818%") in found  # fmt: skip
    assert ("warning", "children vs parent", "CHERWELL",
            "£48,542.00 of CHERWELL's £58,542.00 is not passed on to the lines beneath it") in found  # fmt: skip


def test_the_workbook_has_a_summary_and_a_sheet_per_recipient_with_inert_text(
    grants: Grants, tmp_path: Path
) -> None:
    text = FUND.replace('2017-04-01 org PCC "The Commissioner"', (
        '2017-04-01 org PCC "The Commissioner"\n  role: funder\n'
        '2017-04-01 org EVIL "=HYPERLINK(\\"http://x\\",\\"y\\")"\n  role: recipient\n'
        '2017-04-01 org X "x"')).replace(
        '2017-04-01 line CSF CHERWELL "Cherwell"',
        '2017-04-01 line CSF CHERWELL "Cherwell"\n  recipient: EVIL') + PLAN  # fmt: skip
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0, text
    path = tmp_path / "reconcile.xlsx"
    result = grants("reconcile", "--as-of", "2017-11-15", "-o", str(path))
    assert result.exit_code == 1  # the missing mid-year return
    assert f"wrote {path}" in result.output
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames[0] == "Summary"
    recipient = wb["Summary"]["A4"]
    assert recipient.value == '=HYPERLINK("http://x","y")' and recipient.data_type == "s"
    assert wb["Summary"]["B6"].value == "=SUM(B4:B5)"
    values = openpyxl.load_workbook(path, data_only=True)["Summary"]
    assert [values.cell(6, c).value for c in range(1, 5)] == ["Total", 1, 1, 0]


def test_nothing_to_claw_back_when_nothing_was_paid(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    form = issue(grants, tmp_path, "end-year")
    under = fill(form, tmp_path / "under.xlsx", D13=40000, D14=10000, B10=datetime(2018, 4, 21))
    assert grants("returns", "import", "--received", "2018-04-22", str(under)).exit_code == 0
    _, found = findings(grants, "--as-of", "2018-04-25")
    assert ("warning", "returned figures", "CHERWELL", "end-year: £8,542.00 of the allocation of "
            "£58,542.00 is unspent at the year end: nothing to claw back, £0.00 was paid; pay no "
            "more than the £50,000.00 spent") in found  # fmt: skip


def test_as_of_leaves_out_what_came_later(grants: Grants, tmp_path: Path) -> None:
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    form = issue(grants, tmp_path, "mid-year")
    filled = fill(form, tmp_path / "mid.xlsx")
    assert grants("returns", "import", "--received", "2017-11-20", str(filled)).exit_code == 0
    _, before = findings(grants, "--as-of", "2017-11-15")  # not yet received
    assert ("error", "returns due", "CHERWELL",
            f"the mid-year return, due {day(date(2017, 10, 31))}, is missing (15 days late)") in before  # fmt: skip
    _, after = findings(grants, "--as-of", "2017-11-25")
    assert ("warning", "returns due", "CHERWELL", f"the mid-year return was received {day(date(2017, 11, 20))}, "
            f"after it was due ({day(date(2017, 10, 31))})") in after  # fmt: skip


def test_an_over_allocation_names_where_the_running_balance_runs_out(
    grants: Grants, tmp_path: Path
) -> None:
    text = """\
2017-04-01 org HMG "Government"
  role: funder
2017-04-01 stream CAP "Capital"
  kind: capital-grant
  funder: HMG
2017-04-01 line CAP SCHOOLS "Schools"
2017-04-01 line CAP ROADS "Roads"
2017-04-01 line CAP ESTATE "Estate"
2017-04-01 line CAP SPARE "Contingency"
2017-04-01 award CAP 2018-19:2027-28 100,000
2017-04-01 allocate CAP 2018-19:2027-28 SCHOOLS 60,000
2017-04-01 allocate CAP 2018-19:2027-28 ROADS 50,000
  over-allocation: yes
2017-04-01 allocate CAP 2018-19:2027-28 ESTATE 7,000
  over-allocation: yes
2017-04-01 allocate CAP 2018-19:2027-28 SPARE 3,000
  over-allocation: yes
"""
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    result = grants("reconcile", "--stream", "CAP", "--json", "--as-of", "2018-01-01")
    found = [
        (f["severity"], f["line"], f["message"], f["amount"])
        for f in json.loads(result.output)["findings"]
        if f["check"] == "allocated vs award"
    ]
    assert found == [
        ("warning", None, "allocations exceed the award by £20,000.00 (an over-allocation "
         "marked as intended: a shortfall to fund)", "20000.00"),
        ("info", "ROADS", "the running balance of the award turns negative at ROADS (Roads): "
         "£10,000.00 of its allocation is not funded; the 2 lines after it (ESTATE, SPARE), "
         "£10,000.00 in all, are not funded", "10000.00"),
    ]  # fmt: skip


def test_a_return_filed_before_the_plan_is_named_and_the_journal_held_to_the_returns(
    grants: Grants, tmp_path: Path
) -> None:
    calendar = "2017-04-01 due CSF 2017-18 mid-year 2017-10-31\n  to: 2017-09-30\n"
    assert grants("ledger", "load", str(books(tmp_path, FUND + calendar))).exit_code == 0
    form = issue(grants, tmp_path, "mid-year")  # no plan yet: the allocation is the one line
    filled = fill(form, tmp_path / "early.xlsx", D13=1000, E13="Started", F13=None, G13=None,
                  H13=None, D14=KEEP)  # fmt: skip
    assert grants("returns", "import", "--received", "2017-10-20", str(filled)).exit_code == 0
    code, found = findings(grants, "--as-of", "2017-11-15")
    assert code == 0
    assert not [f for f in found if f[1] in ("titles vs plan", "journal vs returns")]
    # A plan recorded afterwards: the standing return does not use its titles.
    result = grants("plan", "add", "CSF", "2017-18", "CHERWELL", "IDVA posts", "--cost",
                    "58,542", "--pcc-objective", "1", "--date", "2017-11-01")  # fmt: skip
    assert result.exit_code == 0, result.output
    code, found = findings(grants, "--as-of", "2017-11-15")
    assert code == 1
    assert ("error", "titles vs plan", "CHERWELL", "mid-year: the return reports against "
            "'Cherwell' (early.xlsx:Return!D13), which is not a title of the spending plan: "
            "issue a new form (`grants returns issue --stream CSF --year 2017-18 --stage "
            "mid-year --line CHERWELL`) for the plan's lines") in found  # fmt: skip
    # Spend recorded in the books beside the return's: the journal no longer agrees.
    extra = "2017-09-30 spent CSF 2017-18 CHERWELL 250\n"
    assert grants("ledger", "load", str(books(tmp_path, extra, "extra.grants"))).exit_code == 0
    _, found = findings(grants, "--as-of", "2017-11-15")
    assert ("error", "journal vs returns", "CHERWELL", "the journal holds £1,250.00 of reported "
            "spend, but the standing returns report £1,000.00 (difference £250.00): find the "
            "spend entries made other than by `grants returns import` (`grants journal`) and "
            "reverse them") in found  # fmt: skip


def test_each_plan_is_summed_by_line_and_year_and_a_year_reads_its_own(
    grants: Grants, tmp_path: Path, session: Session
) -> None:
    """The plans are summed by the database, a line and year at a time: each total is the
    sum of that year's plan lines (added up here, one by one, from the rows)."""
    later = (
        "2018-04-01 award CSF 2018-19 100,000\n"
        "2018-04-01 allocate CSF 2018-19 CHERWELL 50,000\n"
        '2018-06-20 plan CSF 2018-19 CHERWELL "IDVA posts"\n  cost: 30,000\n'
        '2018-06-20 plan CSF 2018-19 CHERWELL "ASB caseworker"\n  cost: 20,000\n'
        '2018-06-20 plan CSF 2018-19 CHERWELL "Training"\n  cost: 5,000.01\n'
    )
    text = FUND + PLAN.replace("cost: 18,542", "cost: 18,000") + later
    assert grants("ledger", "load", str(books(tmp_path, text))).exit_code == 0
    totals: dict[int, int] = {}
    for line in session.scalars(select(PlanLine)):
        totals[line.year] = totals.get(line.year, 0) + line.cost_pence
    assert totals == {2017: 5_800_000, 2018: 5_500_001}
    allocated = {2017: 5_854_200, 2018: 5_000_000}
    _, found = findings(grants, "--as-of", "2019-01-01")
    planned = [f for f in found if f[1] == "plan vs allocation"]
    assert [(f[0], f[2]) for f in planned] == [("error", "CHERWELL")] * 2
    for (*_, message), year in zip(planned, (2017, 2018), strict=True):
        total, difference = from_pence(totals[year]), from_pence(totals[year] - allocated[year])
        assert f"the spending plan totals £{total:,} against" in message
        assert f"(difference {'-' if difference < 0 else ''}£{abs(difference):,})" in message
    _, only = findings(grants, "--as-of", "2019-01-01", "--year", "2018-19")
    assert [f[3] for f in only if f[1] == "plan vs allocation"] == [planned[1][3]]


def test_the_records_check_runs_before_the_balances_are_read_and_no_line_is_read_unasked(
    grants: Grants, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The record's check holds every account and balance while it checks the rules: the
    checks' balances are read after it, not held beside it; and a ledger whose checks name no
    line (no plan, return or schedule, no finding about a line) has no line's recipient read."""
    assert grants("ledger", "load", str(books(tmp_path, FUND))).exit_code == 0
    made: list[str] = []
    balances_init = Balances.__init__

    def counted(self: Balances, *args: Any, **kwargs: Any) -> None:
        made.append("balances")
        balances_init(self, *args, **kwargs)

    walked = reconcile_module.verify

    def record_check(*args: Any, **kwargs: Any) -> Any:
        made.append("the record")
        return walked(*args, **kwargs)

    lines = reconcile_context.Context.lines

    def read_lines(ctx: reconcile_context.Context) -> Any:
        made.append("lines")
        return lines.func(ctx)

    monkeypatch.setattr(Balances, "__init__", counted)
    monkeypatch.setattr(reconcile_module, "verify", record_check)
    counted_lines = cached_property(read_lines)
    counted_lines.__set_name__(reconcile_context.Context, "lines")
    monkeypatch.setattr(reconcile_context.Context, "lines", counted_lines)
    _, found = findings(grants, "--year", "2017-18")
    assert [f for f in found if f[2] is not None] == []  # no finding about a line
    assert made[:2] == ["the record", "balances"] and "lines" not in made
    made.clear()
    assert grants("ledger", "load", str(books(tmp_path, FUND + PLAN))).exit_code == 0
    findings(grants, "--year", "2017-18")  # the plans name their lines: read once
    assert made[:2] == ["the record", "balances"] and made.count("lines") == 1
