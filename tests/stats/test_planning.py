"""Study planning: Schoenfeld's events against the closed form and against simulated log-rank
trials; the half-width sample size against the Wald closed form and the Wilson interval of
``proportion_ci`` (an independent route: its bounds from the counts); the one-proportion
sample size against R's ``pwr.p.test`` (pwr 1.3.0,
``tests/reference/make_small_sample_reference.R``); the accrual forecast against simulation.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from dah_outcomes.errors import ArgumentError
from dah_outcomes.stats.logrank import logrank_test
from dah_outcomes.stats.planning import (
    events_for_hazard_ratio,
    expected_accrual,
    sample_size_for_half_width,
    sample_size_one_proportion,
)
from dah_outcomes.stats.proportions import proportion_ci

REF = json.loads((Path(__file__).parents[1] / "reference" / "small_samples.json").read_text())


@pytest.mark.parametrize(("hr", "power", "expected"), [(0.5, 0.8, 65.3), (2.0, 0.9, 87.5)])
def test_schoenfeld_closed_form(hr: float, power: float, expected: float) -> None:
    # (1.959964 + 0.841621)^2 / (0.25 * log(2)^2) = 65.34; with z_0.9 = 1.281552: 87.47
    z = stats.norm.ppf(0.975) + stats.norm.ppf(power)
    assert events_for_hazard_ratio(hr, power=power) == pytest.approx(
        z**2 / (0.25 * math.log(hr) ** 2), rel=1e-14
    )
    assert events_for_hazard_ratio(hr, power=power) == pytest.approx(expected, abs=0.05)
    assert events_for_hazard_ratio(hr, power=power, allocation=0.3) > expected


def test_schoenfeld_power_by_simulation() -> None:
    # no censoring: each trial has exactly the planned number of events
    events = math.ceil(events_for_hazard_ratio(0.5, power=0.8))
    rng = np.random.default_rng(20261202)
    trials, hits = 300, 0
    for _ in range(trials):
        arm = np.repeat([0, 1], [events // 2, events - events // 2])
        t = rng.exponential(1.0 / np.where(arm == 1, 0.5, 1.0))
        df = pd.DataFrame({"t": t, "e": 1, "g": arm})
        hits += logrank_test(df, time="t", event="e", group="g").p_value < 0.05
    se = math.sqrt(0.8 * 0.2 / trials)
    assert abs(hits / trials - 0.8) < 3.5 * se


@pytest.mark.parametrize(("p", "h"), [(0.4, 0.1), (0.25, 0.15), (0.1, 0.05), (0.5, 0.2)])
def test_half_width(p: float, h: float) -> None:
    z = stats.norm.ppf(0.975)
    assert sample_size_for_half_width(p, h, ci_method="wald") == math.ceil(
        z * z * p * (1 - p) / h**2
    )
    n = sample_size_for_half_width(p, h)

    def width(m: int) -> float:
        # Wilson's bounds are the roots of (p - pi)^2 = z^2 pi (1 - pi) / m in pi
        c = z * z / m
        lo, hi = sorted(np.roots([1 + c, -(2 * p + c), p * p]).real)
        if float(p * m).is_integer():  # and then they are proportion_ci's
            ci = proportion_ci(round(p * m), m)
            assert (ci.ci_lower, ci.ci_upper) == pytest.approx((lo, hi), abs=1e-12)
        return (hi - lo) / 2

    assert width(n) <= h + 1e-12
    assert width(n - 1) > h


@pytest.mark.parametrize("ref", REF["pwr_p_test"], ids=lambda r: f"{r['p0']}-{r['p1']}")
def test_one_proportion_matches_pwr(ref: dict) -> None:
    n = sample_size_one_proportion(ref["p0"], ref["p1"], power=ref["power"], alpha=ref["alpha"])
    # pwr solves with uniroot's default tolerance (eps^0.25 ~ 1.2e-4 on n)
    assert n == pytest.approx(ref["n"], abs=1e-3)


def test_accrual_by_simulation() -> None:
    f = expected_accrual(3.4, 1500, 5, per=1000)
    assert f.expected == pytest.approx(3.4 / 1000 * 1500 * 5, rel=1e-14)
    rng = np.random.default_rng(7)
    # each patient-year a Bernoulli draw: cases are Binomial(7500, 0.0034), close to Poisson
    draws = rng.binomial(1500 * 5, 3.4 / 1000, size=200_000)
    assert draws.mean() == pytest.approx(f.expected, rel=0.01)
    inside = np.mean((draws >= f.lower) & (draws <= f.upper))
    assert inside >= 0.9 - 0.005
    assert f.to_dict()["expected"] == f.expected
    assert list(f.to_frame()["upper"]) == [f.upper]


def test_bad_arguments() -> None:
    with pytest.raises(ArgumentError, match="differ from 1"):
        events_for_hazard_ratio(1.0)
    with pytest.raises(ArgumentError, match="power"):
        events_for_hazard_ratio(0.5, power=80)
    with pytest.raises(ArgumentError, match="ci_method"):
        sample_size_for_half_width(0.4, 0.1, ci_method="exact")
    with pytest.raises(ArgumentError, match="differ"):
        sample_size_one_proportion(0.3, 0.3)
    with pytest.raises(ArgumentError, match="cohort_size"):
        expected_accrual(3.4, -10, 5)
