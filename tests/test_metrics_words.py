"""Wrapped text is counted with each word's width remembered: the same count, and the same
longest word, as measuring every word afresh, and the memory of words stays bounded."""

from __future__ import annotations

import math
import random

import pytest

from grants.excel import metrics


def lines_measured_afresh(text: str, width: float, size: float, bold: bool) -> int:
    limit = metrics.room(width) / metrics.SLACK
    space = metrics.text_points(" ", size, bold)
    count = 0
    for paragraph in text.split("\n"):
        count += 1
        used = 0.0
        for word in paragraph.split():
            need = metrics.text_points(word, size, bold)
            if used and used + space + need <= limit:
                used += space + need
                continue
            if used:
                count += 1
            extra = max(math.ceil(need / limit) - 1, 0) if limit > 0 else 0
            count += extra
            used = need - extra * limit
    return count


def texts(seed: int, n: int) -> list[str]:
    pick = random.Random(seed)
    words = ["Scheme", "of", "portfolio", "cost", "and", "specific", "funding", "(the", "line),",
             "£1,250", "–", "W" * 40, "i", "漢字", "net", "café", "\x7f", ""]  # fmt: skip
    out = []
    for _ in range(n):
        parts = [pick.choice(words) + str(pick.randrange(3000)) * pick.randrange(2)
                 for _ in range(pick.randrange(40))]  # fmt: skip
        out.append(pick.choice([" ", "  ", "\n", " \n "]).join(parts))
    return out


@pytest.mark.parametrize("bold", [False, True])
@pytest.mark.parametrize("size", [8.0, 10.0, 14.0])
def test_remembered_word_widths_count_the_same_lines(size: float, bold: bool) -> None:
    for text in texts(int(size) * 2 + bold, 400):
        for width in (3.0, 12.5, 40.0, 60.0, 255.0):
            assert metrics.lines(text, width, size, bold) == lines_measured_afresh(
                text, width, size, bold
            )
        afresh = max((metrics.text_points(w, size, bold) for w in text.split()), default=0.0)
        assert metrics.longest_word(text, size, bold) == afresh


def test_the_remembered_words_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(metrics, "WORDS_KEPT", 50)
    many = " ".join(f"w{n}" for n in range(500))
    assert metrics.lines(many, 20.0) == lines_measured_afresh(many, 20.0, 10.0, False)
    assert len(metrics._WORD_UNITS[False]) <= 50
    assert metrics.longest_word(many) == metrics.text_points("w499")


def test_a_long_word_is_measured_but_not_remembered() -> None:
    """A pasted link or a cell of unbroken text is measured as before and not kept, so the
    words remembered stay a few MB whatever the texts."""
    long_word = "x" * (metrics.WORD_KEPT_CHARACTERS + 1) + "y" * 4000
    assert metrics.longest_word(long_word) == metrics.text_points(long_word)
    assert metrics.lines(long_word, 10) == lines_measured_afresh(long_word, 10, 10, False)
    assert all(long_word not in kept for kept in metrics._WORD_UNITS.values())
    short = "x" * metrics.WORD_KEPT_CHARACTERS
    metrics.longest_word(short)
    assert short in metrics._WORD_UNITS[False]
