"""Consistency of reported percentages without the data (GRIM-style checks).

A percentage printed from a count ``k`` of ``n`` can only take certain values. Given the printed
figure, these functions list the numerators that fit a sample size, and the sample sizes that fit
a set of percentages said to come from one series, under each rounding convention a source may
have used. Arithmetic is exact (fractions), so no boundary is misjudged by floating point.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from decimal import Decimal
from fractions import Fraction

import pandas as pd

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats.proportions import PROPORTION_METHODS, proportion_ci

__all__ = [
    "ROUNDINGS",
    "ci_method_matches",
    "consistent_numerators",
    "consistent_sample_sizes",
    "printed_percent",
]

ROUNDINGS = ("half-up", "half-even", "truncate")


def printed_percent(
    percent: str | float | int | Decimal, decimals: int | None = None
) -> tuple[Fraction, int]:
    """The printed percentage as an exact fraction and its number of decimals.

    Strings keep their printed precision (``"85.7%"`` has one decimal); ``~``, ``about`` and
    ``%`` are ignored. A number needs ``decimals`` unless it is whole.
    """
    if isinstance(percent, str):
        text = percent.strip().lower().lstrip("~≈").removeprefix("about").strip()
        text = text.rstrip("%").strip().replace(",", ".")
        try:
            value = Decimal(text)
        except ArithmeticError as exc:
            raise ArgumentError(f"cannot read {percent!r} as a percentage") from exc
        places = len(text.split(".")[1]) if "." in text else 0
        return Fraction(value), places if decimals is None else decimals
    value = Decimal(str(percent))
    if decimals is None:
        decimals = max(0, -value.as_tuple().exponent)  # type: ignore[operator]
    return Fraction(value), decimals


def _rounds(exact: Fraction, decimals: int, rounding: str) -> Fraction:
    scale = 10**decimals
    x = exact * scale
    if rounding == "half-up":
        q = math.floor(x + Fraction(1, 2))
    elif rounding == "half-even":
        q = round(x)
    else:
        q = math.floor(x)
    return Fraction(q, scale)


def _check_rounding(rounding: str) -> tuple[str, ...]:
    if rounding == "any":
        return ROUNDINGS
    if rounding not in ROUNDINGS:
        raise ArgumentError(f"rounding must be one of {[*ROUNDINGS, 'any']}, got {rounding!r}")
    return (rounding,)


def consistent_numerators(
    percent: str | float, n: int, decimals: int | None = None, rounding: str = "half-up"
) -> list[int]:
    """Every integer ``k`` in 0..n whose ``100 k / n`` prints as ``percent``.

    Parameters
    ----------
    percent : str or float
        The printed percentage (``"57%"``, ``"85.7"``, ``57``).
    n : int
        Sample size.
    decimals : int, optional
        Printed decimals (read from a string when omitted).
    rounding : {"half-up", "half-even", "truncate", "any"}
        How the percentage was rounded for print (``any``: by any of them).

    Returns
    -------
    list of int
        The numerators, ascending (empty when no ``k`` prints as ``percent``).

    Examples
    --------
    >>> consistent_numerators("57%", 14)
    [8]
    >>> consistent_numerators("85%", 7), consistent_numerators("85%", 7, rounding="truncate")
    ([], [6])
    """
    if not isinstance(n, int) or n < 1:
        raise ArgumentError(f"n must be a positive whole number, got {n!r}")
    target, places = printed_percent(percent, decimals)
    conventions = _check_rounding(rounding)
    # only numerators near target * n / 100 can round to it
    centre = target * n / 100
    lo, hi = max(0, math.floor(centre) - 2), min(n, math.ceil(centre) + 2)
    return [
        k
        for k in range(lo, hi + 1)
        if any(_rounds(Fraction(100 * k, n), places, r) == target for r in conventions)
    ]


def consistent_sample_sizes(
    percents: Sequence[str | float],
    max_n: int,
    decimals: int | None = None,
    rounding: str = "any",
    min_n: int = 1,
) -> pd.DataFrame:
    """Every ``n`` up to ``max_n`` for which each percentage has a fitting numerator.

    Parameters
    ----------
    percents : sequence of str or float
        The percentages printed from one series.
    max_n : int
        Largest sample size tried.
    decimals : int, optional
        Printed decimals (read from strings when omitted).
    rounding : {"any", "half-up", "half-even", "truncate"}, default "any"
        Rounding conventions tried.
    min_n : int, default 1
        Smallest sample size tried.

    Returns
    -------
    DataFrame
        One row per (n, rounding convention) that fits all percentages: ``n, rounding`` and a
        column per percentage holding the fitting numerators.
    """
    if not percents:
        raise ArgumentError("give at least one percentage")
    rows = []
    for n in range(min_n, max_n + 1):
        for r in _check_rounding(rounding):
            ks = [consistent_numerators(p, n, decimals, r) for p in percents]
            if all(ks):
                rows.append(
                    {
                        "n": n,
                        "rounding": r,
                        **{str(p): k for p, k in zip(percents, ks, strict=True)},
                    }
                )
    return pd.DataFrame(rows, columns=["n", "rounding", *map(str, percents)])


def ci_method_matches(
    events: int,
    total: int,
    printed_low: str | float,
    printed_high: str | float,
    *,
    levels: Iterable[float] = (0.90, 0.95, 0.99),
    decimals: int | None = None,
) -> pd.DataFrame:
    """Which CI methods and levels reproduce a printed interval at its printed precision.

    Bounds may be printed as percentages (``"28.9%"``) or proportions (``0.289``).

    Parameters
    ----------
    events, total : int
        The counts the interval was computed from.
    printed_low, printed_high : str or float
        The interval's bounds as printed.
    levels : iterable of float, default (0.90, 0.95, 0.99)
        Confidence levels tried.
    decimals : int, optional
        Printed decimals of the bounds (read from strings when omitted).

    Returns
    -------
    DataFrame
        ``method, conf_level, ci_lower, ci_upper, matches`` for every combination tried.
    """

    def parse(v: str | float) -> tuple[Fraction, int, bool]:
        percent = isinstance(v, str) and v.strip().endswith("%")
        value, places = (
            printed_percent(v, decimals) if percent else printed_percent(str(v), decimals)
        )
        return value, places, percent

    lo, lo_places, lo_pct = parse(printed_low)
    hi, hi_places, hi_pct = parse(printed_high)
    rows = []
    for method in PROPORTION_METHODS:
        for level in levels:
            ci = proportion_ci(events, total, ci_method=method, conf_level=level)

            def shown(x: float, places: int, pct: bool) -> Fraction:
                return _rounds(Fraction(x * (100 if pct else 1)), places, "half-up")

            match = (
                shown(ci.ci_lower, lo_places, lo_pct) == lo
                and shown(ci.ci_upper, hi_places, hi_pct) == hi
            )
            rows.append(
                {
                    "method": method,
                    "conf_level": level,
                    "ci_lower": ci.ci_lower,
                    "ci_upper": ci.ci_upper,
                    "matches": match,
                }
            )
    return pd.DataFrame(rows)
