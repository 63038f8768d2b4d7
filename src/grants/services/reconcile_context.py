"""What every check of reconciliation reads (grants.services.reconcile): a finding, and the
context the checks share, each part read once a command when a check first asks for it: the
balances as of the reconcile date, the streams, the lines and their recipients.

Read when first asked for, not all at the start: the record's check, which runs first, holds
every account and balance of the ledger while it checks the rules (grants.services.verify),
and it does so before the context's balances are read, not on top of them (for a national
funder's ledger, a line and two accounts a grant, the two together were the command's peak);
and a check that names no line (a ledger with no returns, plans or schedules, and no finding
about a line) reads no line's recipient."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.db.models import Line, Organisation, ReturnFigure, ReturnFiling, Stream
from grants.formatting import gbp
from grants.money import from_pence
from grants.periods import FinancialYear, Period
from grants.services import published
from grants.services.balances import Balances, day_after
from grants.services.balances import read as read_balances
from grants.services.recent import Recent
from grants.services.record_checks import Evidence
from grants.services.verification import Verification

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Finding:
    severity: str
    check: str
    stream: str
    period: str
    line: str | None  # the allocation line concerned (None: the stream)
    recipient: str | None
    message: str
    amount_pence: int | None = None  # the amount at issue (a shortfall, an underspend)
    # A published figure's (printed, ledger, difference), in pounds.
    figures: tuple[Decimal, Decimal, Decimal] | None = None

    def as_dict(self) -> dict[str, object]:
        shown = {}
        if self.figures is not None:
            shown = dict(zip(("printed", "ledger", "difference"),
                             (f"{x:.2f}" for x in self.figures), strict=True))  # fmt: skip
        return {
            "severity": self.severity,
            "check": self.check,
            "stream": self.stream,
            "period": self.period,
            "line": self.line,
            "recipient": self.recipient,
            "message": self.message,
            "amount": None if self.amount_pence is None else f"{from_pence(self.amount_pence)}",
            **shown,
        }


@dataclass(slots=True)
class _LineInfo:
    id: int
    code: str
    name: str
    parent: str | None
    recipient: str | None
    stream_id: int


FilingKey = tuple[int, int, str]  # line id, year, stage


@dataclass
class _Filings:
    standing: dict[FilingKey, ReturnFiling]  # not superseded by `today`
    first: dict[FilingKey, ReturnFiling]  # the first received


@dataclass
class Context:
    session: Session
    stream: str | None
    year: FinancialYear | None
    today: date
    figures: list[published.Figure] | None = field(default=None, init=False)  # read once
    evidence: Evidence | None = None  # reads a return's workbook (grants.services.verify)
    verdicts: Recent | None = None  # a recent walk of the record, reused (the web)
    whole: bool = False  # walk every link, not only those after the last verification
    record: Verification | None = field(default=None, init=False)  # what `the record` found
    # Read once for every check: the returns received by `today`, those that stand and each
    # line's, year's and stage's first; and every figure of them, by filing.
    filings: _Filings | None = field(default=None, init=False)
    return_figures: dict[int, list[ReturnFigure]] | None = field(default=None, init=False)

    @cached_property
    def balances(self) -> Balances:
        # As the ledger stood at the end of `today`: entries dated after it are not counted.
        return read_balances(self.session, self.stream, as_of=day_after(self.today))

    @cached_property
    def streams(self) -> dict[int, tuple[str, str]]:  # id -> (code, kind)
        return {
            i: (code, kind)
            for i, code, kind in self.session.execute(select(Stream.id, Stream.code, Stream.kind))
            if self.stream is None or code == self.stream
        }

    @cached_property
    def lines(self) -> dict[int, _LineInfo]:
        names = dict(self.session.execute(select(Organisation.id, Organisation.name)).all())
        raw = self.session.execute(
            select(Line.id, Line.code, Line.name, Line.parent_id, Line.recipient_id, Line.stream_id)
        ).all()
        codes = {r.id: r.code for r in raw}
        return {
            r.id: _LineInfo(
                r.id, r.code, r.name, codes.get(r.parent_id), names.get(r.recipient_id),
                r.stream_id,
            )
            for r in raw
        }  # fmt: skip

    @cached_property
    def _by_code(self) -> dict[int, dict[str, _LineInfo]]:  # stream id -> code -> line
        found: dict[int, dict[str, _LineInfo]] = {}
        for info in self.lines.values():
            found.setdefault(info.stream_id, {})[info.code] = info
        return found

    def line_of(self, stream: str, code: str) -> _LineInfo | None:
        """The stream's line ``code`` (None: the ledger has no such line)."""
        return self._by_code.get(_stream_id(self, stream), {}).get(code)

    def periods(self) -> list[tuple[str, Period]]:
        out = []
        for code, period in sorted(self.balances.periods):
            if self.year is not None and not period.overlaps(Period(self.year, self.year)):
                continue
            out.append((code, period))
        return out

    def money(self, pence: int) -> str:
        return gbp(from_pence(pence))

    def published_rows(self) -> list[published.Figure]:
        """The published figures of the streams and year reconciled, beside the ledger's."""
        if self.figures is None:
            self.figures = published.published_figures(
                self.session, self.stream, self.year, balances=self.balances
            )
        return self.figures


def _lines_of(ctx: Context, stream: str, period: Period) -> list[tuple[str, str, str | None]]:
    """(code, name, parent code) of the lines with anything posted in the period."""
    return [
        (code, name, parent) for _, code, name, parent, _ in ctx.balances.lines_in[(stream, period)]
    ]


def _recipient(ctx: Context, stream: str, line: str) -> str | None:
    info = ctx.line_of(stream, line)
    return None if info is None else info.recipient or info.name


def _stream_id(ctx: Context, code: str) -> int:
    return next(i for i, (c, _) in ctx.streams.items() if c == code)


__all__ = ["SEVERITIES", "Context", "FilingKey", "Finding"]
