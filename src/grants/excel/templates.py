"""Report layouts in templates/*.toml, checked against the contract the code relies on."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from grants.config import project_root
from grants.errors import GrantsError

# For each template: the keys of each table that the code reads.
CONTRACT: dict[str, dict[str, set[str]]] = {
    "resourcing": {
        "sheet": {
            "name", "title", "subtitle", "first_column_heading", "total_label", "stated_label",
            "difference_label", "district_prefix", "not_applicable",
        },
        "columns": {"label_width", "year_width"},
        "print": {"landscape", "fit_to_width", "repeat_heading_rows", "footer"},
        "styles": {"title", "heading", "label", "district", "money", "total", "note"},
        "chart": {"title", "y_axis"},
    },
    "pcc-template": {
        "sheet": {"name", "title", "footer_note"},
        "header": {
            "local_contact", "police_contact", "signature", "date", "area", "funding_period",
            "allocation",
        },
        "table": {
            "headings", "spend_heading", "variance_heading", "total_label", "unallocated_label",
            "district_prefix", "district_note",
        },
        "stages": {"plan", "mid-year", "end-year"},
        "columns": {"title_width", "text_width", "money_width", "percent_width", "funding_width"},
        "print": {"landscape", "fit_to_width", "repeat_heading_rows", "footer"},
        "styles": {
            "title", "label", "input", "heading", "text", "district", "money", "percent", "total",
            "total_percent", "header_money", "note",
        },
    },
    "capital-programme": {
        "summary": {
            "sheet", "title", "subtitle", "books_table", "funding_heading", "funding_total",
            "allocations_heading", "allocations_total", "surplus_label", "amount_heading",
            "published_heading", "difference_heading", "rounding_note", "published_note",
        },
        "resources": {
            "sheet", "title", "subtitle", "books_table", "funding_heading", "funding_total",
            "allocations_heading", "allocations_total", "surplus_label", "headings",
        },
        "funding": {"sheet", "title", "subtitle", "books_table", "headings", "total_label"},
        "allocations": {
            "sheet", "title", "subtitle", "headings", "subtotal_prefix", "total_label",
        },
        "programme": {
            "sheet", "title", "total_heading", "change_heading", "total_label",
            "difference_label", "estimate_note", "change_note", "rounding_note", "table_titles",
        },
        "chart": {"sheet", "title", "y_axis", "year_heading"},
        "columns": {"label_width", "money_width", "notes_width", "ref_width"},
        "print": {"landscape", "fit_to_width", "repeat_heading_rows", "footer"},
        "styles": {
            "title", "heading", "section", "label", "money", "millions", "total",
            "total_millions", "estimate", "changed", "discrepancy", "note",
        },
    },
}  # fmt: skip

# Lists whose length the code relies on: (template, table, key) -> number of items.
LENGTHS = {
    ("pcc-template", "table", "headings"): 5,
    ("capital-programme", "resources", "headings"): 6,
    ("capital-programme", "funding", "headings"): 3,
    ("capital-programme", "allocations", "headings"): 6,
}

# The formatting properties a style may set (XlsxWriter format properties).
STYLE_PROPERTIES = {
    "bold", "italic", "font_size", "font_color", "align", "num_format", "top", "bottom",
    "indent", "text_wrap", "bg_color", "border",
}  # fmt: skip


def templates_dir() -> Path:
    return project_root() / "templates"


def load(name: str) -> dict[str, Any]:
    """A template's layout; a clear error if it breaks the contract."""
    path = templates_dir() / f"{name}.toml"
    try:
        layout = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrantsError(f"the report template {path} is missing") from None
    except tomllib.TOMLDecodeError as exc:
        raise GrantsError(f"the report template {path} cannot be read: {exc}") from exc
    problems = contract_problems(name, layout)
    if problems:
        raise GrantsError(f"the report template {path} is broken: " + "; ".join(problems))
    return layout


def contract_problems(name: str, layout: dict[str, Any]) -> list[str]:
    problems = []
    for table, keys in CONTRACT[name].items():
        section = layout.get(table)
        if not isinstance(section, dict):
            problems.append(f"[{table}] is missing")
            continue
        for key in sorted(keys - set(section)):
            problems.append(f"[{table}] has no {key!r}")
    for (template, table, key), length in LENGTHS.items():
        value = layout.get(table, {}).get(key) if template == name else None
        if template == name and value is not None:
            if not isinstance(value, list) or len(value) != length:
                problems.append(f"[{table}] {key} must be a list of {length} headings")
    for style, properties in layout.get("styles", {}).items():
        if not isinstance(properties, dict):
            problems.append(f"style {style!r} is not a table of properties")
            continue
        for key in sorted(set(properties) - STYLE_PROPERTIES):
            problems.append(f"style {style!r} has unknown property {key!r}")
    return problems
