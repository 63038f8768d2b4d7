"""Report layouts in templates/*.toml (and folders below), checked against the contract the
code relies on. They are package data: read through importlib.resources wherever the package
was installed, never from a path relative to a checkout."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any

from grants.errors import GrantsError
from grants.excel.layout import ORIENTATIONS

# The [print] table every template has (templates/README.md; grants.excel.layout applies it).
PRINT = {
    "orientation", "fit_to_width", "repeat_heading_rows", "footer", "margin_cm",
    "max_column_width", "min_font_size",
}  # fmt: skip

# For each template: the keys of each table that the code reads.
CONTRACT: dict[str, dict[str, set[str]]] = {
    "esif-claims": {
        "sheet": {"name", "title", "subtitle", "headings", "rule", "total_label", "within",
                  "beyond", "no_rate", "none_claimed"},
        "columns": {"label_width", "short_width", "money_width", "text_width"},
        "print": PRINT,
        "styles": {"title", "heading", "label", "text", "money", "percent", "total", "check",
                   "note"},
        "chart": {"title", "y_axis"},
    },
    "growth-monitoring": {
        "sheet": {"name", "title", "subtitle", "headings", "total_label", "no_claim",
                  "rag_rule", "illustrative"},
        "rag": {"red_percent", "amber_percent"},
        "quarters": {"name", "title", "headings", "not_claimed"},
        "outputs": {"name", "title", "headings", "no_target"},
        "columns": {"label_width", "short_width", "money_width"},
        "print": PRINT,
        "styles": {"title", "heading", "label", "text", "money", "count", "percent", "total",
                   "rag", "note"},
        "chart": {"title", "y_axis"},
    },
    "resourcing": {
        "sheet": {
            "name", "title", "subtitle", "first_column_heading", "total_label", "stated_label",
            "difference_label", "district_prefix", "not_applicable",
        },
        "columns": {"label_width", "year_width"},
        "print": PRINT,
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
            "district_prefix", "district_note", "no_spend_note", "not_given",
        },
        "stages": {"plan", "mid-year", "end-year"},
        "columns": {"title_width", "text_width", "money_width", "percent_width", "funding_width"},
        "print": PRINT,
        "styles": {
            "title", "label", "input", "heading", "text", "district", "money", "percent", "total",
            "total_percent", "header_money", "note",
        },
    },
    "return-form": {
        "sheet": {"title", "instructions_sheet"},
        "labels": {
            "form", "recipient", "allocation", "year", "stage", "allocated", "completed_by",
            "completed_on", "stage_text", "headings", "total", "stated_total",
        },
        "instructions": {"lines"},
        "columns": {
            "number_width", "title_width", "money_width", "text_width", "measure_width",
            "count_width",
        },
        "print": PRINT,
        "styles": {
            "title", "label", "fixed", "heading", "fixed_text", "fixed_money", "input_money",
            "input_text", "input_count", "input_date", "total", "note",
        },
    },
    "plan-form": {
        "sheet": {"title", "instructions_sheet"},
        "labels": {
            "form", "recipient", "allocation", "year", "due", "due_text", "allocated",
            "completed_by", "completed_on", "headings", "not_pcc", "total", "unplanned",
        },
        "instructions": {"lines", "objectives_heading", "objectives"},
        "columns": {
            "number_width", "title_width", "text_width", "objective_width", "money_width",
            "percent_width", "funding_width",
        },
        "print": PRINT,
        "styles": {
            "title", "label", "fixed", "heading", "fixed_text", "fixed_money", "percent",
            "input_money", "input_text", "input_count", "input_date", "total", "total_percent",
            "note",
        },
    },
    "reconcile": {
        "summary": {"sheet", "title", "headings", "total_label", "stream_wide"},
        "findings": {"headings"},
        "columns": {"label_width", "count_width", "text_width", "money_width"},
        "print": PRINT,
        "styles": {
            "title", "heading", "label", "error", "warning", "info", "count", "total", "money",
        },
    },
    "published": {
        "sheet": {"name", "title", "subtitle", "headings", "agrees", "differs", "note"},
        "beside": {"printed_label", "difference_label"},
        "columns": {"text_width", "note_width", "period_width", "money_width", "short_width"},
        "styles": {"title", "heading", "label", "money", "agrees", "differs", "note"},
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
            "sheet", "title", "subtitle", "books_table", "headings", "subtotal_prefix",
            "total_label",
        },
        "programme": {
            "sheet", "title", "total_heading", "later_heading", "change_heading", "total_label",
            "difference_label", "estimate_note", "change_note", "rounding_note", "table_titles",
        },
        "chart": {"sheet", "title", "single_title", "y_axis", "year_heading"},
        "columns": {"label_width", "money_width", "notes_width", "ref_width"},
        "print": PRINT,
        "styles": {
            "title", "heading", "section", "label", "money", "millions", "total",
            "total_millions", "estimate", "changed", "discrepancy", "note",
        },
    },
}  # fmt: skip

# Lists whose length the code relies on: (template, table, key) -> number of items.
LENGTHS = {
    ("esif-claims", "sheet", "headings"): 11,
    ("growth-monitoring", "sheet", "headings"): 13,
    ("growth-monitoring", "quarters", "headings"): 9,
    ("growth-monitoring", "outputs", "headings"): 7,
    ("pcc-template", "table", "headings"): 5,
    ("return-form", "labels", "headings"): 8,
    ("plan-form", "labels", "headings"): 7,
    ("plan-form", "instructions", "objectives"): 5,
    ("reconcile", "summary", "headings"): 4,
    ("reconcile", "findings", "headings"): 10,
    ("capital-programme", "resources", "headings"): 6,
    ("published", "sheet", "headings"): 13,
    ("capital-programme", "funding", "headings"): 3,
    ("capital-programme", "allocations", "headings"): 6,
}

# The formatting properties a style may set (XlsxWriter format properties) and their types.
STYLE_PROPERTIES: dict[str, type | tuple[type, ...]] = {
    "bold": bool, "italic": bool, "text_wrap": bool, "font_size": (int, float),
    "font_color": str, "bg_color": str, "align": str, "num_format": str, "top": int,
    "bottom": int, "indent": int, "border": int,
}  # fmt: skip

# Keys whose value is not text: widths are numbers, print switches are true or false.
NUMBERS = {"label_width", "year_width", "money_width", "notes_width", "ref_width",
           "title_width", "text_width", "percent_width", "funding_width", "number_width",
           "measure_width", "count_width", "objective_width", "note_width", "period_width",
           "short_width", "margin_cm", "max_column_width", "min_font_size",
           "red_percent", "amber_percent"}  # fmt: skip
SWITCHES = {"fit_to_width", "repeat_heading_rows"}
# One convention for negative money in every template: a minus sign. Brackets and colours
# (`(#,##0)`, `[Red]`) are refused, so that every workbook prints a negative the same way.
_BRACKETS_OR_COLOUR = re.compile(r"[()]|\[(?!\$)[A-Za-z]")

# The stream's own names, which any text of these templates may use (and which the books'
# headings may use): see grants.excel.stream_layout.
STREAM_TEMPLATES = {"resourcing", "pcc-template", "plan-form", "return-form", "reconcile"}
STREAM_TEXTS = {"stream", "stream_name", "funder", "area"}
# Texts an importer reads back from the template as it stands: never the books', and
# without the stream's names.
READ_BACK = frozenset({
    ("plan-form", "sheet", "instructions_sheet"), ("plan-form", "labels", "total"),
    ("plan-form", "labels", "not_pcc"), ("return-form", "sheet", "instructions_sheet"),
    ("return-form", "labels", "total"),
})  # fmt: skip

_FORM_TEXTS = {"stream_name", "stage", "year", "from", "to", "due"}
_PLAN_TEXTS = {"stream_name", "year", "from", "to", "due", "lines"}

# The {placeholders} a text may use: (template, table, key) -> names.
PLACEHOLDERS: dict[tuple[str, str, str], set[str]] = {
    ("pcc-template", "sheet", "name"): {"stage"},
    ("pcc-template", "table", "headings"): {"year"},
    ("pcc-template", "table", "spend_heading"): {"date"},
    ("pcc-template", "table", "no_spend_note"): {"date"},
    ("reconcile", "summary", "title"): {"date"},
    ("return-form", "sheet", "title"): _FORM_TEXTS,
    ("return-form", "labels", "stage_text"): _FORM_TEXTS,
    ("return-form", "instructions", "lines"): _FORM_TEXTS,
    ("plan-form", "sheet", "title"): _PLAN_TEXTS,
    ("plan-form", "labels", "due_text"): _PLAN_TEXTS,
    ("plan-form", "instructions", "lines"): _PLAN_TEXTS,
    ("published", "beside", "printed_label"): {"where"},
    ("growth-monitoring", "sheet", "rag_rule"): {"red", "amber"},
    ("capital-programme", "summary", "rounding_note"): {"parts", "total"},
    ("capital-programme", "resources", "funding_total"): {"to"},
    ("capital-programme", "programme", "sheet"): {"version", "table"},
    ("capital-programme", "programme", "title"): {"name", "table_title"},
    ("capital-programme", "programme", "change_note"): {"compared"},
    ("capital-programme", "programme", "rounding_note"): {"columns"},
    ("capital-programme", "chart", "title"): {"table_title", "base", "other"},
    ("capital-programme", "chart", "single_title"): {"table_title", "base", "other"},
}


# What a template's name may not hold: a drive, a backslash, control characters.
_NOT_IN_NAME = re.compile(r"[\\:\x00-\x1f\x7f]")

# A footer's codes: `&&`, a placeholder `&[Name]`, or Excel's `&X` (page, font, section...).
_FOOTER_CODE = re.compile(r"&(&|\[[^\]]*\]|.?)", re.DOTALL)
FOOTER_PLACEHOLDERS = {"[Ledger]", "[Date]"}
# Room a footer leaves for what fills it: the ledger's name (cut to fit) and the longest date.
_FOOTER_ROOM = 255 - len("30 September 2026")


def templates_dir() -> Traversable:
    """The templates where the package was installed: the package grants.templates, which is
    templates/ of the checkout in an editable install (see pyproject.toml)."""
    return resources.files("grants.templates")


def template_file(name: str) -> Traversable:
    """The TOML file of a template: `name` is its path under templates/ without `.toml`,
    folders separated by "/" on every system ("pcc-template", or "FOLDER/NAME" for
    templates/FOLDER/NAME.toml)."""
    parts = name.split("/")
    if any(part in ("", ".", "..") or _NOT_IN_NAME.search(part) for part in parts):
        raise GrantsError(
            f"{name!r} is not a template's name: give its path under templates/ without "
            ".toml, folders separated by /"
        )
    location = templates_dir()
    for folder in parts[:-1]:
        location = location / folder
    return location / f"{parts[-1]}.toml"


def read(name: str) -> dict[str, Any]:
    """A template's TOML as it is, unchecked (see `load`); a clear error if it is missing or
    is not TOML."""
    path = template_file(name)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GrantsError(f"the report template {path} is missing") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise GrantsError(f"the report template {path} cannot be read: {exc}") from exc


def load(name: str) -> dict[str, Any]:
    """A template's layout; a clear error if it breaks the contract."""
    path = template_file(name)
    layout = read(name)
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
    for table, keys in CONTRACT[name].items():
        section = layout.get(table)
        if not isinstance(section, dict) or table == "styles":
            continue
        for key in sorted(keys & set(section)):
            problems += _value_problems(name, table, key, section[key])
    for (template, table, key), length in LENGTHS.items():
        value = layout.get(table, {}).get(key) if template == name else None
        if template == name and value is not None:
            if not isinstance(value, list) or len(value) != length:
                problems.append(f"[{table}] {key} must be a list of {length} headings")
    for style, properties in layout.get("styles", {}).items():
        if not isinstance(properties, dict):
            problems.append(f"style {style!r} is not a table of properties")
            continue
        for key in sorted(set(properties) - set(STYLE_PROPERTIES)):
            problems.append(f"style {style!r} has unknown property {key!r}")
        for key in sorted(set(properties) & set(STYLE_PROPERTIES)):
            value, wanted = properties[key], STYLE_PROPERTIES[key]
            if not isinstance(value, wanted) or (wanted is int and isinstance(value, bool)):
                problems.append(f"style {style!r}: {key} = {value!r} is not {_kind(wanted)}")
            elif key == "num_format" and _BRACKETS_OR_COLOUR.search(value):
                problems.append(
                    f"style {style!r}: num_format = {value!r} shows negatives in brackets or "
                    "colour; write them with a minus sign, such as '#,##0.00;-#,##0.00'"
                )
    return problems


def _kind(wanted: type | tuple[type, ...]) -> str:
    if wanted is bool:
        return "true or false"
    if wanted is str:
        return "text"
    return "a number"


def _footer_problems(where: str, footer: str) -> list[str]:
    """A footer may use `&[Ledger]` and `&[Date]` beside Excel's own codes, but not `&D` or
    `&T`: Excel prints those in the reader's locale (US order under LibreOffice)."""
    problems = []
    for match in _FOOTER_CODE.finditer(footer):
        code = match[1]
        if code in ("D", "T"):
            problems.append(
                f"{where}: &{code} prints the {'date' if code == 'D' else 'time'} in the "
                "reader's locale; write &[Date] for the day the workbook was generated"
            )
        elif code.startswith("[") and code not in FOOTER_PLACEHOLDERS:
            problems.append(f"{where}: &{code} is not a placeholder; use &[Ledger] or &[Date]")
    rest = _FOOTER_CODE.sub(lambda m: "" if m[1] in FOOTER_PLACEHOLDERS else m[0], footer)
    if len(rest.encode("utf-16-le")) // 2 > _FOOTER_ROOM:
        problems.append(f"{where} is too long: Excel allows 255 characters with the date filled in")
    return problems


def _value_problems(name: str, table: str, key: str, value: Any) -> list[str]:
    """A value of the wrong type, or text using a {placeholder} the code does not fill."""
    where = f"[{table}] {key}"
    if key in NUMBERS:
        ok = isinstance(value, int | float) and not isinstance(value, bool) and value > 0
        return [] if ok else [f"{where} = {value!r} must be a positive number"]
    if key in SWITCHES:
        return [] if isinstance(value, bool) else [f"{where} = {value!r} must be true or false"]
    if key == "orientation":
        if value in ORIENTATIONS:
            return []
        return [f"{where} = {value!r} must be one of {', '.join(map(repr, ORIENTATIONS))}"]
    if key == "footer" and isinstance(value, str):
        return _footer_problems(where, value)
    if isinstance(value, dict):
        texts = list(value.values())
    elif isinstance(value, list):
        texts = value
    else:
        texts = [value]
    allowed = PLACEHOLDERS.get((name, table, key), set())
    if name in STREAM_TEMPLATES and (name, table, key) not in READ_BACK:
        allowed = allowed | STREAM_TEXTS
    for text in texts:
        if not isinstance(text, str):
            return [f"{where} = {value!r} must be text"]
        try:
            text.format(**dict.fromkeys(allowed, ""))
        except (KeyError, IndexError, ValueError) as exc:
            uses = (
                f"may use {', '.join('{' + a + '}' for a in sorted(allowed))}"
                if allowed
                else ("takes no {placeholders} (write {{ and }} for braces)")
            )
            return [f"{where} = {text!r} cannot be filled in ({exc!r}): it {uses}"]
    return []
