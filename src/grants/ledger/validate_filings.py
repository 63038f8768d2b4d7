"""Validate the directives that restore what the ledger received and how it is named:
``return`` (a filed return with its figures), ``plan-form`` (an imported spending plan form),
``title`` (the ledger's name) and ``head`` (the chain head an export was written with).

`grants ledger export` writes them, so that an export is a complete backup: loading it into
an empty database gives back the same ledger, returns and all, with the same chain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grants.ledger.grammar import LINE_KEY, SHA256, STAGE
from grants.ledger.parser import Directive

if TYPE_CHECKING:
    from grants.ledger.validate import Books

_FINGERPRINT_LENGTH = 12
MAX_LINES = 999


def title(b: Books, d: Directive) -> None:
    name = " ".join(d.args[0].split())
    if not name or len(name) > 200:
        b.error(d, "the ledger's title is 1 to 200 characters")
        return
    b.titles.append((d, {"value": name, "actor": d.meta.get("actor")}))


def head(b: Books, d: Directive) -> None:
    count, _, digest = d.args[0].partition(":")
    if not count.isdigit() or not SHA256.match(digest):
        b.error(d, f"{d.args[0]!r} is not a chain head: COUNT:DIGEST, as `grants verify --head` "
                   "prints it")  # fmt: skip
        return
    b.heads.append((d, {"count": int(count), "digest": digest}))


def _sha256(b: Books, d: Directive) -> str | None:
    sha = d.meta.get("sha256", "")
    if not SHA256.match(sha):
        b.error(d, "sha256: the file's SHA-256, 64 lower-case hexadecimal digits", "sha256")
        return None
    return sha


def _filing(b: Books, d: Directive, year_arg: int) -> dict[str, Any] | None:
    """What a return and a plan form share: stream, year, line, file, who and when."""
    year = b.year(d, d.args[1])
    sha = _sha256(b, d)
    recorded = b.recorded(d)
    completed_on = (
        b.date(d, d.meta["completed-on"], "completed-on") if "completed-on" in d.meta else None
    )
    filename = d.args[year_arg]
    if not filename.strip() or len(filename) > 255 or "/" in filename or "\\" in filename:
        b.error(d, f"{filename!r} is not a file name (no folders, at most 255 characters)")
        return None
    attachment = d.meta.get("attachment")
    if year is None or sha is None or recorded is None:
        return None
    return {
        "stream": d.args[0],
        "year": year,
        "line": d.args[2],
        "sha256": sha,
        "filename": filename,
        "actor": d.meta.get("actor", b.actor),
        "recorded_at": recorded,
        "received_on": d.day,
        "completed_by": d.meta.get("completed-by"),
        "completed_on": completed_on,
        "attachment": attachment,
    }


def return_filing(b: Books, d: Directive) -> None:
    stage = d.args[3]
    if not STAGE.match(stage):
        b.error(d, f"{stage!r} is not a stage name, such as mid-year or q1")
        return
    rec = _filing(b, d, 4)
    fingerprint = d.meta.get("fingerprint", "")
    if len(fingerprint) != _FINGERPRINT_LENGTH or not all(
        c in "0123456789abcdef" for c in fingerprint
    ):
        b.error(d, "fingerprint: the form's 12 hexadecimal digits", "fingerprint")
        return
    supersedes = d.meta.get("supersedes")
    if supersedes is not None and not SHA256.match(supersedes):
        b.error(d, "supersedes: the SHA-256 of the return this one corrects", "supersedes")
        return
    total = b.amount(d, d.meta["total"], "total") if "total" in d.meta else None
    figures = _figures(b, d)
    if rec is None or figures is None:
        return
    rec |= {
        "stage": stage,
        "fingerprint": fingerprint,
        "stated_total_pence": total,
        "supersedes": supersedes,
        "figures": figures,
    }
    b.returns.append((d, rec))


def _figures(b: Books, d: Directive) -> list[dict[str, Any]] | None:
    lines: dict[int, dict[str, Any]] = {}
    for key, value in d.meta.items():
        match = LINE_KEY.match(key)
        if not match:
            continue
        number, part = int(match[1]), match[2] or "title"
        figure = lines.setdefault(number, {"position": number})
        if part in ("spend",):
            figure["spend_pence"] = b.amount(d, value, key)
        elif part in ("target", "actual"):
            if not value.isdigit() or len(value) > 13:
                b.error(d, f"{key}: a whole number, 0 or more", key)
                return None
            figure[part] = int(value)
        else:
            figure[part] = value
    if not lines:
        b.error(d, 'a return has its lines: line-1: "Title", line-1-cell: D13 and so on')
        return None
    if sorted(lines) != list(range(1, len(lines) + 1)):
        b.error(d, "a return's lines are numbered 1, 2, 3... with none missing")
        return None
    out = []
    for number in sorted(lines):
        figure = lines[number]
        if "title" not in figure or "cell" not in figure:
            b.error(d, f'line {number} needs line-{number}: "Title" and line-{number}-cell')
            return None
        for part in ("spend_pence", "progress", "measure", "target", "actual"):
            figure.setdefault(part, None)
        out.append(figure)
    return out


def plan_form(b: Books, d: Directive) -> None:
    rec = _filing(b, d, 3)
    lines = d.meta.get("lines", "")
    if not lines.isdigit() or int(lines) > MAX_LINES:
        b.error(d, "lines: how many new plan lines the form brought", "lines")
        return
    if rec is not None:
        b.plan_forms.append((d, rec | {"lines": int(lines)}))


__all__ = ["head", "plan_form", "return_filing", "title"]
