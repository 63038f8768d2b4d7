"""The capital programme's layout with the headings a stream's books give (``heading``).

The template (templates/capital-programme.toml) holds neutral headings; a council's books name
any text of it in the council's own words, ``heading STREAM SECTION.KEY "Text"``: a text key
(``resources.title``), the Nth of a list of headings (``allocations.headings.4``) or an entry of
a table of texts (``programme.table_titles.grants``). Sizes, styles and print settings stay
the template's.
"""

from __future__ import annotations

import copy
from typing import Any

from grants.errors import GrantsError
from grants.excel.book import sheet_name
from grants.excel.templates import contract_problems

SHEETS = ("summary", "resources", "funding", "allocations", "chart")  # one sheet each
FIXED = frozenset({"columns", "print", "styles"})  # not text: the books cannot set them
SHEET_LIMIT = 31


def _keys(layout: dict[str, Any]) -> list[str]:
    out = []
    for section, values in layout.items():
        if section in FIXED or not isinstance(values, dict):
            continue
        for key, value in values.items():
            if isinstance(value, str):
                out.append(f"{section}.{key}")
            elif isinstance(value, list):
                out.append(f"{section}.{key}.1-{len(value)}")
            elif isinstance(value, dict):
                out.append(f"{section}.{key}.NAME")
    return out


def with_headings(
    layout: dict[str, Any], headings: dict[str, tuple[str, str | None]]
) -> dict[str, Any]:
    """A copy of ``layout`` with the books' headings put in; a key the template does not
    have is refused, naming the books line."""
    out = copy.deepcopy(layout)
    for key, (text, origin) in sorted(headings.items()):
        parts = key.split(".")
        section = out.get(parts[0]) if parts[0] not in FIXED else None
        value = section.get(parts[1]) if isinstance(section, dict) else None
        where = f"{origin}: " if origin else ""
        if len(parts) == 2 and isinstance(value, str):
            assert isinstance(section, dict)
            if parts[1] == "sheet" and len(text) > SHEET_LIMIT:
                raise GrantsError(
                    f"{where}heading {key}: a sheet's name is at most {SHEET_LIMIT} characters "
                    f"({len(text)} given)"
                )
            section[parts[1]] = text
        elif len(parts) == 3 and isinstance(value, list) and parts[2].isdigit():
            index = int(parts[2])
            if not 1 <= index <= len(value):
                raise GrantsError(
                    f"{where}heading {key}: the list {parts[0]}.{parts[1]} has {len(value)} "
                    f"headings; number them 1 to {len(value)}"
                )
            value[index - 1] = text
        elif len(parts) == 3 and isinstance(value, dict):
            value[parts[2]] = text
        else:
            raise GrantsError(
                f"{where}heading {key}: the capital programme's template has no such text; "
                f"its keys are {', '.join(_keys(layout))} (see templates/README.md)"
            )
    problems = contract_problems("capital-programme", out)
    sheets = [str(out[name]["sheet"]) for name in SHEETS if isinstance(out.get(name), dict)]
    folded = [sheet_name(x).casefold() for x in [*sheets, "Sources"]]
    if len(set(folded)) != len(folded):
        problems.append(
            f"two sheets would have the same name ({', '.join(sheets)}, Sources): give each its own"
        )
    if problems:
        given = ", ".join(f"{k} ({o})" for k, (_, o) in sorted(headings.items()))
        raise GrantsError(
            f"the books' headings ({given}) do not fit the capital programme's template: "
            + "; ".join(problems)
        )
    return out


__all__ = ["with_headings"]
