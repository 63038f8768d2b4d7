"""Record the books' filed returns, imported plan forms (each with the workbook received, when
the books carry it) and the ledger's title, and check an export's chain head.

These directives are what `grants ledger export` writes so that an export is a complete
backup. A `return` records the filing as it was filed; the reported spend it brought is
recorded by the `spent` entries written beside it, not again.
"""

from __future__ import annotations

import hashlib
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from grants.db.engine import seal_now
from grants.db.models import Attachment, PlanFiling, ReturnFigure, ReturnFiling, Setting
from grants.ledger import giving_books
from grants.ledger.parser import Directive
from grants.limits import MAX_WORKBOOK_BYTES as MAX_FILE

if TYPE_CHECKING:
    from grants.ledger.write import Writer


def write_titles(w: Writer) -> None:
    """The ledger's title and its other settings (grants.ledger.giving_books), in the order of
    the books; one the ledger holds already (same name, value and day) is left as it is."""
    recorded = {(x.name, x.value, x.day) for x in w.s.scalars(select(Setting))}
    for d, rec in w.books.titles:
        name = rec.get("name", "title")
        org = giving_books.organisation({"name": name, "value": rec["value"]})
        if org is not None and org not in w.orgs:
            w.error(d, f"{org!r} is not an organisation declared with `org`")
            continue
        if (name, rec["value"], d.day) in recorded:
            w.report.skipped[name] += 1
            continue
        recorded.add((name, rec["value"], d.day))
        w.s.add(Setting(name=name, value=rec["value"], actor=rec["actor"],
                        **w.books.provenance(d)))  # fmt: skip
        w.made(d, "setting")
        w.report.created[name] += 1


def write_filings(w: Writer) -> None:
    """Returns and plan forms in the order of the books, so that the workbooks they carry
    take their ids (and places in the chain) in that order."""
    s = w.s
    filings = {f.key: f for f in s.scalars(select(ReturnFiling))}
    plans = set(s.scalars(select(PlanFiling.key)))
    attachments = set(s.scalars(select(Attachment.sha256)))
    both = [(d, rec, "return") for d, rec in w.books.returns]
    both += [(d, rec, "plan form") for d, rec in w.books.plan_forms]
    for d, rec, kind in sorted(both, key=lambda item: item[0].index):
        ids = _where(w, d, rec)
        if ids is None:
            continue
        if kind == "plan form":
            _plan_form(w, d, rec, ids, plans, attachments)
        else:
            _return(w, d, rec, ids, filings, attachments)
    s.flush()


def _return(
    w: Writer,
    d: Directive,
    rec: dict[str, Any],
    ids: tuple[int, int],
    filings: dict[str, ReturnFiling],
    attachments: set[str],
) -> None:
    s = w.s
    stream_id, line_id = ids
    before = filings.get(rec["sha256"])
    if before is not None:
        if (before.line_id, before.year, before.stage) != (line_id, rec["year"], rec["stage"]):
            w.error(d, f"the return {rec['sha256'][:12]}… is already recorded for another "
                       "line, year or stage")  # fmt: skip
        else:
            w.report.skipped["return"] += 1
        return
    supersedes_id = None
    if rec["supersedes"] is not None:
        earlier = filings.get(rec["supersedes"])
        if earlier is None or (earlier.line_id, earlier.year, earlier.stage) != (
            line_id, rec["year"], rec["stage"],
        ):  # fmt: skip
            w.error(d, "supersedes: no earlier return of this line, year and stage has that "
                       "SHA-256")  # fmt: skip
            return
        supersedes_id = earlier.id
    if not _attach(w, d, rec, attachments):
        return
    filing = ReturnFiling(
        key=rec["sha256"], stream_id=stream_id, line_id=line_id, year=rec["year"],
        stage=rec["stage"], fingerprint=rec["fingerprint"], filename=rec["filename"],
        actor=rec["actor"], recorded_at=rec["recorded_at"], received_on=rec["received_on"],
        completed_by=rec["completed_by"], completed_on=rec["completed_on"],
        stated_total_pence=rec["stated_total_pence"], supersedes_id=supersedes_id,
    )  # fmt: skip
    s.add(filing)
    s.flush()
    s.add_all(ReturnFigure(filing_id=filing.id, **figure) for figure in rec["figures"])
    filings[rec["sha256"]] = filing
    w.made(d, "return_filing")
    w.report.created["return"] += 1


def _plan_form(
    w: Writer,
    d: Directive,
    rec: dict[str, Any],
    ids: tuple[int, int],
    plans: set[str],
    attachments: set[str],
) -> None:
    if rec["sha256"] in plans:
        w.report.skipped["plan form"] += 1
        return
    if not _attach(w, d, rec, attachments):
        return
    plans.add(rec["sha256"])
    w.s.add(
        PlanFiling(
            key=rec["sha256"], stream_id=ids[0], line_id=ids[1], year=rec["year"],
            filename=rec["filename"], actor=rec["actor"], recorded_at=rec["recorded_at"],
            received_on=rec["received_on"], completed_by=rec["completed_by"],
            completed_on=rec["completed_on"], lines=rec["lines"],
        )
    )  # fmt: skip
    w.s.flush()
    w.made(d, "plan_filing")
    w.report.created["plan form"] += 1


def _where(w: Writer, d: Directive, rec: dict[str, Any]) -> tuple[int, int] | None:
    stream_id = w.stream(d, rec["stream"])
    if stream_id is None:
        return None
    line_id = w.lines.get((rec["stream"], rec["line"]))
    if line_id is None:
        w.error(d, f"there is no line {rec['line']!r} in stream {rec['stream']!r}")
        return None
    return stream_id, line_id


def _attach(w: Writer, d: Directive, rec: dict[str, Any], known: set[str]) -> bool:
    """Record the workbook the directive names (beside the books), if it names one and it is
    not recorded yet; False (with the problem) if it cannot be."""
    if rec["attachment"] is None or rec["sha256"] in known:
        return True
    content = _read_attachment(w, d, rec["attachment"])
    if content is None:
        return False
    if hashlib.sha256(content).hexdigest() != rec["sha256"]:
        w.error(d, f"attachment {rec['attachment']!r} is not the file whose SHA-256 the "
                   "directive gives: it was changed or replaced")  # fmt: skip
        return False
    w.s.add(Attachment(sha256=rec["sha256"], filename=rec["filename"], size=len(content),
                       content=content))  # fmt: skip
    known.add(rec["sha256"])
    w.made(d, "attachment")
    return True


def _read_attachment(w: Writer, d: Directive, name: str) -> bytes | None:
    """A received workbook beside the books: in the books' folder or below it, an ordinary
    file, and no larger than a received workbook may be."""
    folder = Path(d.file).parent
    path = folder / name
    root = w.books.root
    try:
        resolved = path.resolve()
        if root is not None and not resolved.is_relative_to(root):
            w.error(d, f"attachment {name!r} is outside the books' folder: keep the received "
                       "workbooks in its attachments/ folder")  # fmt: skip
            return None
        info = resolved.stat()
        if not stat.S_ISREG(info.st_mode):
            w.error(d, f"attachment {name!r} is not an ordinary file")
            return None
        if info.st_size > MAX_FILE:
            w.error(d, f"attachment {name!r} is {info.st_size:,} bytes; a received workbook is "
                       f"at most {MAX_FILE:,}")  # fmt: skip
            return None
        return resolved.read_bytes()
    except FileNotFoundError:
        w.error(d, f"attachment {name!r} is not there: copy the export's attachments/ folder "
                   "with its books")  # fmt: skip
    except OSError as exc:
        w.error(d, f"cannot read attachment {name!r}: {exc.strerror}")
    return None


def check_head(w: Writer, was_empty: bool) -> None:
    """An export names the head of the chain it was written with: loaded into an empty
    ledger, the books must make the same chain, or the restore is refused."""
    if not w.books.heads or not was_empty or w.books.problems:
        return
    head = seal_now(w.s)
    for d, rec in w.books.heads:
        if (head.count, head.digest) != (rec["count"], rec["digest"]):
            w.error(
                d,
                f"these books do not rebuild the chain {rec['count']}:{rec['digest']} they were "
                f"exported with (they make {head.count} records, another chain): they differ "
                "from what was exported, a file changed or missing since; nothing was "
                "restored",
            )


__all__ = ["check_head", "write_filings", "write_titles"]
