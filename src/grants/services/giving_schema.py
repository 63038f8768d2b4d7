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

from jsonschema import Draft202012Validator, ValidationError
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from grants.services.seen_ids import FirstSeen

_FOLDER = files("grants") / "standards" / "360giving"
# Where the package schema says the grant schema is, and the grant schema's own $id.
_GRANT_URLS = (
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.2/schema/360-giving-schema.json",
    "https://raw.githubusercontent.com/ThreeSixtyGiving/standard/1.4.3/schema/360-giving-schema.json",
)


@cache
def _schema(name: str) -> dict[str, Any]:
    """A schema of the standard, read once (the validators and the registry share it and
    never change it)."""
    loaded: dict[str, Any] = json.loads((_FOLDER / name).read_text("utf-8"))
    return loaded


def _made(schema: dict[str, Any]) -> Draft202012Validator:
    resource = DRAFT202012.create_resource(_schema("360-giving-schema.json"))
    registry: Registry[Any] = Registry().with_resources((url, resource) for url in _GRANT_URLS)
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


@cache
def _validator() -> Draft202012Validator:
    """The package schema's validator."""
    return _made(_schema("360-giving-package-schema.json"))


@cache
def _grant_validator() -> Draft202012Validator:
    """The grant schema's validator (what the package schema's `grants` items refer to)."""
    return _made(_schema("360-giving-schema.json"))


@cache
def regrant_types() -> frozenset[str]:
    """The codes of the standard's regrantType list (a closed list the schema does not check)."""
    with (_FOLDER / "regrantType.csv").open(encoding="utf-8") as f:
        return frozenset(row["Code"] for row in csv.DictReader(f))


def _short(message: str) -> str:
    return message if len(message) <= 200 else message[:199] + "…"


def _described(error: ValidationError, where: str) -> str:
    # `oneOf` (a date's two forms; a grant to an organisation or a person) says what each
    # choice lacks, rather than quoting the whole grant.
    reasons = sorted({_short(e.message) for e in error.context}) if error.context else []
    return f"{where}: {' or '.join(reasons) if reasons else _short(error.message)}"


class Check:
    """The standard's schema checked grant by grant as a package is written, so that no
    package is held whole to be checked: ``grant`` each grant in turn, then ``problems`` with
    the package's other fields.

    Each grant is checked against the grant schema, as the package schema's `items` asks,
    but for the first, which is checked with the package itself (its other fields, and
    that it has a grant at all). The package schema's `uniqueItems` is checked through the
    grants' ids: a grant must have an id (the grant schema) and no id may be another's (the
    standard's rule), so no two grants can be the same. Checking it as jsonschema does, by
    comparing every grant with every other, takes time that grows with the square of the
    grants. The ids are held by their digests (seen_ids): a national funder's ten years of
    grants are ten million."""

    def __init__(self) -> None:
        self._found: list[str] = []
        self._count = 0
        self._first: dict[str, Any] | None = None
        self._ids = FirstSeen()  # each id's first grant

    def grant(self, grant: dict[str, Any]) -> None:
        n = self._count
        self._count += 1
        if n == 0:
            self._first = grant
        else:
            errors = _grant_validator().iter_errors(grant)
            for error in sorted(errors, key=lambda e: [str(p) for p in e.path]):
                where = "/".join([f"grants/{n}", *(str(p) for p in error.absolute_path)])
                self._found.append(_described(error, where))
        code = grant.get("regrantType")
        if code is not None and code not in regrant_types():
            self._found.append(f"grants/{n}/regrantType: {code!r} is not in the regrantType list")
        identifier = grant.get("id")
        if isinstance(identifier, str):
            earlier = self._ids.first(identifier, n)
            if earlier is not None:
                self._found.append(
                    f"grants/{n}/id: {identifier!r} is the id of grants/{earlier} too, and a "
                    "grant's id must be its own"
                )

    def problems(self, fields: dict[str, Any]) -> list[str]:
        """What breaks the standard in the package of ``fields`` (every field but its grants)
        and the grants checked, each as `where: what` (none: it is valid)."""
        package = {"grants": [] if self._first is None else [self._first], **fields}
        errors = _validator().iter_errors(package)
        shell = [
            _described(e, "/".join(str(p) for p in e.absolute_path) or "the package")
            for e in sorted(errors, key=lambda e: [str(p) for p in e.path])
        ]
        return shell + self._found


__all__ = ["Check", "regrant_types"]
