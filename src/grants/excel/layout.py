"""Print layout decisions that need no workbook: tab names, how wide a number prints, and a
sheet's orientation and scale on A4 (grants.excel.book applies them; grants.excel.metrics
measures the text)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

TAB_LIMIT = 31  # Excel's limit on a sheet's name
A4_POINTS = (595.28, 841.89)  # width and height, portrait

# The print set-up a sheet gets when its template has no [print] table (or lacks a key): A4
# portrait fitted to the page's width, heading rows repeated, the ledger's footer.
DEFAULT_PRINT: dict[str, Any] = {
    "orientation": "portrait",
    "fit_to_width": True,
    "repeat_heading_rows": True,
    "footer": "&L&[Ledger]: generated &[Date]&RPage &P of &N",
    "margin_cm": 1.5,
    "max_column_width": 60,
    "min_font_size": 7,
}
ORIENTATIONS = ("portrait", "landscape", "auto")
# Renderers lay a column out a little wider than Excel's own measure (LibreOffice by some 6%
# at Arial 10): the scale is chosen for a sheet this much wider, so that text fitted to the
# page is never printed below the smallest size allowed.
RENDER_SLACK = 1.1


def cut(text: str, limit: int) -> str:
    """Text of at most ``limit`` characters, cut with "…" when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def tab_name(text: str, taken: set[str]) -> str:
    """A tab name of at most 31 characters that no tab in ``taken`` has (Excel compares them
    ignoring case): cut with "…" when too long, numbered " 2", " 3"... when it would clash."""
    folded = {t.casefold() for t in taken}
    name = cut(text, TAB_LIMIT)
    n = 2
    while name.casefold() in folded:
        suffix = f" {n}"
        name = cut(text, TAB_LIMIT - len(suffix)) + suffix
        n += 1
    return name


_DECIMALS = re.compile(r"\.(0+)")


def shown_number(value: float, num_format: str | None) -> str:
    """About what a number looks like in a cell of that format (for its width, not its
    value): thousands separators, the format's decimals, its currency sign and percent."""
    section = (num_format or "General").split(";")[0]
    if value < 0 and ";" in (num_format or ""):
        section = (num_format or "").split(";")[1]
    percent = "%" in section
    number = abs(value) * (100 if percent else 1)
    match = _DECIMALS.search(section)
    decimals = len(match[1]) if match else 0
    if section == "General":
        text = f"{number:.10g}"
    elif "," in section:
        text = f"{number:,.{decimals}f}"
    else:
        text = f"{number:.{decimals}f}"
    sign = "-" if value < 0 else ""
    return sign + ("£" if "£" in section else "") + text + ("%" if percent else "")


@dataclass(frozen=True)
class Page:
    """How a sheet prints: orientation, and either fitted to the page's width or at a fixed
    scale (percent) across as many pages as it needs."""

    landscape: bool
    fit: bool
    scale: int


def printable_width(landscape: bool, margin_cm: float) -> float:
    width = A4_POINTS[1] if landscape else A4_POINTS[0]
    return width - 2 * margin_cm / 2.54 * 72


def page(width_points: float, smallest_font: float, setup: dict[str, Any]) -> Page:
    """Portrait or landscape as the template says (``auto``: portrait unless the sheet is
    wider than a portrait page would print it at full size), then fitted to the width unless
    that would print its smallest text below ``min_font_size``: then it runs on to a second
    page across at the smallest scale that keeps the text readable."""
    margin = float(setup["margin_cm"])
    width_points *= RENDER_SLACK
    orientation = setup["orientation"]
    landscape = orientation == "landscape"
    if orientation == "auto":
        landscape = width_points > printable_width(False, margin)
    scale = printable_width(landscape, margin) / width_points if width_points else 1.0
    floor = float(setup["min_font_size"]) / smallest_font if smallest_font else 0.0
    if not setup["fit_to_width"] or scale >= 1:
        return Page(landscape, bool(setup["fit_to_width"]), 100)
    if scale >= floor:
        return Page(landscape, True, max(10, math.floor(scale * 100)))
    return Page(landscape, False, max(10, math.ceil(floor * 100)))


__all__ = [
    "A4_POINTS", "DEFAULT_PRINT", "ORIENTATIONS", "TAB_LIMIT", "Page", "cut", "page",
    "printable_width", "shown_number", "tab_name",
]  # fmt: skip
