"""The ``schedule`` directive: one instalment of an allocation's payment schedule, validated
without a database and then written by the loader (keyed by what it says, so a second load
adds nothing)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.models import SCHEDULE_BASES, Instalment
from grants.ledger.parser import Directive
from grants.periods import Period
from grants.services.keys import instalment_key
from grants.services.schedules import NewInstalment, instalment_problem, recorded_basis

if TYPE_CHECKING:
    from grants.ledger.validate import Books
    from grants.ledger.write import Writer

META = {"basis", "due", "milestone"}


def validate(b: Books, d: Directive) -> None:
    """``DATE schedule STREAM PERIOD LINE AMOUNT`` with ``basis:``, ``due:`` and, on the
    milestone basis, ``milestone:``."""
    period = b.period(d, d.args[1])
    amount = b.amount(d, d.args[3])
    missing = [k for k in ("basis", "due") if k not in d.meta]
    if missing:
        b.error(d, f"an instalment needs {' and '.join(missing)}: its basis (one of "
                   f"{', '.join(SCHEDULE_BASES)}) and the date it is due")  # fmt: skip
        return
    due = b.date(d, d.meta["due"], "due")
    if period is None or amount is None or due is None:
        return
    new = NewInstalment(d.args[0], period, d.args[2], d.meta["basis"], amount, due,
                        d.meta.get("milestone"))  # fmt: skip
    # A schedule has one basis: the first instalment of the line and period in the books.
    first = b.schedule_bases.setdefault((new.stream, period, new.line), new.basis)
    problem = instalment_problem(new, first)
    if problem is not None:
        b.error(d, problem, "basis" if "basis" in problem else None)
        return
    b.instalments.append((d, new))


def write(w: Writer) -> None:
    """The books' instalments, each once (by its key), on the basis of any the line's
    schedule already holds."""
    s, books = w.s, w.books
    known = set(s.execute(select(Instalment.key)).scalars())
    bases: dict[tuple[int, Period], str | None] = {}
    for d, new in books.instalments:
        line_id = w.lines.get((new.stream, new.line))
        if line_id is None:
            w.error(d, f"there is no line {new.line!r} in stream {new.stream!r}")
            continue
        key = d.meta.get("key") or instalment_key(
            d.day, new.stream, new.period, new.line, new.basis, new.amount, new.due,
            new.milestone, d.meta.get("source"),
        )  # fmt: skip
        if key in known:
            w.report.skipped["instalment"] += 1
            continue
        known.add(key)
        if (line_id, new.period) not in bases:
            bases[(line_id, new.period)] = recorded_basis(s, line_id, new.period)
        problem = instalment_problem(new, bases[(line_id, new.period)])
        if problem is not None:
            w.error(d, problem)
            continue
        bases[(line_id, new.period)] = new.basis
        values: dict[str, Any] = {
            "key": key, "line_id": line_id, "first_year": new.period.first.start,
            "last_year": new.period.last.start, "basis": new.basis, "amount_pence": new.amount,
            "due": new.due, "milestone": new.milestone,
        }  # fmt: skip
        s.add(Instalment(**values, **books.provenance(d)))
        w.made(d, "instalment")
        w.report.created["instalment"] += 1
    s.flush()
