"""Published figures: every `printed` figure beside the ledger's, how it was rounded, a range
of years summed, reconcile's findings named and in money, the misprint and common-rate
warnings, and a statement sealed before `rounding:` existed still verifying."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from grants.db import guards, migrate
from grants.db.engine import make_engine, make_session_factory
from grants.services.keys import statement_key
from grants.services.published import AGREES, DIFFERS, published_figures
from grants.services.verify import verify
from tests.conftest import Grants
from tests.helpers import books

# Four lines; in 2017-18 three are cut by a common 5% and D by more. The resourcing table is
# printed with its rows and a total whose digits 2 and 0 are swapped (702,000 for 720,000).
LINES = {"A": 100_000, "B": 200_000, "C": 300_000, "D": 178_813}
CUT = Decimal("0.95")
AFTER = {code: int(amount * CUT) for code, amount in LINES.items()}
AFTER["D"] = 150_000
BOOKS = (
    '2016-04-01 org PCC "The Commissioner"\n  role: funder\n'
    '2016-04-01 stream CSF "Community safety fund"\n  kind: pcc-csf\n  funder: PCC\n'
    + "".join(f'2016-04-01 line CSF {c} "Line {c}"\n' for c in LINES)
    + "2016-04-01 award CSF 2016-17 800,000\n"
    + "".join(f"2016-04-01 allocate CSF 2016-17 {c} {a:,}\n" for c, a in LINES.items())
    + "2017-04-01 award CSF 2017-18 800,000\n"
    + "".join(f"2017-04-01 allocate CSF 2017-18 {c} {a:,}\n" for c, a in AFTER.items())
)
TOTAL_2016 = sum(LINES.values())  # 778,813: "£0.778 million" when cut, 0.779 when rounded
TOTAL_2017 = sum(AFTER.values())
SWAPPED = int(str(TOTAL_2017)[0] + str(TOTAL_2017)[2] + str(TOTAL_2017)[1] + str(TOTAL_2017)[3:])
PRINTED = (
    "2017-09-01 printed CSF 2016-17 allocated 0.778\n  scale: m\n  rounding: down\n"
    '  note: "last year the partnership allocated £0.778 million"\n  source: text-cut\n'
    "2017-09-01 printed CSF 2016-17 allocated 0.778\n  scale: m\n"
    '  note: "last year the partnership allocated £0.778 million"\n  source: text-rounded\n'
    + "".join(
        f'2017-09-01 printed CSF 2017-18 allocated:{c} {a:,}\n  table: "Resourcing"\n'
        f'  row: "Line {c}"\n'
        for c, a in AFTER.items()
    )
    + f'2017-09-01 printed CSF 2017-18 allocated {SWAPPED:,}\n  table: "Resourcing"\n'
    '  row: "TOTAL"\n'
    f"2017-09-01 printed CSF 2016-17:2017-18 allocated {TOTAL_2016 + TOTAL_2017:,}\n"
    '  table: "Two years"\n  row: "Both years"\n'
)


def load(grants: Grants, tmp_path: Path, extra: str = PRINTED) -> None:
    result = grants("ledger", "load", str(books(tmp_path, BOOKS + extra)))
    assert result.exit_code == 0, result.output


def test_each_printed_figure_beside_the_ledgers(
    grants: Grants, tmp_path: Path, session: Session
) -> None:
    load(grants, tmp_path)
    figures = {(f.table, f.row, f.rounding): f for f in published_figures(session, "CSF")}
    note = "last year the partnership allocated £0.778 million"
    # Cut rather than rounded, and said so: it agrees. Rounded half-up it would be 0.779.
    cut, rounded = figures[(None, note, "down")], figures[(None, note, "half-up")]
    assert (cut.status, rounded.status) == (AGREES, DIFFERS)
    assert cut.ledger_pence == TOTAL_2016 * 100
    assert rounded.difference == TOTAL_2016 - Decimal("778000")
    assert rounded.direction == (
        f"the ledger is £{TOTAL_2016 - 778_000:,} higher than printed (£0.001m as printed)"
    )
    # The misprinted total differs by what the swap made; every row agrees.
    total = figures[("Resourcing", "TOTAL", "half-up")]
    assert (total.status, total.difference) == (DIFFERS, Decimal(TOTAL_2017 - SWAPPED))
    rows = [f for f in figures.values() if f.table == "Resourcing" and f.target]
    assert len(rows) == len(AFTER) and {f.status for f in rows} == {AGREES}
    # A range of years is the sum of the years in it (no entry is for the range itself).
    both = figures[("Two years", "Both years", "half-up")]
    assert (both.status, both.ledger_pence) == (AGREES, (TOTAL_2016 + TOTAL_2017) * 100)
    assert [f.table for f in published_figures(session, "CSF", table="Two years")] == ["Two years"]


def test_reconcile_names_the_figure_and_gives_money_and_strings(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, tmp_path)
    result = grants("reconcile", "--stream", "CSF", "--json")
    found = json.loads(result.output)["findings"]
    published = [f for f in found if f["check"] == "published figures"]
    # The cut figure that says so is not reported; the same figure taken as rounded is.
    assert len(published) == 2
    total = next(f for f in published if f["message"].startswith("Resourcing, TOTAL"))
    assert total["printed"] == f"{SWAPPED}.00" and total["ledger"] == f"{TOTAL_2017}.00"
    assert total["difference"] == total["amount"] == f"{TOTAL_2017 - SWAPPED}.00"
    assert (
        f"printed £{SWAPPED:,} (a misprint of £{TOTAL_2017:,}? two adjacent digits"
        in (total["message"])
    )
    assert f"the ledger is £{TOTAL_2017 - SWAPPED:,} higher than printed" in total["message"]
    assert all(f["amount"] is not None for f in published)
    # The table does not foot; the swapped total is the misprint that explains it.
    (footing,) = [f for f in found if f["check"] == "table footing"]
    assert footing["severity"] == "warning"
    assert (
        f"TOTAL printed £{SWAPPED:,} may be £{TOTAL_2017:,} (two adjacent digits swapped)"
        in (footing["message"])
    )
    # D is cut by more than the common 5%, with the figure 5% would give.
    (rate,) = [f for f in found if f["check"] == "common rate"]
    expected = round(LINES["D"] * CUT)
    assert (rate["line"], rate["period"]) == ("D", "2016-17 to 2017-18")
    assert "3 of 4 lines change by -5%" in rate["message"]
    assert f"it would be £{expected:,}.00" in rate["message"]
    assert rate["amount"] == f"{AFTER['D'] - expected}.00"


def test_the_reconciliation_workbook_has_printed_ledger_and_difference(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, tmp_path)
    out = tmp_path / "reconcile.xlsx"
    grants("reconcile", "--stream", "CSF", "-o", str(out))
    book = openpyxl.load_workbook(out)
    shown = []
    for sheet in book.worksheets[1:]:
        headings = [c.value for c in sheet[3]]
        columns = [headings.index(h) for h in ("Printed (£)", "Ledger (£)", "Difference (£)")]
        for r in sheet.iter_rows(min_row=4, values_only=True):
            if r[1] == "published figures":
                shown.append(tuple(r[c] for c in columns))
    assert (SWAPPED, TOTAL_2017, TOTAL_2017 - SWAPPED) in shown


def test_an_unknown_rounding_is_refused_at_its_line(grants: Grants, tmp_path: Path) -> None:
    extra = "2017-09-01 printed CSF 2016-17 allocated 0.778\n  scale: m\n  rounding: truncate\n"
    path = books(tmp_path, BOOKS + extra)
    result = grants("ledger", "load", str(path))
    assert result.exit_code != 0
    line = len((BOOKS + extra).splitlines())
    assert f"{path.name}:{line}" in result.output
    assert "rounding 'truncate' is not one of: half-up, down, up, any" in result.output
    assert "Traceback" not in result.output


def test_the_export_keeps_how_a_figure_was_rounded(grants: Grants, tmp_path: Path) -> None:
    load(grants, tmp_path)
    result = grants("ledger", "export")
    assert result.exit_code == 0, result.output
    assert "  rounding: down\n" in result.output


@pytest.mark.parametrize("rounding", ["up", "any"])
def test_up_and_any(grants: Grants, tmp_path: Path, session: Session, rounding: str) -> None:
    # 778,813 is 0.779 (£m) rounded up or either way; 0.778 only rounded any way.
    extra = "".join(
        f"2017-09-01 printed CSF 2016-17 allocated {figure}\n  scale: m\n"
        f"  rounding: {rounding}\n  source: {figure}\n"
        for figure in ("0.778", "0.779")
    )
    load(grants, tmp_path, extra)
    status = {f.printed: f.status for f in published_figures(session, "CSF")}
    assert status == {"0.778": AGREES if rounding == "any" else DIFFERS, "0.779": AGREES}


def test_a_statement_sealed_before_rounding_existed_still_verifies(empty_url: str) -> None:
    key = statement_key(
        "printed", "2017-09-01", "S", "2017-18", "awarded", None, "0.1", "m", "T", "R", None
    )
    engine = make_engine(empty_url)
    try:
        migrate.upgrade(engine, "0004")
        with engine.connect() as conn, conn.begin():
            conn.execute(text(
                "INSERT INTO organisation (id, code, name, role, day) VALUES "
                "(1, 'F', 'A funder', 'funder', '2017-04-01')"
            ))  # fmt: skip
            conn.execute(text(
                "INSERT INTO stream (id, code, name, kind, funder_id, day) VALUES "
                "(1, 'S', 'A stream', 'other', 1, '2017-04-01')"
            ))  # fmt: skip
            conn.execute(text(
                "INSERT INTO statement (id, key, kind, day, stream_id, first_year, last_year, "
                "metric, amount, scale, table_name, row_label) VALUES (1, :key, 'printed', "
                "'2017-09-01', 1, 2017, 2017, 'awarded', '0.1', 'm', 'T', 'R')"
            ), {"key": key})  # fmt: skip
        migrate.upgrade(engine)  # sealed in the statement's first form, then 0009
        with engine.connect() as conn:
            form = conn.execute(text("SELECT form FROM seal WHERE tbl = 'statement'")).scalar()
        assert form == 1
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            result = verify(session.connection())
        assert result.ok, [str(p) for p in result.problems]
        migrate.downgrade(engine, "0008")  # no statement sealed in the second form yet
        migrate.upgrade(engine)
        # Sealed before the column existed, the statement cannot hold a rounding: one set
        # behind the ledger's back (its guard taken off) is a change the chain reports.
        with engine.connect() as conn, conn.begin():
            guards.remove(conn, ["statement"])
            conn.execute(text("UPDATE statement SET rounding = 'down'"))
            guards.install(conn, ["statement"])
        with make_session_factory(engine, read_only=True)() as session, session.begin():
            result = verify(session.connection())
        assert [p.table for p in result.problems] == ["statement"]
        assert "has changed since it was sealed" in str(result.problems[0])
    finally:
        engine.dispose()


def test_going_back_to_0008_is_refused_once_a_statement_has_the_new_form(
    grants: Grants, tmp_path: Path, db_url: str
) -> None:
    load(grants, tmp_path)
    assert grants("verify").exit_code == 0
    engine = make_engine(db_url)
    try:
        with pytest.raises(RuntimeError, match="export the ledger first"):
            migrate.downgrade(engine, "0008")
    finally:
        engine.dispose()


def test_the_printed_total_stands_beneath_the_ledgers_in_each_workbook(
    grants: Grants, tmp_path: Path
) -> None:
    load(grants, tmp_path)
    out = tmp_path / "reports"
    result = grants("report", "all", "-o", str(out))
    assert result.exit_code == 0, result.output
    for path in sorted(out.glob("*.xlsx")):
        if "2016-17" in path.name:
            continue  # that year's total was printed only as text, outside a table
        book = openpyxl.load_workbook(path)
        assert "Published figures" in book.sheetnames, path.name
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        printed = next(r for r in rows if str(r[0]).startswith("Printed total (Resourcing"))
        difference = rows[rows.index(printed) + 1]
        assert SWAPPED in printed, path.name
        col = printed.index(SWAPPED)
        assert str(difference[col]).startswith("="), path.name  # a live formula
        listed = list(book["Published figures"].iter_rows(min_row=5, values_only=True))
        assert any(r[1] == "TOTAL" and r[7] == SWAPPED and r[8] == TOTAL_2017 for r in listed)


def test_oxfordshire_reconcile_explains_its_known_discrepancies(oxfordshire: Grants) -> None:
    """The capital summary's B1-B3, B5 and B6 (discrepancies.md), named by their rows, with
    the printed figure, the ledger's and the difference; and no table or rate out of line."""
    result = oxfordshire("reconcile", "--json")
    found = json.loads(result.output)["findings"]
    capital = [f for f in found if f["check"] == "published figures" and f["stream"] == "CAPITAL"]
    named = {f["message"].split(": printed")[0] for f in capital}
    assert named == {
        "Capital summary, Capital Receipts & other resources",
        "Capital summary, Earmarked Reserves released for reallocation",
        "Capital summary, Total Estimated Funding Available",
        "Capital summary, Highways Maintenance (Annual Programme)",
        "Capital summary, Total Surplus(+)/Shortfall(-)",
    }
    for f in capital:
        printed, ledger, difference = (Decimal(f[k]) for k in ("printed", "ledger", "difference"))
        assert difference == ledger - printed and f["amount"] == f["difference"]
        way = "higher" if difference > 0 else "lower"
        assert f"the ledger is £{abs(difference):,.0f} {way} than printed" in f["message"]
    assert not [f for f in found if f["check"] in ("table footing", "common rate")]


OTHER = Path(__file__).parent / "data" / "other-council" / "capital.grants"


def test_a_range_of_years_cut_not_rounded_shows_in_the_capital_summary(
    grants: Grants, tmp_path: Path, db_url: str
) -> None:
    """Another council's six-year programme: a figure printed over the whole range is the
    sum of its years, and one cut rather than rounded (`rounding: down`) is shown beside the
    derived figure with no difference, under the table name the books give."""
    assert grants("ledger", "load", str(OTHER)).exit_code == 0
    from grants.periods import parse_period
    from grants.services.balances import Balances

    engine = make_engine(db_url)
    reading = make_session_factory(engine, read_only=True)
    with reading() as session, session.begin():
        balances = Balances(session, "NCC-CAP")
    years = sorted(p for s, p in balances.periods if s == "NCC-CAP" and p.first == p.last)
    span = f"{years[0]}:{years[-1]}"
    targets = sorted({code for (s, *_rest, code) in balances.by_line if s == "NCC-CAP"})
    chosen = None
    for target in targets:
        pounds = (
            Decimal(sum(balances.value("NCC-CAP", p, "allocated", target) or 0 for p in years))
            / 100
        )
        for places in (1, 2, 3):
            quantum = Decimal(1).scaleb(-places)
            cut = (pounds / 1_000_000).quantize(quantum, "ROUND_DOWN")
            if cut != (pounds / 1_000_000).quantize(quantum, "ROUND_HALF_UP"):
                chosen = (target, cut)
                break
        if chosen:
            break
    assert chosen is not None, "a line whose figure cut and rounded differ"
    target, cut = chosen
    extra = tmp_path / "printed.grants"
    extra.write_text(
        f"2021-02-26 printed NCC-CAP {span} allocated:{target} {cut}\n  scale: m\n"
        '  rounding: down\n  table: "Strategy summary"\n  row: "The portfolio"\n',
        encoding="utf-8",
    )
    result = grants("ledger", "load", str(extra))
    assert result.exit_code == 0 and "discrepancy" not in result.output, result.output
    with reading() as session, session.begin():
        (figure,) = published_figures(session, "NCC-CAP", table="Strategy summary")
    engine.dispose()
    assert figure.status == AGREES and figure.period == parse_period(span)
    out = tmp_path / "programme.xlsx"
    assert grants("report", "capital-programme", "-o", str(out)).exit_code == 0
    book = openpyxl.load_workbook(out)
    summary = book.worksheets[0]
    shown = [r for r in summary.iter_rows(values_only=True) if isinstance(r[2], int | float)]
    assert any(abs(r[2]) == float(cut) and r[3] is None for r in shown), shown
    assert "Published figures" in book.sheetnames


@pytest.mark.parametrize(
    ("value", "scale", "shown"),
    [
        ("778813.00", "1", "£778,813"),
        ("7009.50", "1", "£7,009.50"),
        ("778", "000", "£778k"),
        ("0.778", "m", "£0.778m"),
        ("-102.4", "m", "-£102.4m"),
        ("0.0", "m", "£0.0m"),
    ],
)
def test_money_in_its_scale(value: str, scale: str, shown: str) -> None:
    from grants.formatting import gbp_scaled

    assert gbp_scaled(Decimal(value), scale) == shown
