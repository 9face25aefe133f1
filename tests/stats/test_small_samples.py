"""Small-sample helpers against R (``tests/reference/make_small_sample_reference.R``, R 4.2.2):
the exact (Clopper-Pearson) interval beside a degenerate Kaplan-Meier interval against
``binom.test``; ``proportion_ci(method="wilson-cc")`` against ``prop.test`` (whose continuity
correction is min(0.5, |k - n/2|), none at k = n/2); ``rate_ci`` refusing an infinite time
as ``poisson.test`` does; the events-per-variable check.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, SmallSampleWarning
from dah_outcomes.stats._checks import warn_few_events_per_variable
from dah_outcomes.stats.nonparametric import kaplan_meier
from dah_outcomes.stats.proportions import proportion_ci, rate_ci

REF = json.loads((Path(__file__).parents[1] / "reference" / "small_samples.json").read_text())


def binom(x: int, n: int, level: float = 0.95) -> dict:
    return next(r for r in REF["binom_test"] if (r["x"], r["n"], r["conf_level"]) == (x, n, level))


def two_arms() -> pd.DataFrame:
    # rituximab: 6 patients, nobody dies by day 30; cyclophosphamide: 10 patients, 3 deaths
    # by day 30 and nobody censored before it (so the binomial is exact there)
    return pd.DataFrame(
        {
            "arm": ["RTX"] * 6 + ["CYC"] * 10,
            "t": [40, 55, 90, 120, 200, 365, 3, 8, 20, 45, 60, 90, 120, 300, 365, 400],
            "e": [1, 0, 1, 0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0],
        }
    )


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_exact_bound_beside_degenerate_greenwood(level: float) -> None:
    km = kaplan_meier(two_arms(), time="t", event="e", group="arm", conf_level=level)
    with pytest.warns(SmallSampleWarning, match=r"RTX at 30 \(n = 6\): exact 0\.(541|607)-1\.000"):
        at = km.survival_at([30], warn_degenerate=True).set_index("group")
    rtx = at.loc["RTX"]
    assert (rtx["survival"], rtx["ci_lower"], rtx["ci_upper"]) == (1.0, 1.0, 1.0)
    ref = binom(6, 6, level)
    assert abs(rtx["exact_lower"] - ref["lower"]) < 1e-12
    assert rtx["exact_upper"] == ref["upper"]


def test_exact_bound_equals_binomial_without_early_censoring() -> None:
    km = kaplan_meier(two_arms(), time="t", event="e", group="arm")
    row = km.survival_at([30]).set_index("group").loc["CYC"]
    assert row["survival"] == pytest.approx(0.7, abs=1e-15)
    ref = binom(7, 10)
    assert abs(row["exact_lower"] - ref["lower"]) < 1e-12
    assert abs(row["exact_upper"] - ref["upper"]) < 1e-12
    assert row["n_known"] == 10


def test_degenerate_warning_fires_only_when_asked_and_degenerate() -> None:
    km = kaplan_meier(two_arms(), time="t", event="e", group="arm")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        km.survival_at([30])  # not asked
        km.survival_at([100], warn_degenerate=True)  # both arms have had an event
    with pytest.warns(SmallSampleWarning, match="3 survival estimate"):
        km.survival_at([0, 30], warn_degenerate=True)  # day 0: RTX and CYC; day 30: RTX


@pytest.mark.parametrize("ref", REF["prop_test"], ids=lambda r: f"{r['k']}/{r['n']}")
def test_wilson_cc_matches_prop_test(ref: dict) -> None:
    ci = proportion_ci(ref["k"], ref["n"], ci_method="wilson-cc")
    assert abs(ci.ci_lower - ref["lower"]) < 1e-12
    assert abs(ci.ci_upper - ref["upper"]) < 1e-12


def test_rate_ci_refuses_infinite_time() -> None:
    with pytest.raises(ArgumentError, match="finite"):
        rate_ci(3, float("inf"))
    with pytest.raises(ArgumentError, match="finite"):
        rate_ci(3, np.nan)


def test_events_per_variable_check() -> None:
    with pytest.warns(SmallSampleWarning, match=r"9 events for 3 coefficient\(s\), 3\.0 per"):
        assert warn_few_events_per_variable(9, 3, model="cox_regression")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not warn_few_events_per_variable(30, 3, model="cox_regression")
        assert not warn_few_events_per_variable(9, 0, model="cox_regression")


AML = json.loads((Path(__file__).parents[1] / "reference" / "km_quantile_aml.json").read_text())


@pytest.mark.parametrize("fit", AML["fits"], ids=lambda f: f["conf_type"])
def test_km_quantile_ci_matches_r_on_aml(fit: dict) -> None:
    # Maintained's upper log-CI curve rises again after day 45; R's approx() sorts the
    # knots, so its p = 0.1 upper bound is 34 (ours was NaN before sorting)
    data = pd.DataFrame(AML["data"])
    km = kaplan_meier(data, time="time", event="status", group="x", conf_type=fit["conf_type"])

    def na(v: object) -> float:
        return np.nan if v is None else float(v)

    pairs = (("time", "quantile"), ("ci_lower", "lower"), ("ci_upper", "upper"))
    for j, p in enumerate(fit["probs"]):
        q = km.quantile(p).set_index("group")
        for g, group in enumerate(fit["groups"]):
            for ours, theirs in pairs:
                np.testing.assert_equal(q.loc[group, ours], na(fit[theirs][g][j]))
