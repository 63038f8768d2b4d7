"""Printing workbooks as a person would see them: LibreOffice converts them to PDF, and each
page is read back (pdfplumber) for what a reader would notice: a page that is not A4, words
printed over each other, a word cut at a cell's or the page's edge, text too small to read.
tests/test_print.py uses it on every workbook the demo writes."""

from __future__ import annotations

import os
import shutil
import subprocess
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
A4 = (595.28, 841.89)
TOLERANCE = 2.0  # points
SMALLEST_FONT = 7.0  # points
BREAKS = "-/:|"  # where LibreOffice may wrap within a word
OVERLAP = 0.5  # points two words' boxes may share (kerning, a rule's anti-aliasing)


def need_soffice() -> str:
    """LibreOffice's command: the test is skipped without it, unless on CI (CI=true), where
    a missing LibreOffice is a failure."""
    if SOFFICE is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("LibreOffice (soffice) is missing on CI: .ci/run installs it")
        pytest.skip("LibreOffice (soffice) is not installed here")
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm (poppler-utils) is missing: .ci/run installs it")
    return SOFFICE


def to_pdf(workbooks: list[Path], out: Path, profile: Path) -> list[Path]:
    """Each workbook as a PDF in ``out``, all in one LibreOffice run (it is slow to start),
    with a private profile so that no other LibreOffice is disturbed."""
    out.mkdir(parents=True, exist_ok=True)
    names = [w.stem for w in workbooks]
    assert len(set(names)) == len(names), "two workbooks would print to the same PDF"
    subprocess.run(
        [need_soffice(), "--headless", f"-env:UserInstallation={profile.as_uri()}",
         "--convert-to", "pdf", "--outdir", str(out), *map(str, workbooks)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    pdfs = [out / f"{name}.pdf" for name in names]
    missing = [p.name for p in pdfs if not p.exists()]
    assert not missing, f"LibreOffice printed no PDF for {missing}"
    return pdfs


def to_png(pdf: Path, out: Path) -> None:
    """Every page as a small PNG (50 dpi) for a person to look at."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", str(pdf), str(out / pdf.stem)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip


@dataclass(frozen=True)
class Word:
    text: str
    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    upright: bool = True  # rotated text (a chart's axis labels) is not checked for overlaps


def _norm(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def read_pdf(pdf: Path) -> tuple[list[str], list[Word]]:
    """The problems of each page's size and type size, and every word printed."""
    import pdfplumber

    problems: list[str] = []
    words: list[Word] = []
    with pdfplumber.open(pdf) as document:
        for number, page in enumerate(document.pages, start=1):
            where = f"{pdf.name} page {number}"
            size = sorted((float(page.width), float(page.height)))
            if abs(size[0] - A4[0]) > TOLERANCE or abs(size[1] - A4[1]) > TOLERANCE:
                problems.append(f"{where} is {page.width:.0f}×{page.height:.0f} pt, not A4")
            # (a rotated character's size is not its type size: charts' axis names)
            small = [
                c for c in page.chars
                if c["text"].strip() and c["upright"] and c["size"] < SMALLEST_FONT
            ]  # fmt: skip
            if small:
                sample = "".join(c["text"] for c in small[:30])
                problems.append(
                    f"{where}: text at {min(c['size'] for c in small):.1f} pt ({sample!r})"
                )
            # Words 1.5 points apart are two (a figure right-aligned beside a left-aligned
            # label in the next cell); a space at 7 points is wider.
            for w in page.extract_words(x_tolerance=1.5, use_text_flow=False):
                word = Word(
                    _norm(w["text"]), number, w["x0"], w["top"], w["x1"], w["bottom"],
                    bool(w["upright"]),
                )  # fmt: skip
                words.append(word)
                if (
                    word.x0 < -0.5
                    or word.top < -0.5
                    or word.x1 > page.width + 0.5
                    or (word.bottom > page.height + 0.5)
                ):
                    problems.append(f"{where}: {word.text!r} runs off the page")
    return problems, words


def overlaps(pdf: Path, words: list[Word]) -> list[str]:
    """Words printed over each other (text crossing into a neighbouring cell, or clipped
    text whose hidden part lies under its neighbour's)."""
    problems = []
    pages: dict[int, list[Word]] = {}
    for w in words:
        if w.upright:
            pages.setdefault(w.page, []).append(w)
    for number, page in pages.items():
        page.sort(key=lambda w: w.top)
        for i, a in enumerate(page):
            for b in page[i + 1 :]:
                if b.top >= a.bottom - OVERLAP:
                    break
                across = min(a.x1, b.x1) - max(a.x0, b.x0)
                down = min(a.bottom, b.bottom) - max(a.top, b.top)
                if across > OVERLAP and down > OVERLAP:
                    problems.append(f"{pdf.name} page {number}: {a.text!r} and {b.text!r} overlap")
    return problems


def cell_words(workbook: Path) -> Counter[str]:
    """Every word of every text cell of every sheet (as openpyxl reads it)."""
    counts: Counter[str] = Counter()
    book = openpyxl.load_workbook(workbook, read_only=True)
    try:
        for sheet in book.worksheets:
            for row in sheet.iter_rows(values_only=True):
                for value in row:
                    if isinstance(value, str) and not value.startswith("="):  # not formulas
                        counts.update(_norm(value).split())
    finally:
        book.close()
    return counts


def missing_words(workbook: Path, pdf: Path, words: list[Word]) -> list[str]:
    """Words of the workbook's cells that the PDF does not show whole: cut at a cell's edge
    (clipped, or broken within the word because the column is too narrow)."""
    shown = Counter(w.text for w in words)
    wanted = cell_words(workbook)
    lost = sorted(w for w, n in wanted.items() if shown[w] < n and not _split_only(w, shown))
    return [f"{pdf.name}: {w!r} is not printed whole" for w in lost[:20]]


def _split_only(word: str, shown: Counter[str]) -> bool:
    return any(
        shown[word[: i + 1]] and _split(word[i + 1 :], shown)
        for i, c in enumerate(word[:-1])
        if c in BREAKS
    )


def _split(word: str, shown: Counter[str]) -> bool:
    """A word LibreOffice wraps within where Unicode allows a line break, after a hyphen,
    slash, colon or bar (`2017-` `18`): it is printed whole if it is some printed words end
    to end, each cut after such a mark."""
    if shown[word]:
        return True
    return any(
        shown[word[: i + 1]] and _split(word[i + 1 :], shown)
        for i, c in enumerate(word[:-1])
        if c in BREAKS
    )


__all__ = [
    "SOFFICE", "Word", "cell_words", "missing_words", "need_soffice", "overlaps",
    "read_pdf", "to_pdf", "to_png",
]  # fmt: skip
