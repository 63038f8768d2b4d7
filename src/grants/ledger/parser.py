"""Parse the books into directives; every problem is located as ``file:line: message``."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

_DIRECTIVE = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})\s+(?P<keyword>[a-z-]+)(?P<rest>(?:\s.*)?)$"
)
_META = re.compile(r"^(?:\t|\s{2,})(?P<key>[A-Za-z0-9][A-Za-z0-9/-]*)\s*:\s*(?P<value>.*)$")
_INCLUDE = re.compile(r"^include\s+(?P<rest>.*)$")


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int
    message: str
    severity: str = "error"  # or "warning"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.file}:{self.line}: {prefix}{self.message}"


@dataclass(slots=True)
class Directive:
    file: str
    line: int
    day: date
    keyword: str
    args: list[str]
    meta: dict[str, str] = field(default_factory=dict)
    meta_lines: dict[str, int] = field(default_factory=dict)
    index: int = 0  # its place among all the directives of the books, from 0

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def _strip_comment(line: str) -> str:
    """Drop a `;` comment that is outside quotes and at the start or after whitespace."""
    in_quotes = False
    escaped = False
    for i, ch in enumerate(line):
        if escaped:
            escaped = False
            continue
        if ch == "\\" and in_quotes:
            escaped = True
        elif ch == '"':
            in_quotes = not in_quotes
        elif ch == ";" and not in_quotes and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def tokenize(text: str) -> list[str]:
    """Split arguments on spaces; double-quoted text is one argument (``\\"`` escapes)."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        if text[i] == '"':
            i += 1
            out = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                    out.append("\n" if text[i] == "n" else text[i])
                else:
                    out.append(text[i])
                i += 1
            if i >= n:
                raise ValueError('a quoted text is not closed: add the closing "')
            i += 1
            tokens.append("".join(out))
            continue
        j = i
        while j < n and not text[j].isspace():
            if text[j] == '"':
                raise ValueError(f"unexpected quote in {text[i:].split()[0]!r}")
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


def _meta_value(raw: str) -> str:
    raw = raw.strip()
    if raw.startswith('"'):
        tokens = tokenize(raw)
        if len(tokens) == 1:
            return tokens[0]
    return raw


def display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def parse(path: Path) -> tuple[list[Directive], list[Problem]]:
    """Parse a books file and everything it includes, in order."""
    directives: list[Directive] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    _parse_file(path, directives, problems, seen, None)
    return directives, problems


def _parse_file(
    path: Path,
    directives: list[Directive],
    problems: list[Problem],
    seen: set[Path],
    included_from: tuple[str, int] | None,
) -> None:
    shown = display_path(path)
    resolved = path.resolve()
    where_from = included_from or (shown, 0)
    if resolved in seen:
        problems.append(Problem(*where_from, f"{shown} is included more than once"))
        return
    seen.add(resolved)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.append(Problem(*where_from, f"no such file: {shown}"))
        return
    except OSError as exc:
        problems.append(Problem(*where_from, f"cannot read {shown}: {exc.strerror}"))
        return
    try:
        content = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(Problem(shown, line, "this line is not UTF-8 text; save the file as UTF-8"))
        return
    if content.startswith("\ufeff"):  # a byte-order mark, as some editors save UTF-8
        content = content[1:]
    current: Directive | None = None
    # Split on line feeds only: a form feed or other Unicode line break inside a line must
    # not shift the line numbers that problems are reported at.
    for number, original in enumerate(content.split("\n"), start=1):
        original = original.removesuffix("\r")
        line = _strip_comment(original).rstrip()
        if not line.strip():
            continue
        if line[0].isspace():
            match = _META.match(line)
            if current is None:
                problems.append(Problem(shown, number, "indented line with no directive above it"))
            elif not match:
                problems.append(
                    Problem(
                        shown,
                        number,
                        f"{line.strip()!r} is not metadata: write it as `key: value`, "
                        "indented under its directive",
                    )
                )
            else:
                key = match.group("key")
                if key in current.meta:
                    problems.append(Problem(shown, number, f"metadata {key!r} given twice"))
                try:
                    current.meta[key] = _meta_value(match.group("value"))
                except ValueError as exc:
                    problems.append(Problem(shown, number, str(exc)))
                current.meta_lines[key] = number
            continue
        current = None
        include = _INCLUDE.match(line)
        if include:
            try:
                target = tokenize(include.group("rest"))
            except ValueError as exc:
                problems.append(Problem(shown, number, str(exc)))
                continue
            if len(target) != 1:
                problems.append(Problem(shown, number, 'write include "path/to/file.grants"'))
                continue
            _parse_file(path.parent / target[0], directives, problems, seen, (shown, number))
            continue
        match = _DIRECTIVE.match(line)
        if not match:
            problems.append(
                Problem(
                    shown,
                    number,
                    f"cannot read {line.strip()[:60]!r}: a directive starts with a date "
                    "(YYYY-MM-DD) and a keyword, e.g. `2017-04-01 award PCC-CSF 2017-18 700,932`",
                )
            )
            continue
        try:
            day = date.fromisoformat(match.group("date"))
        except ValueError:
            problems.append(
                Problem(shown, number, f"{match.group('date')} is not a date in the calendar")
            )
            continue
        try:
            args = tokenize(match.group("rest"))
        except ValueError as exc:
            problems.append(Problem(shown, number, str(exc)))
            continue
        current = Directive(shown, number, day, match.group("keyword"), args)
        current.index = len(directives)
        directives.append(current)
