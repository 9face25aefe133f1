"""GRIM-style consistency: the facts the audit rests on, and completeness and soundness
properties over every k <= n <= 200."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dah_outcomes.reproduce.consistency import (
    ROUNDINGS,
    _rounds,
    ci_method_matches,
    consistent_numerators,
    consistent_sample_sizes,
)


def test_cited_figures_facts() -> None:
    sizes = consistent_sample_sizes(["57%", "29%"], max_n=14)
    assert sorted(set(sizes["n"])) == [7, 14]
    assert consistent_numerators("57%", 7) == [4]
    assert consistent_numerators("29%", 14) == [4]
    # 85% fits 7 or 14 patients only if 85.7% was truncated
    for n in (7, 14):
        assert consistent_numerators("85%", n, rounding="half-up") == []
        assert consistent_numerators("85%", n, rounding="half-even") == []
        assert consistent_numerators("85%", n, rounding="truncate") == [6 * n // 7]
    # 12% fits neither
    assert consistent_numerators("12%", 7, rounding="any") == []
    assert consistent_numerators("12%", 14, rounding="any") == []


def test_half_even_differs_from_half_up() -> None:
    # 1/8 = 12.5%: half-up prints 13, half-even 12
    assert consistent_numerators("13%", 8) == [1]
    assert consistent_numerators("12%", 8, rounding="half-even") == [1]


def test_ci_method_matches_finds_the_method() -> None:
    out = ci_method_matches(8, 14, "28.9%", "82.3%")
    found = out[out["matches"]][["method", "conf_level"]].values.tolist()
    assert found == [["clopper-pearson", 0.95]]


@settings(max_examples=300, deadline=None)
@given(
    n=st.integers(1, 200),
    data=st.data(),
    rounding=st.sampled_from(ROUNDINGS),
    decimals=st.integers(0, 1),
)
def test_complete_and_sound(n: int, data, rounding: str, decimals: int) -> None:
    k = data.draw(st.integers(0, n))
    printed = _rounds(Fraction(100 * k, n), decimals, rounding)
    text = f"{float(printed):.{decimals}f}%"
    found = consistent_numerators(text, n, rounding=rounding)
    assert k in found  # completeness: every true k is found
    for j in found:  # soundness: none is invented
        assert _rounds(Fraction(100 * j, n), decimals, rounding) == printed
    sizes = consistent_sample_sizes([text], max_n=n, min_n=n, rounding=rounding)
    assert n in set(sizes["n"])


@pytest.mark.parametrize("bad", [0, -3, 2.5])
def test_bad_n(bad) -> None:
    from dah_outcomes import ArgumentError

    with pytest.raises(ArgumentError):
        consistent_numerators("50%", bad)
