"""The benchmarks' shared measuring: rounds alternate, and the table says what was met."""

from __future__ import annotations

from tests.benchmarks import measure


def test_rounds_turn_the_order_round_so_no_variant_always_runs_first() -> None:
    order: list[str] = []

    def variant(name: str) -> measure.Timed:
        def run() -> float:
            order.append(name)
            return {"grants": 3.0, "floor": 2.0, "baseline": 2.5}[name] + len(order) / 1000

        return run

    medians = measure.alternate({n: variant(n) for n in ("grants", "floor", "baseline")}, rounds=3)
    assert order == ["grants", "floor", "baseline", "floor", "baseline", "grants",
                     "baseline", "grants", "floor"]  # fmt: skip
    assert 3.0 < medians["grants"] < 3.01 and 2.0 < medians["floor"] < 2.01


def test_the_table_holds_a_row_to_its_target_and_its_memory() -> None:
    row = measure.Row("SQLite load", "100,000 entries", 3.1, "indexes after", 2.0, 1.5,
                      peak_mb=120, peak_target_mb=400)  # fmt: skip
    assert not row.met  # 1.55x the floor
    assert measure.Row("x", "1", 2.9, "f", 2.0, 1.5).met
    held = measure.Row("x", "1", 2.9, "f", 1.0, 1.5, held_to="baseline", baseline="b",
                       baseline_s=2.0)  # fmt: skip
    assert held.met and held.ratio == 2.9
    assert not measure.Row("x", "1", 1.0, "f", 1.0, 2, peak_mb=160, peak_target_mb=150).met
    text = measure.table([row])
    assert "| SQLite load | 100,000 entries | 3.100 s | indexes after: 2.000 s | 1.55 |" in text
    assert "**no**" in text and "120 MB" in text and "≤ 1.5× floor; < 400 MB" in text
    assert measure.count_text(1_000_000) == "1M" and measure.count_text(20_000) == "20k"
