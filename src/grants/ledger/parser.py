"""Parse the books into directives; every problem is located as ``file:line: message``.

The books are untrusted: an `include` stays within the folder of the main books file, names a
regular file (checked before it is opened, so a device or a named pipe is never read) of at
most grants.ledger.books_file.MAX_FILE_BYTES, at most MAX_INCLUDE_DEPTH files deep; a file is
read a chunk at a time, never held whole. Only spaces and tabs separate words, so any other
character lands in a value, where the validator checks it by field (grants.text); a comment
is checked here.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, cast

from grants.errors import TextError
from grants.ledger.books_file import TextLines, open_books_file
from grants.text import clean, describe, refused, shown

MAX_INCLUDE_DEPTH = 32
MAX_LINE = 100_000  # characters in one line: far above any note, far below a memory problem
_SPACE = " \t"
_DIRECTIVE = re.compile(
    r"^(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[ \t]+(?P<keyword>[a-z-]+)(?P<rest>(?:[ \t].*)?)$"
)
_META = re.compile(
    r"^(?:\t|[ \t]{2,})(?P<key>[A-Za-z0-9][A-Za-z0-9/-]*)[ \t]*:[ \t]*(?P<value>.*)$"
)
_INCLUDE = re.compile(r"^include[ \t]+(?P<rest>.*)$")


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

    def held(self) -> Directive:
        """The directive as it is kept once its record is made (grants.ledger.validate):
        where it is, its day and its provenance (``source``, ``origin``, ``note``). Its
        arguments and other metadata are in its record; books kept whole until they are
        written (a national funder's lines and organisations) hold one for each. What it
        holds cannot be changed."""
        kept = {key: self.meta[key] for key in PROVENANCE if key in self.meta}
        return Directive.kept(self.file, self.line, self.day, self.keyword, kept, self.index)

    @staticmethod
    def kept(
        file: str, line: int, day: date, keyword: str, provenance: dict[str, str], index: int
    ) -> Directive:
        """A held directive made from what it holds (``provenance``: its metadata of
        PROVENANCE, as ``held`` keeps them)."""
        return Directive(
            file, line, day, keyword, _NO_ARGS, provenance or _NO_META, _NO_META_LINES, index
        )


# Where a record came from, as the books say it (grants.ledger.validate.Books.provenance).
PROVENANCE = ("source", "origin", "note")
# A held directive's nothing, shared and unchangeable.
_NO_ARGS = cast(list[str], ())
_NO_META = cast(dict[str, str], MappingProxyType({}))
_NO_META_LINES = cast(dict[str, int], MappingProxyType({}))


def _strip_comment(line: str) -> str:
    """Drop a `;` comment that is outside quotes and at the start or after whitespace."""
    if ";" not in line:
        return line  # most lines: no comment to look for
    if '"' not in line:
        # No quotes: the first `;` at the start or after whitespace begins the comment.
        match = _BARE_COMMENT.search(line)
        return line if match is None else line[: match.start()]
    return _strip_quoted_comment(line)


_BARE_COMMENT = re.compile(r"(?:^|(?<=[ \t\x0c]));")


def _strip_quoted_comment(line: str) -> str:
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
        elif ch == ";" and not in_quotes and (i == 0 or line[i - 1] in " \t\x0c"):
            return line[:i]
    return line


# Escapes inside quotes: a line break, a carriage return and a tab (as the export writes
# them), and any other character as itself (\" and \\).
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"}


def tokenize(text: str) -> list[str]:
    """Split arguments on spaces; double-quoted text is one argument (``\\"`` escapes)."""
    if '"' not in text:  # most lines: words between spaces and tabs, and nothing else
        return [word for word in text.replace("\t", " ").split(" ") if word]
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in _SPACE:
            i += 1
            continue
        if text[i] == '"':
            i += 1
            out = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                    out.append(_ESCAPES.get(text[i], text[i]))
                else:
                    out.append(text[i])
                i += 1
            if i >= n:
                raise ValueError('a quoted text is not closed: add the closing "')
            i += 1
            tokens.append("".join(out))
            continue
        j = i
        while j < n and text[j] not in _SPACE:
            if text[j] == '"':
                raise ValueError(f"unexpected quote in {text[i:].split()[0]!r}")
            j += 1
        tokens.append(text[i:j])
        i = j
    return tokens


def _meta_value(raw: str) -> str:
    raw = raw.strip(_SPACE)
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
    """Parse a books file and everything it includes, in order. The main file may be
    anywhere; what it includes must be in its folder or below."""
    reading = Reading(path)
    directives = list(reading.directives())
    return directives, reading.problems


class Reading:
    """One read of the books, a directive at a time (:meth:`directives`), so that books of
    any size are read in the memory of a chunk of each file open: the problems found as it
    goes, and the SHA-256 of each file read. Given the digests of an earlier read
    (``expected``), a file that is no longer what that read found is not read; one found
    changed as it ends (changed while it was read) ends the read: either with a problem at
    it."""

    def __init__(self, path: Path, expected: list[str] | None = None) -> None:
        self.path = path
        self.problems: list[Problem] = []
        self.digests: list[str] = []  # of each file read, in the order they were read
        self.expected = expected
        self.changed = False
        self.count = 0  # directives read so far: each one's index

    def directives(self) -> Iterator[Directive]:
        try:
            root = self.path.absolute().parent.resolve()
        except (OSError, RuntimeError):
            root = self.path.absolute().parent
        yield from _parse_file(self, self.path, set(), None, root, 0)
        if self.expected is not None and not self.changed and self.digests != self.expected:
            self._changed(display_path(self.path))

    def _changed(self, shown_path: str) -> None:
        self.changed = True
        self.problems.append(Problem(shown_path, 0, (
            f"{shown_path} changed while the books were being loaded (it is not what was "
            "checked a moment before): nothing was recorded; load the books again"
        )))  # fmt: skip

    def _begin_file(
        self, handle: BinaryIO, shown_path: str, where_from: tuple[str, int]
    ) -> int | None:
        """A file's place among those read, or None if it is not to be read: it is read to
        its end first, a chunk at a time, for its digest (noted there) and to find any byte
        that is not UTF-8 (as a file read whole was decoded whole before a line of it was
        read). A file that is not what an earlier read found, or not UTF-8, is not read."""
        checked = TextLines(handle, shown_path)
        checked.check()
        position = len(self.digests)
        digest = checked.digest.hexdigest()
        self.digests.append(digest)
        if self.expected is not None and (
            position >= len(self.expected) or self.expected[position] != digest
        ):
            self._changed(shown_path)
            return None
        if checked.problem is not None:
            line, message = checked.problem
            self.problems.append(
                Problem(*(where_from if line is None else (shown_path, line)), message)
            )
            return None
        return position

    def _end_file(self, position: int, lines: TextLines, shown_path: str) -> None:
        """A file read to its end: refused if it is no longer what was checked as it began
        (it changed while it was being read)."""
        if self.changed:
            return
        if lines.problem is not None or lines.digest.hexdigest() != self.digests[position]:
            self._changed(shown_path)


def _included(
    target: str, including: Path, root: Path, depth: int
) -> tuple[Path | None, str | None]:
    """The file an `include` names, or why it is refused; nothing is opened."""
    try:
        clean(target, "the include path")
    except TextError as exc:
        return None, str(exc)
    if not target:
        return None, 'write include "path/to/file.grants"'
    where = f"the folder of the main books file ({display_path(root)}) or below it"
    if Path(target).is_absolute():
        return None, (
            f"include {shown(target)} is an absolute path: a books file includes only files "
            f"in {where}; give the path relative to this file"
        )
    if depth >= MAX_INCLUDE_DEPTH:
        return None, (
            f"include {shown(target)} is more than {MAX_INCLUDE_DEPTH} files deep: includes "
            f"may go at most {MAX_INCLUDE_DEPTH} levels below the main books file"
        )
    candidate = including.parent / target
    try:
        folder = including.absolute().parent.resolve()
    except (OSError, RuntimeError):
        folder = including.absolute().parent
    if not Path(os.path.normpath(folder / target)).is_relative_to(root):
        return None, f"include {shown(target)} goes outside {where}: move the file there"
    try:
        resolved = candidate.resolve()
    except (OSError, RuntimeError):
        return None, f"include {shown(target)}: a symbolic link that leads round in a loop"
    if not resolved.is_relative_to(root):
        return None, (
            f"include {shown(target)} is a symbolic link to a file outside {where}: "
            "copy the file there instead"
        )
    return candidate, None


def _comment_problem(comment: str) -> str | None:
    for position, ch in enumerate(comment, start=1):
        why = refused(ch)
        if why is not None and ch != "\x0c":  # a form feed (page break) is fine in a comment
            return (
                f"the comment has {describe(ch)} at character {position}: {why}; "
                "type it again without it"
            )
        if ch in "\r\u2028\u2029":
            return f"the comment has {describe(ch)}, a line break: end the line there"
    return None


def _line_problem(line: str) -> str | None:
    """For a line that cannot be read: an odd character in it, named."""
    for position, ch in enumerate(line, start=1):
        why = refused(ch)
        if why is not None:
            return f"this line has {describe(ch)} at character {position}: {why}"
    return None


def _parse_file(
    reading: Reading,
    path: Path,
    seen: set[Path],
    included_from: tuple[str, int] | None,
    root: Path,
    depth: int,
) -> Iterator[Directive]:
    problems = reading.problems
    shown_path = display_path(path)
    where_from = included_from or (shown_path, 0)
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError):
        problems.append(Problem(*where_from, f"cannot read {shown_path}: a symbolic link loop"))
        return
    if resolved in seen:
        problems.append(Problem(*where_from, f"{shown_path} is included more than once"))
        return
    seen.add(resolved)
    handle = open_books_file(path, shown_path)
    if isinstance(handle, str):
        problems.append(Problem(*where_from, handle))
        return
    with handle:
        position = reading._begin_file(handle, shown_path, where_from)
        if position is None:
            return
        lines = TextLines(handle, shown_path)
        last = yield from _parse_lines(reading, lines, path, seen, root, depth)
        reading._end_file(position, lines, shown_path)
    if last is not None and not reading.changed:
        yield last


def _parse_lines(
    reading: Reading, lines: Iterable[str], path: Path, seen: set[Path], root: Path, depth: int
) -> Generator[Directive, None, Directive | None]:
    """The directives of a file's lines, but the last, which is returned (the caller hands it
    on once it knows the file was read whole, and is what an earlier read found)."""
    problems = reading.problems
    shown = display_path(path)
    current: Directive | None = None
    blank = _SPACE + "\x0c"
    # Each day once, and the keywords and keys of metadata as one string each: what a
    # directive holds is its own only where it differs (books kept whole hold many).
    days: dict[str, date] = {}
    # Split on line feeds only: a form feed or other Unicode line break inside a line must
    # not shift the line numbers that problems are reported at. Each directive is handed on
    # once the line after its last metadata is read.
    for number, original in enumerate(lines, start=1):
        if reading.changed:
            return current
        original = original.removesuffix("\r")
        if len(original) > MAX_LINE:
            long = (
                f"this line is {len(original):,} characters long; a line is at most "
                f"{MAX_LINE:,}: split the text, or put a long note in several"
            )
            problems.append(Problem(shown, number, long))
            if current is not None:
                yield current
            current = None
            continue
        line = _strip_comment(original)
        odd = _comment_problem(original[len(line) :]) if len(line) != len(original) else None
        if odd is not None:
            problems.append(Problem(shown, number, odd))
        line = line.rstrip(_SPACE)
        if not line.strip(blank):
            continue
        if line[0] in _SPACE:
            match = _META.match(line)
            if current is None:
                problems.append(Problem(shown, number, "indented line with no directive above it"))
            elif not match:
                problems.append(
                    Problem(
                        shown,
                        number,
                        _line_problem(line)
                        or f"{line.strip(_SPACE)!r} is not metadata: write it as `key: value`, "
                        "indented under its directive",
                    )
                )
            else:
                key = sys.intern(match.group("key"))  # one string for each key's name
                if key in current.meta:
                    problems.append(Problem(shown, number, f"metadata {key!r} given twice"))
                try:
                    current.meta[key] = _meta_value(match.group("value"))
                except ValueError as exc:
                    problems.append(Problem(shown, number, str(exc)))
                current.meta_lines[key] = number
            continue
        if current is not None:
            yield current
        current = None
        include = _INCLUDE.match(line) if line.startswith("include") else None
        if include:
            try:
                target = tokenize(include.group("rest"))
            except ValueError as exc:
                problems.append(Problem(shown, number, str(exc)))
                continue
            if len(target) != 1:
                problems.append(Problem(shown, number, 'write include "path/to/file.grants"'))
                continue
            found, refusal = _included(target[0], path, root, depth)
            if found is None:
                problems.append(Problem(shown, number, refusal or "cannot include this"))
                continue
            yield from _parse_file(reading, found, seen, (shown, number), root, depth + 1)
            continue
        match = _DIRECTIVE.match(line)
        if not match:
            problems.append(
                Problem(
                    shown,
                    number,
                    _line_problem(line)
                    or f"cannot read {line.strip(_SPACE)[:60]!r}: a directive starts with a date "
                    "(YYYY-MM-DD) and a keyword, e.g. `2017-04-01 award PCC-CSF 2017-18 700,932`",
                )
            )
            continue
        day_text, keyword, rest = match.group("date", "keyword", "rest")
        day = days.get(day_text)
        if day is None:
            try:
                day = days[day_text] = date.fromisoformat(day_text)
            except ValueError:
                problems.append(Problem(shown, number, f"{day_text} is not a date in the calendar"))
                continue
        keyword = sys.intern(keyword)
        try:
            args = tokenize(rest)
        except ValueError as exc:
            problems.append(Problem(shown, number, str(exc)))
            continue
        current = Directive(shown, number, day, keyword, args, {}, {}, reading.count)
        reading.count += 1
    return current
