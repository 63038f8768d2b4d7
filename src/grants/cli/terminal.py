"""Everything a command prints goes through here, so that data can never act on the terminal.

Text from the ledger and its files (names, titles, reasons, notes, file names, and messages
that quote them) is data. Printed raw, an escape sequence in it could clear the screen or
retitle the window, a bidi override could reorder what is read, and a line break could print
a journal line that does not exist. So every line is printed with such characters made
visible: control characters as ``\\x1b`` (``\\n``, ``\\r`` and ``\\t`` for line feed, carriage
return and tab), bidi controls, zero-width and other invisible format characters as
``<U+202E>``. The product's own layout (the line breaks between rows of a table, the carriage
return of a progress count) is written around the data, never inside it. JSON stays JSON:
those characters are written as ``\\uXXXX`` escapes.
"""

from __future__ import annotations

import itertools
import json as _json
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import click

# Control (C0, DEL, C1), format (bidi controls and isolates, zero-width characters, the byte
# order mark, soft hyphen...), lone surrogates (undecodable bytes of a file name) and the
# Unicode line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# What json.dumps leaves unescaped beyond printable ASCII and its own line breaks.
_JSON_CANDIDATE = re.compile(r"[^\x20-\x7e\n]")


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _shown(char: str) -> str:
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"<U+{code:04X}>"


def visible(value: object) -> str:
    """``value`` as text on one line with nothing that acts on a terminal: every control,
    format and separator character shown as an escape (``\\x1b``, ``\\n``, ``<U+202E>``).
    Applying it twice changes nothing."""
    text = str(value)
    if text.isprintable():  # the common case: nothing to do
        return text
    return "".join(_shown(c) if _unsafe(c) else c for c in text)


# What to do before a line is printed: clear a progress bar's line (grants.cli.progress).
_before_line: Callable[[], None] | None = None


def on_line(action: Callable[[], None] | None) -> None:
    """Run ``action`` before every line printed from now on (None: nothing)."""
    global _before_line
    _before_line = action


def echo(message: object = "", *, err: bool = False) -> None:
    """Print one line (on standard error with ``err``); any line break in it is shown."""
    if _before_line is not None:
        _before_line()
    click.echo(visible(message), err=err)


def document(text: str) -> None:
    """Print a multi-line text, such as the books, line by line, each line made visible."""
    click.echo("\n".join(visible(line) for line in text.split("\n")), nl=False)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: set[int]) -> str:
    """Columns padded to their widest cell (right-aligned where ``right`` says), a rule under
    the headings; every cell made visible first, so that a cell is always one line."""
    head = [visible(h) for h in headers]
    body = [[visible(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h)
              for i, h in enumerate(head)]  # fmt: skip

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    return "\n".join([fmt(head), fmt(["-" * w for w in widths]), *(fmt(r) for r in body)])


def table(headers: Sequence[str], rows: Iterable[Sequence[object]], right: set[int]) -> None:
    """Print a table (see `render_table`)."""
    click.echo(render_table(headers, rows, right))


def json_text(data: Any) -> str:
    """``data`` as indented JSON in which no character acts on a terminal: json.dumps escapes
    C0 controls; DEL, C1, format characters, surrogates and separators are escaped here."""
    return _JSON_CANDIDATE.sub(_json_escape, _ENCODER.encode(data))


def _json_escape(match: re.Match[str]) -> str:
    char = match[0]
    if not _unsafe(char):
        return char
    units = char.encode("utf-16-be", "surrogatepass")  # a surrogate pair beyond U+FFFF
    return "".join(f"\\u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2))


# As json.dumps(data, indent=2, ensure_ascii=False) encodes.
_ENCODER = _json.JSONEncoder(indent=2, ensure_ascii=False)
_BATCH = 1000  # items of a list encoded at a time


def json(data: Any) -> None:
    """Print ``data`` as JSON (see `json_text`). A list, a tuple or an iterator is encoded
    a thousand items at a time, exactly as the whole would be, and printed once every item
    is encoded (an item that fails to be made prints nothing): a national funder's rows (a
    hundred thousand lines, twice as many entries) are never all dictionaries, nor all in
    `json.dumps`' pieces, at once; only their text is held. (Each batch is encoded as a
    list, "[\\n" its items at the whole list's indentation "\\n]"; the whole list's items
    are joined by ",\\n".)"""
    if not isinstance(data, list | tuple | Iterator):
        click.echo(json_text(data))
        return
    items = iter(data)
    pieces: list[str] = []
    while batch := list(itertools.islice(items, _BATCH)):
        pieces.append((",\n" if pieces else "[\n") + json_text(batch)[2:-2])
    if not pieces:
        click.echo("[]")
        return
    for piece in pieces:
        click.echo(piece, nl=False)
    click.echo("\n]")


def progress(message: str) -> None:
    """Rewrite the progress line on standard error (only ever used on a terminal)."""
    click.echo("\r" + visible(message), nl=False, err=True)


def clear_line() -> None:
    """Clear the progress line on standard error, for a line to be printed in its place."""
    click.echo("\r\x1b[2K", nl=False, err=True)


def progress_done() -> None:
    click.echo("", err=True)


def error_text(message: str, secrets: Iterable[str] = ()) -> str:
    """An error's message as shown after ``Error:``: any secret of the database URL
    replaced by ``***``, and on one line, made visible."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return visible(message)


def make_safe(exc: click.ClickException, secrets: Iterable[str] = ()) -> None:
    """Make a click error safe to show: its message (which may quote what was typed, a file
    name or the database's own text) through `error_text`."""
    secrets = list(secrets)
    exc.message = error_text(exc.message, secrets)
    if isinstance(exc, click.FileError):
        exc.ui_filename = error_text(exc.ui_filename, secrets)


__all__ = [
    "clear_line",
    "document",
    "echo",
    "error_text",
    "json",
    "json_text",
    "make_safe",
    "on_line",
    "progress",
    "progress_done",
    "render_table",
    "table",
    "visible",
]
