"""The floor of the 360Giving export's benchmark (test_giving_bench.py), run as a program of
its own: `python giving_floor.py LEDGER OUTPUT PEAK`.

It writes the benchmark ledger's 360Giving package to OUTPUT as `grants export 360giving`
writes it (the benchmark compares the two files byte for byte), from hand-written sqlite3
queries that read the grants and the payments in the order they are published, each grant
checked against the standard's grant schema with jsonschema as it is written. It imports
only what it uses (the standard library, jsonschema and its registry), so its start-up is
its own. It takes every allocation and payment as standing and the ledger's organisations
as having no org-id, as the benchmark's ledger is made; the product works out what stands
through virements, clawbacks and reversals. PEAK receives its peak resident memory as it
exits.
"""

from __future__ import annotations

import atexit
import json
import re
import sqlite3
import sys
from contextlib import closing
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

STANDARD = Path(__file__).resolve().parents[2] / "src" / "grants" / "standards" / "360giving"

# An amount (a Decimal) is written as a number to two places, never through a float: the
# encoder writes it as a marked string, and the mark is taken off the text it writes.
_AMOUNT = re.compile(r'"\\u0000(-?\d+\.\d\d)"')


class _Encoder(json.JSONEncoder):
    def default(self, o: object) -> object:
        if isinstance(o, Decimal):
            return f"\0{o}"
        return super().default(o)


def _pounds(pence: int) -> Decimal:
    return Decimal(pence).scaleb(-2)


def _year(start: int) -> str:
    return f"{start}-{(start + 1) % 100:02d}"


def grant_validator() -> Draft202012Validator:
    """The standard's grant schema, its own references resolved to the copy kept with the
    code, dates checked as formats (as the export checks them)."""
    grant = json.loads((STANDARD / "360-giving-schema.json").read_text("utf-8"))
    registry: Registry[Any] = Registry().with_resource(
        grant["$id"], DRAFT202012.create_resource(grant)
    )
    return Draft202012Validator(
        grant, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def floor(ledger: str, output: str) -> None:
    """Write the benchmark ledger's 360Giving package to ``output``."""
    check = grant_validator()
    with closing(sqlite3.connect(ledger)) as conn:
        titled = conn.execute(
            "SELECT value FROM setting WHERE name = 'title' ORDER BY id DESC LIMIT 1"
        ).fetchone()
        name = titled[0] if titled else "Grants ledger"
        stream_id, code, title, funder_code, funder = conn.execute(
            "SELECT s.id, s.code, s.name, o.code, o.name FROM stream s "
            "JOIN organisation o ON o.id = s.funder_id"
        ).fetchone()
        funding = [{"id": f"360G-UNREGISTERED-ORG-{funder_code}", "name": funder}]
        grants = conn.execute(
            "SELECT e.first_year, l.id, l.code, l.name, o.code, o.name, SUM(e.amount_pence), "
            "MIN(e.day) FROM entry e JOIN line l ON l.id = e.line_id "
            "JOIN organisation o ON o.id = l.recipient_id WHERE e.stream_id = ? "
            "AND e.kind = 'allocate' GROUP BY e.first_year, l.id ORDER BY e.first_year, l.id",
            (stream_id,),
        )
        pays = conn.execute(
            "SELECT first_year, line_id, day, amount_pence FROM entry WHERE stream_id = ? "
            "AND kind = 'pay' ORDER BY first_year, line_id, day, id",
            (stream_id,),
        )
        pay = next(pays, None)
        encoder = _Encoder(indent=2, ensure_ascii=False)
        with open(output, "w", encoding="utf-8") as f:
            f.write('{\n  "grants": [')
            for n, (year, line_id, line, project, org, recipient, pence, day) in enumerate(grants):
                span = _year(year)
                grant_id = f"360G-UNREGISTERED-{code}-{span}-{line}"
                grant: dict[str, Any] = {
                    "id": grant_id,
                    "title": f"{project}: {title} {span}",
                    "description": f"{title} {span}: the allocation to {project}, received "
                    f"by {recipient}.",
                    "currency": "GBP",
                    "amountAwarded": _pounds(pence),
                    "awardDate": day,
                    "plannedDates": [
                        {"startDate": f"{year}-04-01", "endDate": f"{year + 1}-03-31"}
                    ],
                    "recipientOrganization": [
                        {"id": f"360G-UNREGISTERED-ORG-{org}", "name": recipient}
                    ],
                    "fundingOrganization": funding,
                    "grantProgramme": [{"code": code, "title": title}],
                }
                paid = []
                while pay is not None and (pay[0], pay[1]) == (year, line_id):
                    paid.append({"id": f"{grant_id}-PAY-{len(paid) + 1}", "transactionDate":
                                 pay[2], "value": _pounds(pay[3]), "currency": "GBP"})  # fmt: skip
                    pay = next(pays, None)
                if paid:
                    grant["disbursementTransaction"] = paid
                if next(check.iter_errors(grant), None) is not None:
                    raise SystemExit(f"grant {grant_id} breaks the schema")
                text = encoder.encode(grant).replace("\n", "\n    ")
                f.write((",\n    " if n else "\n    ") + _AMOUNT.sub(r"\1", text))
            fields = {
                "version": "1.4",
                "title": f"{name}: grants (every stream)",
                "description": f"Allocations recorded in the ledger of {name} (every stream), "
                "one grant for each line's allocation for a financial year, with its payments.",
                "issued": date.today().isoformat(),
                "publisher": {"name": name},
            }
            f.write("\n  ]")
            for key, value in fields.items():
                f.write(f",\n  {json.dumps(key)}: " + encoder.encode(value).replace("\n", "\n  "))
            f.write("\n}\n")


def _peak_at_exit(path: str) -> None:
    """Write this process's peak resident memory (kB) to ``path`` as it exits, as the
    benchmark's launcher of the product does."""

    def peak() -> None:
        status = Path("/proc/self/status").read_text()
        kb = next(x.split()[1] for x in status.splitlines() if x.startswith("VmHWM:"))
        Path(path).write_text(kb)

    atexit.register(peak)


if __name__ == "__main__":
    _peak_at_exit(sys.argv[3])
    floor(sys.argv[1], sys.argv[2])
