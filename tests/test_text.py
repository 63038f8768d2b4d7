"""The rule for text at the door (grants.text): which characters and how much a field takes,
and which names look alike."""

from __future__ import annotations

import unicodedata

import pytest

from grants.errors import TextError
from grants.text import _PROTOTYPE, Kind, clean, look_alike, skeleton


@pytest.mark.parametrize(
    ("value", "kind", "says"),
    [
        ("a\x00b", Kind.NOTE, "has U+0000 NULL at character 2: a control character"),
        ("a\x1bb", Kind.FREE, "has U+001B ESCAPE at character 2: a control character"),
        ("a\x9bb", Kind.VALUE, "has U+009B at character 2: a control character"),
        ("a\x7fb", Kind.NAME, "has U+007F DELETE at character 2: a control character"),
        ("a\u202eb", Kind.NOTE, "has U+202E RIGHT-TO-LEFT OVERRIDE at character 2"),
        ("a\u2067b", Kind.NOTE, "has U+2067 RIGHT-TO-LEFT ISOLATE"),
        ("a\u200fb", Kind.NOTE, "has U+200F RIGHT-TO-LEFT MARK"),
        ("a\u061cb", Kind.NOTE, "has U+061C ARABIC LETTER MARK"),
        ("a\u200db", Kind.NOTE, "has U+200D ZERO WIDTH JOINER"),
        ("a\ufeffb", Kind.NOTE, "has U+FEFF ZERO WIDTH NO-BREAK SPACE"),
        ("a\tb", Kind.FREE, "has U+0009 TAB at character 2: a tab, which only a note may hold"),
        ("a\nb", Kind.NAME, "has U+000A LINE FEED at character 2: a line break"),
        ("a\u2028b", Kind.VALUE, "has U+2028 LINE SEPARATOR at character 2: a line break"),
        ("a\udcffb", Kind.VALUE, "has U+DCFF at character 2: not a character"),
        ("x" * 201, Kind.NAME, "is 201 characters long, more than the 200 it may have"),
        ("x" * 1001, Kind.VALUE, "is 1,001 characters long, more than the 1,000 it may have"),
        ("x" * 4001, Kind.NOTE, "is 4,001 characters long, more than the 4,000 it may have"),
    ],
)
def test_refused(value: str, kind: Kind, says: str) -> None:
    with pytest.raises(TextError) as error:
        clean(value, "the field", kind)
    assert str(error.value).startswith("the field ")
    assert says in str(error.value)


def test_accepted() -> None:
    assert clean("first\tsecond\r\nthird", "note", Kind.NOTE) == "first\tsecond\nthird"
    assert clean("first\rsecond", "reason", Kind.FREE) == "first\nsecond"
    assert clean("Cafe\u0301", "name", Kind.NAME) == "Café"  # NFC
    assert clean("Cafe\u0301", "source") == "Cafe\u0301"  # only names are normalised
    assert clean("£5,000 – Cherwell DC\u00a0(“match”)", "name", Kind.NAME)
    assert clean("x" * 200, "name", Kind.NAME)


@pytest.mark.parametrize(
    ("a", "b", "alike"),
    [
        ("Cherwell", "Cherw\u0435ll", True),  # Cyrillic е
        ("Oxford City", "Oxford C\u0456ty", True),  # Cyrillic і
        ("Cherwell", "\uff23herwell", True),  # fullwidth C
        ("Cherwell", "\U0001d402herwell", True),  # mathematical bold C
        ("Safer Oxfordshire", "Safer\u00a0Oxfordshire", True),  # no-break space
        ("Line - A", "Line \u2010 A", True),  # hyphen
        ("Caf\u00e9", "Cafe\u0301", True),  # decomposed: the same once NFC-normalised
        ("PAYE", "\u0420\u0410\u0423\u0415", True),  # all Cyrillic
        ("Cherwell", "cherwell", False),  # case is seen
        ("Cherwell", "Cher well", False),  # spacing is seen
        ("Cherwell", "Cherwell", False),  # the same name is not a look-alike
        ("West Oxfordshire", "South Oxfordshire", False),
    ],
)
def test_look_alike(a: str, b: str, alike: bool) -> None:
    assert look_alike(a, b) is alike
    assert look_alike(b, a) is alike


def test_skeleton_keeps_plain_names() -> None:
    assert skeleton("Cherwell District Council") == "Cherwell District Council"


def test_an_ascii_name_is_its_own_skeleton() -> None:
    """What the skeleton's shortcut for ASCII rests on: no look-alike letter is ASCII, and
    every ASCII text is unchanged by the compatibility decomposition and the recomposition
    the skeleton makes."""
    assert not [ch for ch in _PROTOTYPE if ch.isascii()]
    every = "".join(map(chr, range(128)))
    assert unicodedata.normalize("NFC", unicodedata.normalize("NFKD", every)) == every
