"""The 360Giving Data Standard's own JSON Schema (src/grants/standards/360giving/), checked
with no network: the package schema's reference to the grant schema is resolved to the copy
kept with the code, and `date-time` is checked as a format (rfc3339-validator), without which
the standard's dates, `oneOf` a date-time and a plain date, would match both and fail."""

from __future__ import annotations

import csv
import json
from functools import cache
from importlib.resources import files
from typing import Any

from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

_FOLDER = files("grants") / "standards" / "360giving"
# Where the package schema says the grant schema is, and the grant schema's own $id.
_GRANT_URLS = (
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json",
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.3/schema/360-giving-schema.json",
)


@cache
def _validator() -> Draft202012Validator:
    package = json.loads((_FOLDER / "360-giving-package-schema.json").read_text("utf-8"))
    grant = json.loads((_FOLDER / "360-giving-schema.json").read_text("utf-8"))
    resource = DRAFT202012.create_resource(grant)
    registry: Registry[Any] = Registry().with_resources((url, resource) for url in _GRANT_URLS)
    return Draft202012Validator(
        package, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def regrant_types() -> frozenset[str]:
    """The codes of the standard's regrantType list (a closed list the schema does not check)."""
    with (_FOLDER / "regrantType.csv").open(encoding="utf-8") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:199] + "…"


def problems(package: dict[str, Any]) -> list[str]:
    """What in ``package`` breaks the standard, each as `where: what` (none: it is valid)."""
    found = []
    for error in sorted(_validator().iter_errors(package), key=lambda e: list(e.path)):
        where = "/".join(str(p) for p in error.absolute_path) or "the package"
        # `oneOf` (a date's two forms; a grant to an organisation or a person) says what
        # each choice lacks, rather than quoting the whole grant.
        reasons = sorted({_short(e.message) for e in error.context}) if error.context else []
        found.append(f"{where}: {' or '.join(reasons) if reasons else _short(error.message)}")
    for n, grant in enumerate(package.get("grants", [])):
        code = grant.get("regrantType")
        if code is not None and code not in regrant_types():
            found.append(f"grants/{n}/regrantType: {code!r} is not in the regrantType list")
    return found


__all__ = ["problems", "regrant_types"]
