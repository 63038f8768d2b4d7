"""What the books say for publishing grants in the 360Giving Data Standard: the publisher's
360Giving prefix, which organisation publishes, and each organisation's identifier.

    2009-04-01 setting 360giving-prefix "360G-OCC"
    2009-04-01 setting 360giving-publisher OCC
    2009-04-01 org-id OCC GB-LAE-OXF
      source: "local-authority-eng register, OXF"

Each is kept as a row of the ledger's settings (the table that holds its title): append-only,
sealed in the chain and exported, in the order of the books. The latest for a name (or for an
organisation) stands; the earlier ones are kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grants.ledger.parser import Directive

if TYPE_CHECKING:
    from grants.ledger.validate import Books

KEYWORDS = ("setting", "org-id")
ARITY = {"setting": 2, "org-id": 2}
USAGE = {
    "setting": 'DATE setting NAME "Value"',
    "org-id": "DATE org-id ORG IDENTIFIER",
}
_META = {"source", "note", "origin", "actor"}
META = {"setting": _META, "org-id": _META}

# A 360Giving publisher prefix: `360G-` and letters, digits and single hyphens.
PREFIX = re.compile(r"^360G-[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*$")
# An org-id.guide identifier: the list's code (a country code or XI/XM, a hyphen, the
# register's letters: GB-LAE, GB-CHC, GB-COH) and the identifier in that register.
ORG_ID = re.compile(r"^[A-Z]{2}-[A-Z0-9]{2,12}-[A-Za-z0-9][A-Za-z0-9._/-]{0,60}$")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{0,39}$")


def _prefix(value: str) -> str | None:
    if PREFIX.match(value):
        return None
    return (
        f"{value!r} is not a 360Giving prefix: `360G-` (in capitals) and letters, digits and "
        "single hyphens, not ending in one (the prefix 360Giving gave the publisher, e.g. "
        "360G-OCC)"
    )


def _org(value: str) -> str | None:
    if CODE.match(value):
        return None
    return f"{value!r} is not an organisation code: capital letters, digits and -"


# The settings the books may give, each with its check (None: the value is good).
SETTINGS: dict[str, Callable[[str], str | None]] = {
    "360giving-prefix": _prefix,
    "360giving-publisher": _org,
}


def validate(b: Books, d: Directive) -> None:
    if d.keyword == "setting":
        name, value = d.args
        check = SETTINGS.get(name)
        if check is None:
            b.error(d, f"unknown setting {name!r}; the settings are {', '.join(SETTINGS)}")
            return
        problem = check(value)
        if problem is not None:
            b.error(d, problem)
            return
    else:
        org, identifier = d.args
        if not CODE.match(org):
            b.error(d, f"{org!r} is not an organisation code: capital letters, digits and -")
            return
        if not ORG_ID.match(identifier):
            b.error(
                d,
                f"{identifier!r} is not an organisation identifier of org-id.guide: the "
                "list's code and the register's identifier, e.g. GB-LAE-OXF or GB-CHC-1234567",
            )
            return
        name, value = "org-id", f"{org} {identifier}"
    b.titles.append((d, {"name": name, "value": value, "actor": d.meta.get("actor")}))


def organisation(rec: dict[str, Any]) -> str | None:
    """The organisation code an `org-id` or `360giving-publisher` setting names (None for
    other settings): the ledger must hold it."""
    if rec["name"] == "360giving-publisher":
        return str(rec["value"])
    return rec["value"].split(" ", 1)[0] if rec["name"] == "org-id" else None


def heading(row: dict[str, Any], quote: Callable[[str], str]) -> str:
    """A setting row's directive line, as `grants ledger export` writes it."""
    if row["name"] == "title":
        return f"{row['day']} title {quote(row['value'])}"
    if row["name"] == "org-id":
        org, identifier = row["value"].split(" ", 1)
        return f"{row['day']} org-id {org} {identifier}"
    return f"{row['day']} setting {row['name']} {quote(row['value'])}"


__all__ = ["ARITY", "KEYWORDS", "META", "SETTINGS", "USAGE", "heading", "organisation", "validate"]
