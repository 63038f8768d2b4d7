"""Reports as of a day (`--as-of DATE`): the ledger as it stood at the end of that day, so a
workbook regenerated later is the one that could have been sent then."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from grants.excel import templates
from grants.formatting import long_day
from grants.money import money
from tests.conftest import BOOKS, Grants
from tests.rendering import missing_words, need_soffice, overlaps, read_pdf, to_pdf
from tests.test_returns import fill, issued  # noqa: F401  (issued: a fixture)

YEAR = "2017-18"
SENT = date(2017, 9, 30)  # the plan-stage template as sent on this day
VIREMENT = "2017-10-01 virement PCC-CSF 2017-18 PH DA 500\n"  # recorded by the test, later


def cells(path: Path) -> dict[tuple[str, str], Any]:
    """Every cell's value of a workbook, by sheet and cell."""
    book = openpyxl.load_workbook(path)
    return {
        (sheet.title, cell.coordinate): cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    }


def cost(path: Path, title: str) -> Decimal:
    """The cost column of the template's row titled ``title``."""
    sheet = openpyxl.load_workbook(path).worksheets[0]
    for row in sheet.iter_rows():
        if row[0].value == title:
            return Decimal(str(row[2].value))
    raise AssertionError(f"no row {title!r} in {path.name}")


def record_later(grants: Grants, tmp_path: Path, text: str) -> None:
    """Load entries recorded now on top of the Oxfordshire books (loading the books again
    adds only the new ones)."""
    folder = tmp_path / "books"
    if not folder.exists():
        shutil.copytree(BOOKS.parent, folder)
    later = folder / f"later-{len(list(folder.glob('later-*')))}.grants"
    later.write_text(f'include "{BOOKS.name}"\n\n{text}', encoding="utf-8")
    result = grants("ledger", "load", str(later))
    assert result.exit_code == 0, result.output


def template(grants: Grants, path: Path, *extra: str) -> Path:
    result = grants("report", "pcc-template", "--stream", "PCC-CSF", "--year", YEAR,
                    "-o", str(path), *extra)  # fmt: skip
    assert result.exit_code == 0, result.output
    return path


def as_json(grants: Grants, *args: str) -> dict[str, Any]:
    result = grants("report", *args, "--json")
    assert result.exit_code == 0, result.output
    found: dict[str, Any] = json.loads(result.output)
    return found


def test_a_template_as_of_a_day_is_the_one_sent_that_day(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    as_of = ("--as-of", SENT.isoformat())
    sent = template(oxfordshire, tmp_path / "sent.xlsx", *as_of)
    sent_plain = template(oxfordshire, tmp_path / "sent-plain.xlsx")
    record_later(oxfordshire, tmp_path, VIREMENT)
    again = template(oxfordshire, tmp_path / "again.xlsx", *as_of)
    now = template(oxfordshire, tmp_path / "now.xlsx")
    # Regenerated as of the day: the same workbook, cell by cell.
    assert cells(again) == cells(sent)
    # Without --as-of: the virement's figures.
    assert cost(now, "Public Health") == cost(sent, "Public Health") - 500
    assert cost(now, "Domestic Abuse (DA) and exploitation") == (
        cost(sent, "Domestic Abuse (DA) and exploitation") + 500
    )
    # As of the day, the template's sheet is the one made that day without --as-of, but for
    # saying so in its title; the Sources sheet says it first. (The "Published figures" sheet
    # lists only the papers published by the day: the Oxfordshire books hold later ones.)
    first = openpyxl.load_workbook(again).worksheets[0].title
    plain = cells(sent_plain)
    marked = {k: v for k, v in cells(again).items() if k[0] == first and v != plain.get(k)}
    assert list(marked) == [(first, "A1")]
    assert marked[(first, "A1")] == f"{plain[(first, 'A1')]}, as of {long_day(SENT)}"
    sources = openpyxl.load_workbook(again)["Sources"]
    assert [c.value for c in sources[2]][:2] == ["Every sheet", "As of"]
    assert f"at the end of {long_day(SENT)}" in sources["C2"].value


def test_an_entry_dated_by_the_day_counts_whenever_it_was_recorded(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    """The rule of the balances and the dashboard: an entry counts by its date, so a
    correction recorded later but dated on or before the day is part of it."""
    args = ("pcc-template", "--stream", "PCC-CSF", "--year", YEAR, "--as-of", SENT.isoformat())
    before = as_json(oxfordshire, *args)
    backdated = (SENT - timedelta(days=29)).isoformat()
    record_later(oxfordshire, tmp_path, f"{backdated} virement PCC-CSF 2017-18 PH DA 500\n")
    after = as_json(oxfordshire, *args)
    cost = {r["line"]: Decimal(r["cost"]) for r in before["rows"]}
    assert {r["line"]: Decimal(r["cost"]) for r in after["rows"]} == {
        **cost,
        "PH": cost["PH"] - 500,
        "DA": cost["DA"] + 500,
    }


def test_a_day_in_the_future_is_the_ledger_as_it_stands(oxfordshire: Grants) -> None:
    args = ("pcc-template", "--stream", "PCC-CSF", "--year", YEAR, "--stage", "mid-year")
    now = as_json(oxfordshire, *args)
    assert now["as_of"] is None
    for day in (date.today(), date.today() + timedelta(days=1), date(2099, 12, 31)):
        later = as_json(oxfordshire, *args, "--as-of", day.isoformat())
        assert later == {**now, "as_of": day.isoformat()}
    resourcing = ("resourcing", "--stream", "PCC-CSF", "--years", "2014-15:2017-18")
    assert as_json(oxfordshire, *resourcing, "--as-of", "2099-12-31") == {
        **as_json(oxfordshire, *resourcing),
        "as_of": "2099-12-31",
    }


def test_a_day_before_the_first_entry_is_refused_with_why(
    oxfordshire: Grants, tmp_path: Path
) -> None:
    early = ("--as-of", "01/01/2009")
    result = oxfordshire("report", "pcc-template", "--stream", "PCC-CSF", "--year", YEAR, *early)
    assert result.exit_code == 1
    assert result.output == (
        "Error: PCC-CSF had no allocations in 2017-18 at the end of 1 January 2009: "
        "no template to write\n"
    )
    result = oxfordshire("report", "resourcing", "--stream", "PCC-CSF", "--years",
                         "2014-15:2017-18", "-o", str(tmp_path / "r.xlsx"), *early)  # fmt: skip
    assert result.exit_code == 1 and "had no allocations" in result.output
    assert "at the end of 1 January 2009" in result.output
    result = oxfordshire("report", "all", "-o", str(tmp_path / "all"), *early)
    assert result.exit_code == 1
    assert result.output.startswith(
        "Error: the ledger had nothing to report at the end of 1 January 2009"
    )
    assert not (tmp_path / "all").exists() and not (tmp_path / "r.xlsx").exists()


def test_report_all_passes_the_day_to_every_workbook(oxfordshire: Grants, tmp_path: Path) -> None:
    out = tmp_path / "all"
    result = oxfordshire("report", "all", "-o", str(out), "--as-of", SENT.isoformat())
    assert result.exit_code == 0, result.output
    written = sorted(out.iterdir())
    assert written and all(p.name.endswith(f"-as-of-{SENT}.xlsx") for p in written)
    for path in written:
        book = openpyxl.load_workbook(path)
        assert book["Sources"]["B2"].value == "As of", path.name
        assert long_day(SENT) in book["Sources"]["C2"].value, path.name
        assert book.worksheets[0]["A1"].value.endswith(f", as of {long_day(SENT)}"), path.name
    # Each is the workbook its own command writes as of the day, after a later virement too.
    record_later(oxfordshire, tmp_path, VIREMENT)
    single = template(oxfordshire, tmp_path / "one.xlsx", "--as-of", SENT.isoformat())
    assert cells(out / f"pcc-csf-{YEAR}-plan-as-of-{SENT}.xlsx") == cells(single)
    span = ("--stream", "PCC-CSF", "--years", "2014-15:2017-18", "--as-of", SENT.isoformat())
    resourcing = oxfordshire("report", "resourcing", *span, "-o", str(tmp_path / "r.xlsx"))
    assert resourcing.exit_code == 0, resourcing.output
    assert cells(out / f"pcc-csf-resourcing-as-of-{SENT}.xlsx") == cells(tmp_path / "r.xlsx")
    # A stage's year not yet allocated on the day has no workbook.
    assert not (out / f"pcc-csf-2018-19-plan-as-of-{SENT}.xlsx").exists()


@pytest.mark.parametrize(
    ("command", "value"),
    [
        (("pcc-template", "--stream", "PCC-CSF", "--year", YEAR), "31/02/2017"),
        (("resourcing", "--stream", "PCC-CSF", "--years", "2014-15:2017-18"), "2017-13-01"),
        (("capital-programme",), "yesterday"),
        (("all", "-o", "unused"), "09/30/2017"),
    ],
)
def test_a_bad_day_is_refused_naming_the_option(
    oxfordshire: Grants, command: tuple[str, ...], value: str
) -> None:
    result = oxfordshire("report", *command, "--as-of", value)
    assert result.exit_code == 2
    assert "Invalid value for '--as-of'" in result.output
    assert not Path("unused").exists()


def test_the_capital_programme_as_of_a_day(oxfordshire: Grants, tmp_path: Path) -> None:
    # The programme's versions and awards are dated the day of the paper, 12 December 2017.
    adopted = date(2017, 12, 12)
    args = ("capital-programme", "--stream", "CAPITAL")
    assert as_json(oxfordshire, *args, "--as-of", adopted.isoformat()) == {
        **as_json(oxfordshire, *args),
        "as_of": adopted.isoformat(),
    }
    # An allocation recorded later, dated after the day: not in the programme as of the day.
    sent = as_json(oxfordshire, *args, "--as-of", adopted.isoformat())
    later = oxfordshire("allocate", "CAPITAL", "2018-19:2027-28", "BASIC-NEED", "1000",
                        "--date", "2018-02-01", "--over-allocate")  # fmt: skip
    assert later.exit_code == 0, later.output
    assert as_json(oxfordshire, *args, "--as-of", adopted.isoformat()) == sent

    def net(found: dict[str, Any]) -> Decimal:
        [line] = [x for x in found["allocations"] if x["line"] == "BASIC-NEED"]
        return Decimal(line["net"])

    assert net(as_json(oxfordshire, *args)) == net(sent) + 1000
    early = oxfordshire("report", *args, "--as-of", (adopted - timedelta(days=1)).isoformat())
    assert early.exit_code == 1
    assert early.output == (
        "Error: CAPITAL had no awards and no programme versions at the end of "
        "11 December 2017: no programme to write\n"
    )
    path = tmp_path / "programme.xlsx"
    written = oxfordshire("report", *args, "--as-of", adopted.isoformat(), "-o", str(path))
    assert written.exit_code == 0, written.output
    book = openpyxl.load_workbook(path)
    # Every sheet with a title says the day (the chart sheet's first row names a table).
    untitled = {
        "Sources",
        "Published figures",
        templates.load("capital-programme")["chart"]["sheet"],
    }
    titled = [s.title for s in book.worksheets if s.title not in untitled]
    assert titled and all(
        str(book[t]["A1"].value).endswith(f", as of {long_day(adopted)}") for t in titled
    )
    assert book["Sources"]["B2"].value == "As of"


def test_a_return_counts_from_the_day_it_was_received(
    grants: Grants,
    issued: Path,  # noqa: F811  (the fixture of tests/test_returns.py)
    tmp_path: Path,
) -> None:
    """A return's spend is dated the last day it covers (30 September), but a template as of
    a day before the return was received does not have it."""
    filled = fill(issued, tmp_path / "filled.xlsx")  # spend to date: D13 + D14
    result = grants("returns", "import", "--received", "27/10/2017", str(filled))
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(filled)["Return"]
    spend = money(str(book["D13"].value)) + money(str(book["D14"].value))
    args = ("pcc-template", "--stream", "CSF", "--year", YEAR, "--stage", "mid-year")

    def cherwell(*extra: str) -> dict[str, Any]:
        [row] = [r for r in as_json(grants, *args, *extra)["rows"] if r["line"] == "CHERWELL"]
        return row

    assert cherwell()["spent"] == f"{spend:.2f}"
    assert cherwell("--as-of", "2017-10-27")["spent"] == f"{spend:.2f}"
    assert cherwell("--as-of", "2017-10-26")["spent"] is None  # not given yet
    # One area's template, a row per plan line: the return's figures only once received.
    area = ("--area", "CHERWELL")
    received = as_json(grants, *args, *area, "--as-of", "2017-10-27")["rows"]
    before = as_json(grants, *args, *area, "--as-of", "2017-10-26")["rows"]
    assert sum(Decimal(r["spent"]) for r in received) == spend
    assert [r["spent"] for r in before] == [None] * len(received)


def test_workbooks_as_of_a_day_print_readably(oxfordshire: Grants, tmp_path: Path) -> None:
    """The longer titles and the Sources sheet's first row still print whole on A4."""
    need_soffice()
    out = tmp_path / "all"
    written = oxfordshire("report", "all", "-o", str(out), "--as-of", "2017-12-12")
    assert written.exit_code == 0, written.output
    workbooks = [out / f"pcc-csf-{YEAR}-mid-year-as-of-2017-12-12.xlsx",
                 out / "capital-programme-as-of-2017-12-12.xlsx"]  # fmt: skip
    pdfs = to_pdf(workbooks, tmp_path / "pdf", tmp_path / "profile")
    problems: list[str] = []
    for workbook, pdf in zip(workbooks, pdfs, strict=True):
        found, words = read_pdf(pdf)
        problems += found + overlaps(pdf, words) + missing_words(workbook, pdf, words)
    assert not problems, "\n".join(problems[:20])
