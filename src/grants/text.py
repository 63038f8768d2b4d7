"""Text at the door: which characters and how much text a field takes.

Every text that reaches the ledger, from the books, a command's options or a form's cells,
goes through :func:`clean`, so a name or a note is held to the same rule whichever way it
arrives and whichever database keeps it. Refused everywhere: control characters (C0 other
than tab and line breaks, DEL, C1), bidirectional controls (they make text show in another
order than it is stored) and invisible characters (zero-width and the like, which make two
texts that look alike differ). A tab is allowed in a note only; line breaks in free text
only (notes, reasons, objectives, progress). Names are NFC-normalised, so the same name
typed two ways is the same name. :func:`skeleton` says whether two names look alike.
"""

from __future__ import annotations

import unicodedata
from enum import Enum

from grants.errors import TextError

MAX_NAME = 200  # a name, a label or a plan's expenditure title
MAX_VALUE = 1_000  # any other one-line value: a source, a reference, a row label
MAX_FREE = 4_000  # a note, a reason, objectives, progress


class Kind(Enum):
    """What a text field is, and so which characters and how many it takes."""

    NAME = "name"  # one line, NFC-normalised, at most MAX_NAME characters
    VALUE = "value"  # one line, at most MAX_VALUE characters
    FREE = "free"  # line breaks allowed, at most MAX_FREE characters
    NOTE = "note"  # line breaks and tabs allowed, at most MAX_FREE characters


LIMITS = {Kind.NAME: MAX_NAME, Kind.VALUE: MAX_VALUE, Kind.FREE: MAX_FREE, Kind.NOTE: MAX_FREE}

BIDI = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]  # embeddings and overrides
    + [chr(c) for c in range(0x2066, 0x206A)]  # isolates
    + ["\u200e", "\u200f", "\u061c"]  # left-to-right, right-to-left and Arabic letter marks
)
INVISIBLE = frozenset(
    "\u200b\u200c\u200d\u2060\ufeff"  # zero-width space, non-joiner, joiner; word joiners
    "\u00ad\u180e\u2061\u2062\u2063\u2064"  # soft hyphen, and others that show nothing
)
LINE_BREAKS = frozenset(["\n", "\r", "\u2028", "\u2029"])
_CONTROL_NAMES = {
    0x00: "NULL", 0x07: "BELL", 0x08: "BACKSPACE", 0x09: "TAB", 0x0A: "LINE FEED",
    0x0B: "LINE TABULATION", 0x0C: "FORM FEED", 0x0D: "CARRIAGE RETURN", 0x1B: "ESCAPE",
    0x7F: "DELETE", 0x85: "NEXT LINE",
}  # fmt: skip
_SHOWN = 60  # characters of a refused value shown in a message


def is_control(ch: str) -> bool:
    """C0 controls (tab and line feed included), DEL and C1 controls."""
    return ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F


def refused(ch: str) -> str | None:
    """Why ``ch`` is refused in every field (None if it is not): controls other than tab
    and line breaks, bidirectional controls, invisible characters and unpaired surrogates."""
    if ch == "\t" or ch in LINE_BREAKS:
        return None
    if is_control(ch):
        return "a control character"
    if ch in BIDI:
        return "a bidirectional control, which can show text in another order than it is stored"
    if ch in INVISIBLE:
        return "an invisible character, which can make two texts that look the same differ"
    if 0xD800 <= ord(ch) <= 0xDFFF:
        return "not a character (the text is not valid UTF-8)"
    return None


def describe(ch: str) -> str:
    """A character as a person can read it in a message: ``U+202E RIGHT-TO-LEFT OVERRIDE``."""
    name = _CONTROL_NAMES.get(ord(ch)) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" {name}" if name else "")


def shown(value: str) -> str:
    """A value quoted for a message: every character that is not plainly printable is
    escaped (``'Cher\\u202ewell'``), and a long value is cut short."""
    cut = value[:_SHOWN]
    return repr(cut) + ("…" if len(value) > _SHOWN else "")


def clean(value: str, what: str, kind: Kind = Kind.VALUE, limit: int | None = None) -> str:
    """``value`` checked as a field of ``kind`` (``what`` names it in a refusal).

    Returns the value NFC-normalised if it is a name, with line breaks written as ``\\n`` if
    it is free text; raises TextError naming the field, the character (as ``U+202E``) and
    where it stands, or the length.
    """
    if kind is Kind.NAME:
        value = unicodedata.normalize("NFC", value)
    elif kind in (Kind.FREE, Kind.NOTE):
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    # Printable ASCII (most values) holds none of the characters looked for below.
    checked = value if not (value.isascii() and value.isprintable()) else ""
    for position, ch in enumerate(checked, start=1):
        why, todo = refused(ch), "type it again without it"
        if why is None and ch == "\t" and kind is not Kind.NOTE:
            why, todo = "a tab, which only a note may hold", "use spaces instead"
        if why is None and ch in LINE_BREAKS and kind not in (Kind.FREE, Kind.NOTE):
            why = "a line break, which only free text (a note, a reason, objectives) may hold"
            todo = "write it on one line"
        if why is not None:
            raise TextError(
                f"{what} {shown(value)} has {describe(ch)} at character {position}: {why}; {todo}"
            )
    most = LIMITS[kind] if limit is None else limit
    if len(value) > most:
        raise TextError(
            f"{what} is {len(value):,} characters long, more than the {most:,} it may have: "
            + ("shorten it, and put any detail in a note" if kind is Kind.NAME else "shorten it")
        )
    return value


# -- look-alike names ---------------------------------------------------------------------

# Letters of other scripts, and Latin letters and signs, that pass for a Latin letter or an
# ASCII sign in the fonts a ledger is read in (from the Unicode confusables of UTS #39 whose
# prototype is ASCII). Compatibility forms (fullwidth and mathematical letters, ligatures,
# other spaces) need no entry: NFKD takes them to their plain letters first.
_LOOK_ALIKES = {
    "A": "АΑ", "B": "ВΒ", "C": "СϹ", "E": "ЕΕ", "H": "НΗ", "I": "ІΙӀ", "J": "Ј", "K": "КΚ",
    "M": "МΜ", "N": "Ν", "O": "ОΟՕ", "P": "РΡ", "Q": "Ԛ", "S": "Ѕ", "T": "ТΤ", "U": "Ս",
    "W": "Ԝ", "X": "ХΧ", "Y": "УҮΥ", "Z": "Ζ",
    "a": "аɑα", "c": "сϲ", "d": "ԁ", "e": "е", "g": "ɡց", "h": "һհ", "i": "іıι", "j": "јϳ",
    "l": "ӏ", "n": "ո", "o": "оοօ", "p": "рρ", "q": "ԛ", "s": "ѕ", "u": "սυ", "v": "νѵ",
    "w": "ԝ", "x": "х", "y": "у",
    "-": "‐‑‒–−", "'": "‘’′ʹ", '"': "“”″",
}  # fmt: skip
_PROTOTYPE = {ch: proto for proto, chars in _LOOK_ALIKES.items() for ch in chars}


def skeleton(name: str) -> str:
    """What ``name`` looks like: two names with the same skeleton read the same.

    The name's compatibility decomposition (so ``Ｃ``, ``𝐂`` and ``C`` are one letter), with
    each look-alike letter replaced by the letter it passes for, recomposed. Case and
    spacing are kept: names that differ in them can be told apart by eye. A name in ASCII
    is its own skeleton (no look-alike letter is ASCII, and ASCII has no compatibility
    forms): most names are read no further.
    """
    if name.isascii():
        return name
    decomposed = unicodedata.normalize("NFKD", name)
    return unicodedata.normalize("NFC", "".join(_PROTOTYPE.get(ch, ch) for ch in decomposed))


def look_alike(a: str, b: str) -> bool:
    """Whether two different names read the same (a look-alike, not a duplicate)."""
    return a != b and skeleton(a) == skeleton(b)


def difference(later: str, earlier: str) -> str:
    """The characters of ``later`` that ``earlier`` does not have (or else the other way
    round), as ``U+0456 CYRILLIC SMALL LETTER BYELORUSSIAN-UKRAINIAN I``."""
    odd = [ch for ch in dict.fromkeys(later) if ch not in earlier]
    odd = odd or [ch for ch in dict.fromkeys(earlier) if ch not in later]
    return ", ".join(describe(ch) for ch in odd) or "characters that look alike"
