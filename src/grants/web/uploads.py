"""An uploaded form, filed as `grants returns import` and `grants plan import` file one:
read as a hostile file, checked cell by cell against the form as it stands, and recorded
whole in one transaction or not at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session

from grants import formatting
from grants.errors import BooksError, GrantsError
from grants.excel import plan_reader, return_reader
from grants.periods import FinancialYear
from grants.services.access import Actor
from grants.services.form_rows import PlanRows, Problem, Received
from grants.services.journal import Catalog, Journal
from grants.services.plan_forms import check_plan, describe, imported_before, record_plan
from grants.services.returns_import import Forms, check_return, record
from grants.web.ledger import Ledger

MISMATCH = "[E_TEMPLATE_MISMATCH]"


@dataclass
class Outcome:
    """What became of an upload: problems (nothing recorded), or what was recorded."""

    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    recorded: str | None = None
    receipt: int | None = None  # the return filing that stands for the upload
    plan_receipt: int | None = None  # the spending plan filing the upload recorded
    note: str | None = None  # nothing changed, and why


class _Rejected(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("rejected")
        self.problems = problems


def file_upload(ledger: Ledger, actor: Actor, received: Received) -> Outcome:
    """File an uploaded return form, or spending plan form, for ``actor``."""
    try:
        # The workbook is read before the ledger's writer lock is taken: reading it needs no
        # database, and every other writer (a sign-in, another upload) would wait for it.
        rows, problems = return_reader.read_return(received)
        plan: tuple[PlanRows | None, list[Problem]] | None = None
        if rows is None and problems and problems[0].message.endswith(MISMATCH):
            plan = plan_reader.read_plan(received)
            if plan[0] is None and plan[1][0].message.endswith(MISMATCH):
                raise _Rejected([Problem(received.name, None, "this is neither a return form "
                                         "nor a spending plan form issued by this service: "
                                         "download the form from your line's page, fill it in "
                                         "and upload it")])  # fmt: skip
        with ledger.writing(actor) as session:
            if plan is not None:
                return _plan(session, actor, received, *plan)
            filed = None
            if rows is not None:
                filed, problems = check_return(session, rows, Forms())
            if problems or filed is None:
                raise _Rejected(problems)
            now = datetime.now().replace(microsecond=0)
            outcome = record(session, filed, actor.login, now, None, Catalog())
            what = (f"{filed.form.stage} return for {filed.form.stream} {filed.form.line} "
                    f"{FinancialYear(filed.form.year)}")  # fmt: skip
            if outcome.earlier is not None:
                when = formatting.day(outcome.earlier.recorded_at)
                said = (f"This file was filed already, on {when} (return "
                        f"#{outcome.earlier.id}): nothing changed")  # fmt: skip
                return Outcome(warnings=filed.warnings, recorded=said,
                               receipt=outcome.earlier.id, note=said)  # fmt: skip
            note = (f"; it supersedes return #{outcome.superseded.id}"
                    if outcome.superseded is not None else "")  # fmt: skip
            return Outcome(warnings=filed.warnings,
                           recorded=f"Filed the {what}: your receipt is return "
                           f"#{outcome.filing_id}{note}", receipt=outcome.filing_id)  # fmt: skip
    except _Rejected as exc:
        return Outcome(problems=exc.problems or [Problem(received.name, None, "not a form")])
    except BooksError as exc:
        return Outcome(problems=[p if isinstance(p, Problem) else Problem(received.name, None,
                                 str(p)) for p in exc.problems])  # fmt: skip
    except GrantsError as exc:
        return Outcome(problems=[Problem(received.name, None, str(exc))])


def _plan(
    session: Session,
    actor: Actor,
    received: Received,
    rows: PlanRows | None,
    problems: list[Problem],
) -> Outcome:
    """`grants plan import` for one uploaded spending plan form."""
    Journal(session).lock()  # a plan's lines are checked and added one import at a time
    earlier = imported_before(session, rows.sha256) if rows is not None else None
    if earlier is not None:
        return Outcome(recorded=f"This file was filed already (its lines are in the plan, "
                       f"dated {formatting.day(earlier)}): nothing changed")  # fmt: skip
    filed = None
    if rows is not None:
        filed, problems = check_plan(session, rows)
    if problems or filed is None:
        raise _Rejected(problems)
    done = record_plan(session, filed, actor.login, date.today())
    if not done.created:
        return Outcome(
            warnings=filed.warnings,
            recorded=f"Nothing new in the {describe(filed)}: nothing changed",
        )
    return Outcome(warnings=filed.warnings, recorded=f"Filed the {describe(filed)}",
                   plan_receipt=done.filing_id)  # fmt: skip


__all__ = ["Outcome", "file_upload"]
