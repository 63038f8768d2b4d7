"""A return filled in the browser: the same rows, rules, audit and receipt as a workbook.

The page (``GET /lines/{stream}/{year}/{line}/{stage}/return``) shows what the return form
shows for the line and stage (``online_form``): the expenditure lines of the agreed plan,
each with its title and planned cost, an input for each of the recipient's cells, who
completed the return and when. What is posted back is read field by field into the same
``ReturnRows`` the workbook reader makes (``grants.services.form_rows``), each field's
reference being its label (``Spend to date, line 3 (Youth diversion)``), and checked and
recorded by the same ``check_return`` and ``record`` as an import (``file_online``).

An online return is not an issued workbook: the person is the one signed in, and the form
is the one the page showed. The page carries a token, the plan's fingerprint as shown
(grants.services.returns.ReturnForm.fingerprint: the stream, year, line, stage, and every
plan line's title and cost) with an HMAC-SHA256 over it, the form and the person, under a
secret derived from the ledger's form key (grants.services.form_identity.derived_secret).
A posted return whose token does not verify is refused, and one shown for a plan that has
changed since is refused with the lines as they now stand, rather than recorded against
lines the person never saw.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from grants.dates import DateError, parse_date
from grants.db.models import ReturnFigure, ReturnFiling
from grants.errors import MoneyError, MoneyLimitError, TextError
from grants.money import from_pence, money, to_pence
from grants.periods import FinancialYear
from grants.services import access, form_identity
from grants.services.form_identity import Identity
from grants.services.form_rows import ReturnRow, ReturnRows, Typed
from grants.services.journal import Catalog
from grants.services.returns import ReturnForm, forms, own_line
from grants.services.returns_import import Filed, Forms, check_return, record
from grants.text import Kind, clean

PURPOSE = "online return"  # the derived secret's purpose (form_identity.derived_secret)
TOKEN = "form_token"  # the hidden field holding the token
SHEET = "form"  # where an online return's figures were read, as a filing's origin names it
COMPLETED_BY, COMPLETED_ON, STATED = "completed-by", "completed-on", "stated-total"
LINE_FIELDS = ("spend", "progress", "measure", "target", "actual")
_NAMES = {
    "spend": "Spend to date", "progress": "Progress and outcomes", "measure": "Output measure",
    "target": "Output target", "actual": "Output actual",
}  # fmt: skip
_COUNT = re.compile(r"^[0-9]{1,3}(?:,[0-9]{3})*$|^[0-9]+$")
_EXPONENT = re.compile(r"^[-+(£]*[0-9.,]*[0-9][eE][-+]?[0-9]+\)?$")
_DECIMALS = re.compile(r"\.[0-9]{3,}\)?$")
AMOUNT_HINT = "type pounds and pence, such as 1,234.56 or £1,234.56"


@dataclass(frozen=True)
class Field:
    """One input of the page: its name (also its element's id) and its label."""

    name: str
    label: str


@dataclass(frozen=True)
class OnlineLine:
    """An expenditure line as the page shows it, with its inputs by kind (``LINE_FIELDS``)."""

    position: int
    title: str
    cost_pence: int
    fields: dict[str, Field]


@dataclass
class OnlineForm:
    """What the page shows: the form, its lines and inputs, the values to fill them with
    (the line's standing filing for the stage, or what was typed), and the token."""

    form: ReturnForm
    lines: list[OnlineLine]
    completed_by: Field
    completed_on: Field
    stated: Field
    values: dict[str, str]
    token: str
    filed: int | None  # the standing filing the values come from, if any


@dataclass
class FieldProblem:
    """A problem with what was posted: the field it is about (None: the whole form)."""

    field: str | None
    label: str | None
    message: str


@dataclass
class OnlineOutcome:
    """What became of a posted return: problems (nothing recorded, the page shown again with
    what was typed), or the receipt of the filing that stands."""

    form: OnlineForm
    problems: list[FieldProblem] = field(default_factory=list)
    receipt: int | None = None
    warnings: list[str] = field(default_factory=list)
    note: str | None = None  # nothing changed, and why


@dataclass
class OnlineRows(ReturnRows):
    """A return's rows read from a posted page: each reference is a field's label, and a
    figure records the field's name (``spend-3``) where a workbook's records its cell."""

    names: dict[str, str] = field(default_factory=dict)  # label -> field name

    def cell(self, ref: str) -> str:
        return self.names.get(ref, ref)[:20]


def _label(kind: str, position: int, title: str) -> str:
    return f"{_NAMES[kind]}, line {position} ({title})"


def _page(form: ReturnForm, values: dict[str, str], token: str, filed: int | None) -> OnlineForm:
    lines = [
        OnlineLine(
            x.position, x.title, x.cost_pence,
            {k: Field(f"{k}-{x.position}", _label(k, x.position, x.title)) for k in LINE_FIELDS},
        )
        for x in form.lines
    ]  # fmt: skip
    return OnlineForm(
        form, lines, Field(COMPLETED_BY, "Completed by"), Field(COMPLETED_ON, "Date completed"),
        Field(STATED, "Your total spend to date"), values, token, filed,
    )  # fmt: skip


def _form(session: Session, stream: str, year: FinancialYear, stage: str, line: str) -> ReturnForm:
    """The line's return form for the stage as it stands, for a person who may file it
    (Refused, and audited, for another organisation's line)."""
    line_id = own_line(session, stream, line)
    access.require_line(session, "import", line_id, about=f"{stage} return of {stream} {line} "
                        f"{year}")  # fmt: skip
    return forms(session, stream, year, stage, line)[0]


def _mac(session: Session, form: ReturnForm, fingerprint: str, login: str) -> str:
    secret = form_identity.derived_secret(session, PURPOSE).encode()
    shown = "\x1f".join([form.stream, str(form.year), form.line, form.stage, fingerprint, login])
    return hmac.new(secret, shown.encode(), hashlib.sha256).hexdigest()


def _token(session: Session, form: ReturnForm, login: str) -> str:
    return f"{form.fingerprint}.{_mac(session, form, form.fingerprint, login)}"


def _standing(session: Session, form: ReturnForm) -> ReturnFiling | None:
    """The line's filing for the form's stage and year that stands (not superseded)."""
    later = select(ReturnFiling.supersedes_id).where(ReturnFiling.supersedes_id.is_not(None))
    return session.scalar(
        select(ReturnFiling)
        .where(ReturnFiling.line_id == form.line_id, ReturnFiling.year == form.year,
               ReturnFiling.stage == form.stage, ReturnFiling.id.not_in(later))
        .order_by(ReturnFiling.id.desc())
        .limit(1)
    )  # fmt: skip


def _amount_text(pence: int | None) -> str:
    return "" if pence is None else f"{from_pence(pence):,.2f}"


def _filed_values(session: Session, form: ReturnForm, filing: ReturnFiling) -> dict[str, str]:
    """What a standing filing gave, as the page's inputs: each figure on the plan line of
    the same number and title (a line since changed is left empty)."""
    titles = {x.position: x.title for x in form.lines}
    values: dict[str, str] = {
        COMPLETED_BY: filing.completed_by or "",
        COMPLETED_ON: filing.completed_on.strftime("%d/%m/%Y") if filing.completed_on else "",
        STATED: _amount_text(filing.stated_total_pence),
    }
    for f in session.scalars(select(ReturnFigure).where(ReturnFigure.filing_id == filing.id)):
        if titles.get(f.position) != f.title:
            continue
        n = f.position
        values[f"spend-{n}"] = _amount_text(f.spend_pence)
        values[f"progress-{n}"] = f.progress or ""
        values[f"measure-{n}"] = f.measure or ""
        values[f"target-{n}"] = "" if f.target is None else str(f.target)
        values[f"actual-{n}"] = "" if f.actual is None else str(f.actual)
    return values


def online_form(
    session: Session, stream: str, year: FinancialYear, stage: str, line: str
) -> OnlineForm:
    """The page of a line's return for a stage: the plan's lines as they stand, filled with
    what the line's standing filing for the stage gave (so it can be corrected), else empty.
    A recipient's own lines' only (Refused for another organisation's); an officer's any."""
    form = _form(session, stream, year, stage, line)
    acting = access.require_line(session, "import", form.line_id)
    filing = _standing(session, form)
    values = _filed_values(session, form, filing) if filing is not None else {}
    return _page(form, values, _token(session, form, acting.login), filing.id if filing else None)


# -- reading what was posted ------------------------------------------------------------------


def _shown(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "…")


def amount(ref: str, typed: str) -> Typed[int]:
    """An amount typed as on the workbook (``£1,234.56``, ``1234.56``, ``1234``), in pence;
    words, a power of ten, a negative amount or fractions of a penny refused with what to
    do."""
    text = typed.strip()
    if not text:
        return Typed(ref, typed or None)
    problem = None
    if text.startswith("-") or (text.startswith("(") and text.endswith(")")):
        problem = (
            f"{_shown(text)} is negative: spend to date cannot be negative; type the "
            "amount spent, such as 1,234.56"
        )
    elif _EXPONENT.match(text):
        problem = (
            f"{_shown(text)} is written as a power of ten: type the amount in full, "
            "such as 1,234.56"
        )
    elif _DECIMALS.search(text):
        problem = (
            f"{_shown(text)} has more than two decimal places: round it to the penny, "
            "such as 1,234.56"
        )
    else:
        try:
            found = money(text)
        except MoneyLimitError as exc:
            problem = f"{str(exc).split('; ', 1)[0]}; check the amount"
        except MoneyError:
            problem = f"{_shown(text)} is not an amount: {AMOUNT_HINT}"
        else:
            return Typed(ref, typed, to_pence(found))
    return Typed(ref, typed, problem=problem)


def count(ref: str, typed: str) -> Typed[int]:
    """A whole number, 0 or more (``1,200`` or ``1200``)."""
    text = typed.strip()
    if not text:
        return Typed(ref, typed or None)
    if _COUNT.match(text) and int(text.replace(",", "")) <= 10**12:
        return Typed(ref, typed, int(text.replace(",", "")))
    return Typed(ref, typed, problem=f"{_shown(text)} is not a whole number: type a whole number, "
                 "0 or more, such as 12")  # fmt: skip


def words(ref: str, typed: str, what: str, kind: Kind = Kind.VALUE) -> Typed[str]:
    """Text, checked as a field of ``kind`` (grants.text): a control, bidirectional or
    invisible character is refused, never removed."""
    if not typed.strip():
        return Typed(ref, typed or None)
    try:
        found = clean(typed, what, kind)
    except TextError as exc:
        return Typed(ref, typed, problem=str(exc))
    return Typed(ref, typed, found.strip() or None)


def day(ref: str, typed: str) -> Typed[date]:
    """A date typed as an officer or recipient types one (``31/10/2017`` or ``2017-10-31``:
    grants.dates), or why it is not one."""
    if not typed.strip():
        return Typed(ref, typed or None)
    try:
        return Typed(ref, typed, parse_date(typed))
    except DateError as exc:
        return Typed(ref, typed, problem=str(exc))


def rows_of(page: OnlineForm, posted: Mapping[str, str], source: str) -> OnlineRows:
    """The posted fields as the rows a workbook gives (grants.services.form_rows): the
    lines as shown, the Total row, the stated total, who completed it and when."""
    value = {f.name: str(posted.get(f.name) or "") for f in _fields(page)}
    rows: list[ReturnRow] = []
    for i, x in enumerate(page.lines):
        f = x.fields
        rows.append(ReturnRow(
            i, x.position, Typed(f"Title, line {x.position}", x.title),
            Typed(f"Planned cost, line {x.position}", x.cost_pence / 100),
            amount(f["spend"].label, value[f["spend"].name]),
            words(f["progress"].label, value[f["progress"].name], "progress and outcomes",
                  Kind.FREE),
            words(f["measure"].label, value[f["measure"].name], "output measure"),
            count(f["target"].label, value[f["target"].name]),
            count(f["actual"].label, value[f["actual"].name]),
            False, None,
        ))  # fmt: skip
    n = len(rows)
    total, stated = "Total spend to date", page.stated.label
    rows.append(ReturnRow(n, None, Typed(total), Typed(total), Typed(total), Typed(total),
                          Typed(total), Typed(total), Typed(total), True, None))  # fmt: skip
    rows.append(ReturnRow(n + 1, None, Typed(stated), Typed(stated),
                          amount(stated, value[STATED]), Typed(stated), Typed(stated),
                          Typed(stated), Typed(stated), False, None))  # fmt: skip
    form = page.form
    content = json.dumps(
        {"form": [form.stream, form.year, form.line, form.stage, form.fingerprint],
         "source": source, "fields": {k: v.strip() for k, v in sorted(value.items())}},
        sort_keys=True, ensure_ascii=False,
    ).encode()  # fmt: skip
    return OnlineRows(
        source, hashlib.sha256(content).hexdigest(), b"", Typed(TOKEN), {},
        words(page.completed_by.label, value[COMPLETED_BY], "completed by"),
        day(page.completed_on.label, value[COMPLETED_ON]),
        rows, SHEET, 0, {},
        names={f.label: f.name for f in _fields(page)},
    )  # fmt: skip


def _fields(page: OnlineForm) -> list[Field]:
    return [
        *(x.fields[k] for x in page.lines for k in LINE_FIELDS),
        page.stated, page.completed_by, page.completed_on,
    ]  # fmt: skip


# -- filing ----------------------------------------------------------------------------------


def _same_as(session: Session, filed: Filed, filing: ReturnFiling) -> bool:
    """Whether a standing filing holds exactly what ``filed`` gives."""
    figures = {
        f.position: (f.title, f.spend_pence, f.progress, f.measure, f.target, f.actual)
        for f in session.scalars(select(ReturnFigure).where(ReturnFigure.filing_id == filing.id))
    }
    mine = {
        f.position: (f.title, f.spend_pence, f.progress, f.measure, f.target, f.actual)
        for f in filed.figures
    }
    return (figures, filing.completed_by, filing.completed_on, filing.stated_total_pence) == (
        mine, filed.completed_by, filed.completed_on, filed.stated_total_pence,
    )  # fmt: skip


def file_online(
    session: Session,
    stream: str,
    year: FinancialYear,
    stage: str,
    line: str,
    posted: Mapping[str, str],
    now: datetime,
) -> OnlineOutcome:
    """File a return posted from its page for the person acting, checked and recorded as an
    uploaded workbook is (``check_return``, ``record``), in the session's transaction; the
    caller rolls it back when there are problems. Refused (audited) for another
    organisation's line."""
    form = _form(session, stream, year, stage, line)
    acting = access.require_line(session, "import", form.line_id)
    login = acting.login
    typed = {k: str(v) for k, v in posted.items() if k != TOKEN and isinstance(v, str)}
    standing = _standing(session, form)
    page = _page(form, typed, _token(session, form, login), standing.id if standing else None)
    token = str(posted.get(TOKEN) or "")
    shown, _, mac = token.partition(".")
    if not (len(shown) == 12 and len(mac) == 64 and hmac.compare_digest(
            _mac(session, form, shown, login).encode(), mac.encode())):  # fmt: skip
        access.note_refusal(session, "import", f"online {stage} return of {stream} {line} "
                            f"{year}: the page's token does not verify")  # fmt: skip
        return OnlineOutcome(page, [FieldProblem(None, None, (
            "This page could not be checked as one this service showed you: open the return "
            "again from your line's page, fill it in and send it"))])  # fmt: skip
    if shown != form.fingerprint:
        return OnlineOutcome(page, [FieldProblem(None, None, (
            "The spending plan for this line has changed since this page was opened, so the "
            "return was not filed: the lines below are the plan's lines as they now stand. "
            "Check each figure against its line and send the return again"))])  # fmt: skip
    source = f"online return by {login}"
    rows = rows_of(page, typed, source)
    if standing is not None:  # a correction of the filing that stands: a filing of its own
        salted = rows.sha256 + f"|after {standing.id}"
        rows.sha256 = hashlib.sha256(salted.encode()).hexdigest()
    identity = Identity(
        "return", form.stream, form.year, form.line, form.stage, form.fingerprint,
        form_identity.recipient_code(session, form.line_id), now.date(),
    )  # fmt: skip
    filed, problems = check_return(session, rows, Forms(), identity)
    if filed is None:
        names = rows.names
        return OnlineOutcome(page, [
            FieldProblem(names.get(p.where or ""), p.where, p.message) for p in problems
        ])  # fmt: skip
    labels = {f"{SHEET}!{name}": label for label, name in rows.names.items()}
    warnings = [
        f"{labels.get(w.where, w.where)}: {w.message}" if w.where else w.message
        for w in filed.warnings
    ]
    if standing is not None and _same_as(session, filed, standing):
        return OnlineOutcome(page, receipt=standing.id, warnings=warnings, note=(
            f"This return is the same as return #{standing.id}, which stands: nothing "
            "changed"))  # fmt: skip
    done = record(session, filed, login, now, None, Catalog())
    if done.earlier is not None:
        return OnlineOutcome(page, receipt=done.earlier.id, warnings=warnings, note=(
            f"This return was filed already as return #{done.earlier.id}: nothing "
            "changed"))  # fmt: skip
    assert done.filing_id is not None
    return OnlineOutcome(page, receipt=done.filing_id, warnings=warnings)


__all__ = [
    "COMPLETED_BY", "COMPLETED_ON", "LINE_FIELDS", "STATED", "TOKEN", "Field", "FieldProblem",
    "OnlineForm", "OnlineLine", "OnlineOutcome", "OnlineRows", "amount", "count", "day",
    "file_online", "online_form", "rows_of", "words",
]  # fmt: skip
