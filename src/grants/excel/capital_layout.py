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
from grants.excel.stream_layout import put
from grants.excel.templates import contract_problems

SHEETS = ("summary", "resources", "funding", "allocations", "chart")  # one sheet each
SHEET_LIMIT = 31


def with_headings(
    layout: dict[str, Any], headings: dict[str, tuple[str, str | None]]
) -> dict[str, Any]:
    """A copy of ``layout`` with the books' headings put in; a key the template does not
    have is refused, naming the books line."""
    out = copy.deepcopy(layout)
    for key, (text, origin) in sorted(headings.items()):
        parts = key.split(".")
        if len(parts) == 2 and parts[1] == "sheet" and len(text) > SHEET_LIMIT:
            where = f"{origin}: " if origin else ""
            raise GrantsError(
                f"{where}heading {key}: a sheet's name is at most {SHEET_LIMIT} characters "
                f"({len(text)} given)"
            )
        put("capital-programme", out, key, text, origin, prefixed=False)
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
