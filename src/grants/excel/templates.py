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
}  # fmt: skip

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
    for style, properties in layout.get("styles", {}).items():
        if not isinstance(properties, dict):
            problems.append(f"style {style!r} is not a table of properties")
            continue
        for key in sorted(set(properties) - STYLE_PROPERTIES):
            problems.append(f"style {style!r} has unknown property {key!r}")
    return problems
