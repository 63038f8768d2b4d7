"""Plausible misprints in a table that does not foot, and lines out of line with a common
rate of change: on synthetic tables, each built from a table that foots (or a rate every
line shares) with one figure altered, so that the answer is known."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest

from grants.services.common_rate import common_rate, percent
from grants.services.misprints import ONE_DIGIT, SWAPPED, misprints, slip

D = Decimal
ROWS = [("Alpha", D(50_656)), ("Beta", D(226_913)), ("Gamma", D(319_899)), ("Delta", D(94_374))]
TOTAL = ("Total", sum((a for _, a in ROWS), D(0)))


def altered(index: int, value: Decimal) -> list[tuple[str, Decimal]]:
    rows = list(ROWS)
    rows[index] = (rows[index][0], value)
    return rows


def test_a_table_that_foots_has_no_misprints() -> None:
    assert misprints(ROWS, TOTAL) == []


def test_one_digit_wrong_in_a_row_is_found_and_ranked_first() -> None:
    label, right = ROWS[1]
    wrong = D(str(right).replace("6", "8", 1))  # 226,913 -> 228,913
    found = misprints(altered(1, wrong), TOTAL)
    assert found, "the altered row is a plausible misprint"
    first = found[0]
    assert (first.label, first.printed, first.intended, first.slip) == (
        label,
        wrong,
        right,
        ONE_DIGIT,
    )
    assert first.digits == 1
    assert "Beta printed 228,913 may be 226,913 (one digit wrong)" == first.reason


def test_two_adjacent_digits_swapped_are_found() -> None:
    label, right = ROWS[3]
    text = str(right)  # 94374 -> 93474 (the 4 and 3 swapped)
    wrong = D(text[0] + text[2] + text[1] + text[3:])
    found = misprints(altered(3, wrong), TOTAL)
    assert [(m.label, m.intended, m.slip) for m in found][:1] == [(label, right, SWAPPED)]


def test_a_misprinted_total_is_found_and_a_change_of_many_digits_is_not_a_misprint() -> None:
    wrong_total = (TOTAL[0], TOTAL[1] + 10)  # the tens digit of the total wrong
    found = misprints(ROWS, wrong_total)
    # Any figure's tens digit could be the slip, the total's among them; but not Gamma's:
    # 319,899 and 319,909 differ in two digits (the carry), which no single slip gives.
    assert ("Total", TOTAL[1], ONE_DIGIT) in [(m.label, m.intended, m.slip) for m in found]
    assert sorted(m.label for m in found) == ["Alpha", "Beta", "Delta", "Total"]
    # A difference no single slip gives: nothing is suggested.
    assert misprints(ROWS, (TOTAL[0], TOTAL[1] + 12_345)) == []


def test_one_digit_ranks_before_a_swap_and_smaller_slips_first() -> None:
    rows = [("A", D(12)), ("B", D(21)), ("C", D(30))]
    # Total printed 72 against rows that add to 63: A 12 -> 21 (swap), C 30 -> 39 (one digit).
    found = misprints(rows, ("Total", D(72)))
    assert [(m.label, m.slip) for m in found][:2] == [("C", ONE_DIGIT), ("A", SWAPPED)]


@pytest.mark.parametrize(
    ("printed", "intended", "expected"),
    [
        ("102.4", "102.5", (ONE_DIGIT, 1, 1)),
        ("40.5", "45.0", (SWAPPED, 2, 5)),
        ("125", "215", (SWAPPED, 2, 1)),
        ("58.542", "58542", None),  # more places printed than the intended figure: not a slip
        ("778", "7780", None),  # a digit dropped changes the length: not one digit wrong
        ("12", "-12", None),  # a sign is not a digit
        ("0.5", "0.45", None),  # the intended figure has more places than were printed
    ],
)
def test_slip(printed: str, intended: str, expected: tuple[str, int, int] | None) -> None:
    assert slip(D(printed), D(intended)) == expected


BEFORE = [("PH", D(57_127)), ("YOS", D(249_866)), ("CSP", D(350_323)), ("DA", D(119_133))]


def at(rate: Decimal) -> list[tuple[str, Decimal, Decimal]]:
    return [(c, a, (a * (1 + rate)).quantize(D(1), ROUND_HALF_UP)) for c, a in BEFORE]


def test_a_line_out_of_line_with_a_common_cut_is_named_with_the_figure_the_rate_gives() -> None:
    cut = D("-0.05")
    lines = at(cut)
    label, before, expected = lines[3]
    lines[3] = (label, before, expected - 10_000)  # DA cut further than the rest
    rate, out = common_rate(lines)
    assert rate == cut
    assert [(o.label, o.expected, o.sharing, o.lines) for o in out] == [(label, expected, 3, 4)]
    assert percent(rate) == "-5%"


def test_every_line_at_the_common_rate_is_not_reported() -> None:
    rate, out = common_rate(at(D("0.03")))
    assert (rate, out) == (D("0.03"), [])


def test_no_common_rate_when_the_lines_change_each_their_own_way() -> None:
    lines = [(c, a, a * (1 + D(i) / 20)) for i, (c, a) in enumerate(BEFORE, start=1)]
    assert common_rate(lines) == (None, [])


def test_no_change_is_not_a_common_rate() -> None:
    lines = at(D(0))
    lines[0] = (lines[0][0], lines[0][1], lines[0][1] - 8_000)
    assert common_rate(lines) == (None, [])


def test_too_few_lines_for_a_common_rate() -> None:
    assert common_rate(at(D("-0.1"))[:2]) == (None, [])
