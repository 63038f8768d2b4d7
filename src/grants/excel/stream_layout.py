"""A report's layout in its stream's words: the template's neutral texts, any text the
stream's books give instead (``heading STREAM TEMPLATE:SECTION.KEY "Text"``), and the stream's
own names put in for the placeholders ``{stream}``, ``{stream_name}``, ``{funder}`` and
``{area}`` (grants.services.stream_texts.words). Sizes, styles and print settings stay the
template's, as do the texts a form's importer reads back (the Total row's label, the
instructions sheet's name, the objective column's "not the PCC's" text): a form issued in one
wording must import whatever the books say later.

The capital programme's books name its keys without the template's name
(grants.excel.capital_layout), and put them in with the same ``put``.
"""

from __future__ import annotations

import copy
from string import Formatter
from typing import Any

from grants.errors import GrantsError
from grants.excel import templates
from grants.excel.templates import READ_BACK
from grants.services.stream_texts import NO_FUNDER, StreamWords

FIXED = frozenset({"columns", "print", "styles"})  # not text: the books cannot set them
SHEET_KEYS = (("sheet", "name"), ("summary", "sheet"))
# What the placeholders become for a report made without its stream's names.
UNNAMED = {"stream": "", "stream_name": "the fund", "funder": NO_FUNDER, "area": ""}


def keys(layout: dict[str, Any], template: str, prefixed: bool = True) -> list[str]:
    """The keys of ``layout`` the books may word, as a books line writes them (``prefixed``:
    with the template's name, as every template's but the capital programme's)."""
    prefix = f"{template}:" if prefixed else ""
    out = []
    for section, values in layout.items():
        if section in FIXED or not isinstance(values, dict):
            continue
        for key, value in values.items():
            if (template, section, key) in READ_BACK:
                continue
            if isinstance(value, str):
                out.append(f"{prefix}{section}.{key}")
            elif isinstance(value, list):
                out.append(f"{prefix}{section}.{key}.1-{len(value)}")
            elif isinstance(value, dict):
                out.append(f"{prefix}{section}.{key}.NAME")
    return out


def put(
    template: str, layout: dict[str, Any], key: str, text: str, origin: str | None,
    prefixed: bool = True,
) -> None:  # fmt: skip
    """Put one of the books' texts in ``layout``; refuse a key the template does not have,
    naming the books line (``prefixed``: the books name the template before the key)."""
    where = f"{origin}: " if origin else ""
    written = f"{template}:{key}" if prefixed else key
    parts = key.split(".")
    section = layout.get(parts[0]) if parts[0] not in FIXED else None
    value = section.get(parts[1]) if isinstance(section, dict) else None
    if isinstance(section, dict) and (template, parts[0], parts[1]) not in READ_BACK:
        if len(parts) == 2 and isinstance(value, str):
            section[parts[1]] = text
            return
        if len(parts) == 3 and isinstance(value, list) and parts[2].isdigit():
            index = int(parts[2])
            if not 1 <= index <= len(value):
                raise GrantsError(
                    f"{where}heading {written}: the list {parts[0]}.{parts[1]} has "
                    f"{len(value)} texts; number them 1 to {len(value)}"
                )
            value[index - 1] = text
            return
        if len(parts) == 3 and isinstance(value, dict):
            value[parts[2]] = text
            return
    raise GrantsError(
        f"{where}heading {written}: the {template} template has no such text the books may "
        f"give; its keys are {', '.join(keys(layout, template, prefixed))} (see "
        "templates/README.md)"
    )


def fill(text: str, values: dict[str, str], later: bool) -> str:
    """``text`` with the stream's placeholders put in. A text the code fills in again later
    (``later``: it has placeholders of its own, such as ``{year}``) keeps those placeholders
    and its escaped braces, and the stream's names are escaped in it."""

    def escaped(s: str) -> str:
        return s.replace("{", "{{").replace("}", "}}") if later else s

    out = []
    for literal, name, spec, conversion in Formatter().parse(text):
        out.append(escaped(literal))
        if name is None:
            continue
        if name in values:
            out.append(escaped(values[name]))
        else:
            out.append(
                "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
                + "}"
            )  # fmt: skip
    return "".join(out)


def _filled(template: str, layout: dict[str, Any], values: dict[str, str]) -> None:
    for section, texts in layout.items():
        if section in FIXED or not isinstance(texts, dict):
            continue
        for key, value in texts.items():
            if (template, section, key) in READ_BACK:
                continue
            later = (template, section, key) in templates.PLACEHOLDERS
            if isinstance(value, str):
                texts[key] = fill(value, values, later)
            elif isinstance(value, list):
                texts[key] = [fill(x, values, later) if isinstance(x, str) else x for x in value]
            elif isinstance(value, dict):
                texts[key] = {
                    k: fill(x, values, later) if isinstance(x, str) else x for k, x in value.items()
                }


def layout(template: str, words: StreamWords) -> dict[str, Any]:
    """The template ``template`` with the stream's headings put in and its placeholders
    filled; a clear error naming the books line if a heading does not fit."""
    base = templates.load(template)
    out = copy.deepcopy(base)
    prefix = f"{template}:"
    given = {k[len(prefix) :]: v for k, v in words.headings.items() if k.startswith(prefix)}
    for key, (text, origin) in sorted(given.items()):
        put(template, out, key, text, origin)
    problems = templates.contract_problems(template, out)
    for section, key in SHEET_KEYS:
        name = out.get(section, {}).get(key)
        if isinstance(name, str) and name.casefold() == "sources":
            problems.append(f"[{section}] {key}: the sheet 'Sources' is the workbook's own")
    if problems:
        lines = ", ".join(f"{template}:{k} ({o})" for k, (_, o) in sorted(given.items()))
        raise GrantsError(
            f"the books' headings ({lines}) do not fit the {template} template: "
            + "; ".join(problems)
        )
    _filled(template, out, {**UNNAMED, **words.values})
    return out


__all__ = ["fill", "keys", "layout", "put"]
