"""Writing the report workbooks the books support (grants.services.workbooks): one way for
`grants report all` and the web service's downloads, as of a day or as the ledger stands."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from sqlalchemy.orm import Session

from grants.excel import capital as capital_workbook
from grants.excel import esif_claims as esif_workbook
from grants.excel import growth as growth_workbook
from grants.excel import pcc_template as pcc_workbook
from grants.excel import resourcing as resourcing_workbook
from grants.excel.book import file_name
from grants.excel.capital import programme
from grants.services.growth import monitoring
from grants.services.published import published_figures
from grants.services.reports import pcc_template, resourcing
from grants.services.workbooks import Workbook


def report_parts(book: Workbook) -> list[str]:
    """What names a workbook: its stream and kind, and its year and stage."""
    if book.kind == "resourcing":
        return [book.stream, "resourcing"]
    if book.kind == "pcc-template":
        assert book.year is not None and book.stage is not None
        return [book.stream, book.year.render(), book.stage]
    if book.kind == "growth-monitoring":
        return ["growth", "monitoring"]
    if book.kind == "esif-claims":
        return ["esif", "claims"]
    return [book.stream, "programme"]


def as_of_parts(as_of: date | None) -> list[str]:
    """What a file name adds for a report as of a day: `as-of-2017-11-15`."""
    return [] if as_of is None else ["as-of", as_of.isoformat()]


def report_file(book: Workbook, as_of: date | None = None) -> str:
    """The workbook's file name (`pcc-csf-2017-18-plan.xlsx`, with `-as-of-2017-11-15`
    when the report is as of a day)."""
    return file_name(*report_parts(book), *as_of_parts(as_of))


def write_report(
    session: Session, book: Workbook, path: Path, ledger: str, as_of: date | None = None
) -> None:
    """Write one workbook to ``path``, as the ledger stood at the end of ``as_of``."""
    if book.kind == "resourcing":
        assert book.span is not None
        table = resourcing(session, book.stream, book.span, as_of=as_of)
        figures = published_figures(session, book.stream, as_of=as_of)
        resourcing_workbook.write(table, path, ledger, figures)
    elif book.kind == "pcc-template":
        assert book.year is not None and book.stage is not None
        report = pcc_template(session, book.stream, book.year, book.stage, None, as_of)
        figures = published_figures(session, book.stream, as_of=as_of)
        pcc_workbook.write(report, path, ledger, figures)
    elif book.kind == "growth-monitoring":
        rows, illustrative = monitoring(session, None, as_of)
        growth_workbook.write(rows, path, ledger, illustrative, as_of)
    elif book.kind == "esif-claims":
        esif_workbook.write(monitoring(session, None, as_of)[0], path, ledger, as_of)
    else:
        capital_workbook.write(session, programme(session, book.stream, as_of=as_of), path, ledger)


__all__ = ["as_of_parts", "programme", "report_file", "report_parts", "write_report"]
