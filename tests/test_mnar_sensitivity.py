"""Delta adjustment and tipping points (issue 17, section 3): the crossing found where it is
known, monotone in delta where the missing are the deaths, seeded, delta 0 equal to plain MI,
the CI criterion on a hazard ratio, the cohort analysis and its plot."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit

from dah_outcomes.analyses.mnar_sensitivity import (
    arm_mortality_tipping_point,
    plot_tipping_point,
)
from dah_outcomes.cohort import Cohort
from dah_outcomes.errors import ArgumentError
from dah_outcomes.plotting import save_figure
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.delta_adjustment import (
    check_deltas,
    delta_sensitivity,
    summarise_tipping_point,
)
from dah_outcomes.stats.imputation import impute_chained
from dah_outcomes.stats.pooling import pool_cox, pool_proportions
from dah_outcomes.synthetic.cohorts import generate_cohort
from dah_outcomes.synthetic.missingness import apply_missingness

# ------------------------------------------------------------------------------ frames


def _flag_frame(seed: int = 0, n: int = 400) -> pd.DataFrame:
    """A flag missing mostly among the deaths (the issue's MNAR-on-outcome example)."""
    rng = np.random.default_rng(seed)
    severe = rng.random(n) < 0.4
    flag = rng.random(n) < 0.5
    died = rng.random(n) < 1 / (1 + np.exp(-(-2.0 + 1.2 * severe - 0.5 * flag)))
    missing = rng.random(n) < np.where(died, 0.5, 0.1)
    return pd.DataFrame(
        {
            "flag": pd.array(np.where(missing, None, flag), dtype="boolean"),
            "severe": severe,
            "died": died,
        }
    )


def _arm_mortality(sets):
    events = [int(d["died"].to_numpy()[d["flag"].to_numpy(dtype=bool)].sum()) for d in sets]
    totals = [int(d["flag"].to_numpy(dtype=bool).sum()) for d in sets]
    return pool_proportions(events, totals, terms=["mortality"])


def _sensitivity(data, deltas, seed=1, **kwargs):
    return delta_sensitivity(
        data,
        column="flag",
        deltas=deltas,
        statistic=_arm_mortality,
        predictors=["severe", "died"],
        m=kwargs.pop("m", 5),
        iterations=kwargs.pop("iterations", 3),
        seed=seed,
        **kwargs,
    )


# ------------------------------------------------------------------------------ the crossing


def test_known_crossing_from_exact_counts() -> None:
    # identical counts in every imputation: no between-imputation variance, so the pooled
    # value is events / total exactly and the crossing of 0.12 lies between 1 and 2
    counts = {-1.0: 8, 0.0: 10, 1.0: 11, 2.0: 13, 3.0: 15}
    pooled = {d: pool_proportions([k] * 4, 100) for d, k in counts.items()}
    res = summarise_tipping_point(pooled, threshold=0.12, column="flag")
    np.testing.assert_allclose(res.estimate, [0.08, 0.10, 0.11, 0.13, 0.15], rtol=1e-12)
    assert res.reference == "below"
    assert res.crosses.tolist() == [False, False, False, True, True]
    assert res.tipping_point_above == 2.0
    assert res.tipping_point_below is None
    assert res.tipping_point == 2.0
    assert res.interpolated_above == pytest.approx(1.5, abs=1e-12)
    assert "no delta below 0" in res.summary
    assert "delta = 2" in res.summary


def test_known_crossing_on_both_sides_and_nearest_to_zero() -> None:
    counts = {-2.0: 5, -1.0: 9, 0.0: 13, 0.5: 14, 1.0: 20}
    pooled = {d: pool_proportions([k] * 3, 100) for d, k in counts.items()}
    res = summarise_tipping_point(pooled, threshold=0.10)
    assert res.reference == "above"
    assert (res.tipping_point_below, res.tipping_point_above) == (-1.0, None)
    # interpolated between 0 (13%) and -1 (9%): 10% is three quarters of the way
    assert res.interpolated_below == pytest.approx(-0.75, abs=1e-12)
    assert res.tipping_point == -1.0


def test_imputed_crossing_where_the_extremes_are_known() -> None:
    # 1,000 treated (100 deaths), 1,000 untreated (100 deaths), 100 deaths with the flag
    # missing. Under MAR half the missing deaths are imputed treated (the observed deaths are
    # half treated): arm mortality 150/1050 = 14.3%. With delta, a share p = expit(delta) of
    # them is treated and the arm's mortality is (100 + 100 p) / (1000 + 100 p): 10% at
    # delta -8, 18.2% at +8, and 12% where p = 20/88, at delta = logit(20/88) = -1.22
    flag = [True] * 1000 + [False] * 1000 + [None] * 100
    died = ([True] * 100 + [False] * 900) * 2 + [True] * 100
    data = pd.DataFrame({"flag": pd.array(flag, dtype="boolean"), "died": died})
    res = delta_sensitivity(
        data,
        column="flag",
        deltas=[-8, -4, -2, -1.5, -1, -0.5, 4, 8],
        statistic=_arm_mortality,
        predictors=["died"],
        threshold=0.12,
        m=20,
        iterations=2,
        seed=4,
    )
    expected = (100 + 100 * expit(res.deltas)) / (1000 + 100 * expit(res.deltas))
    np.testing.assert_allclose(res.estimate, expected, atol=0.004)
    assert res.reference == "above"
    assert res.tipping_point_above is None
    assert res.tipping_point_below == -1.5
    assert res.interpolated_below == pytest.approx(np.log(20 / 68), abs=0.15)


def test_no_delta_tips_says_so() -> None:
    pooled = {d: pool_proportions([20 + int(d)] * 3, 100) for d in (-1.0, 0.0, 1.0)}
    res = summarise_tipping_point(pooled, threshold=0.5, column="flag")
    assert res.tipping_point is None
    assert res.tipping_point_below is None
    assert res.tipping_point_above is None
    assert res.interpolated_above is None
    assert not res.crosses.any()
    assert res.summary.startswith("No delta in [-1, 1]")


# ------------------------------------------------------------------------------ imputation


def test_arm_mortality_rises_with_delta_when_the_missing_are_deaths() -> None:
    res = _sensitivity(_flag_frame(), [-3, -2, -1, 1, 2, 3], threshold=0.2)
    assert (np.diff(res.estimate) > 0).all(), res.estimate


def test_same_seed_same_result_other_seed_other_result() -> None:
    data = _flag_frame(seed=2)
    a = _sensitivity(data, [-1, 1], seed=7, threshold=0.2)
    b = _sensitivity(data, [-1, 1], seed=7, threshold=0.2)
    c = _sensitivity(data, [-1, 1], seed=8, threshold=0.2)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not np.array_equal(a.estimate, c.estimate)


def test_delta_zero_equals_plain_multiple_imputation() -> None:
    data = _flag_frame(seed=3)
    res = _sensitivity(data, [-1.5, 1.5], seed=11, threshold=0.2)
    plain = impute_chained(
        data, columns=["flag"], predictors=["severe", "died"], m=5, iterations=3, seed=11
    )
    pooled = _arm_mortality(list(plain))
    zero = int(np.flatnonzero(res.deltas == 0)[0])
    assert res.estimate[zero] == float(pooled.value[0])
    assert res.ci_lower[zero] == float(pooled.value_ci_lower[0])
    assert res.fmi[zero] == float(pooled.fmi[0])


def test_ci_criterion_on_a_hazard_ratio_crossing_one() -> None:
    # the flag protects (HR 0.7) and half the deaths lack it: under MAR the pooled HR's CI
    # includes 1; imputing the missing untreated makes the flag look protective (CI below
    # 1), imputing them treated harmful (CI above 1)
    rng = np.random.default_rng(5)
    n = 800
    flag = rng.random(n) < 0.5
    t = rng.exponential(1 / np.exp(np.log(0.7) * flag))
    c = rng.exponential(1.5, n)
    event = t <= c
    missing = rng.random(n) < np.where(event, 0.5, 0.05)
    data = pd.DataFrame(
        {
            "flag": pd.array(np.where(missing, None, flag), dtype="boolean"),
            "time": np.minimum(t, c),
            "event": event.astype(float),
        }
    )

    def hr(sets):
        fits = [
            cox_regression(
                d.assign(flag=d["flag"].astype(float)),
                time="time",
                event="event",
                covariates=["flag"],
            )
            for d in sets
        ]
        return pool_cox(fits)

    res = delta_sensitivity(
        data,
        column="flag",
        deltas=[-4, -2, -1, 1, 2, 4, 6],
        statistic=hr,
        threshold=1.0,
        criterion="ci",
        predictors=["event", "time"],
        m=5,
        iterations=2,
        seed=1,
    )
    for k, said in enumerate(res.conclusion):  # each conclusion is what its CI shows
        lo, hi = res.ci_lower[k], res.ci_upper[k]
        assert said == ("above" if lo > 1 else "below" if hi < 1 else "includes")
    assert res.reference == "includes"
    zero = int(np.flatnonzero(res.deltas == 0)[0])
    below = int(np.flatnonzero(res.deltas == res.tipping_point_below)[0])
    above = int(np.flatnonzero(res.deltas == res.tipping_point_above)[0])
    # the first deltas outward from 0 that tip, with every delta between them not tipping
    assert not res.crosses[below + 1 : above].any()
    assert (res.conclusion[below], res.conclusion[above]) == ("below", "above")
    assert below < zero < above
    # interpolated where the bound that crossed meets 1, between the tipping point and its
    # neighbour towards 0
    assert res.deltas[below] <= res.interpolated_below <= res.deltas[below + 1]
    assert res.deltas[above - 1] <= res.interpolated_above <= res.deltas[above]
    up = res.ci_upper[below : below + 2]
    d = res.deltas[below : below + 2]
    assert res.interpolated_below == pytest.approx(
        d[0] + (1 - up[0]) * (d[1] - d[0]) / (up[1] - up[0])
    )


# ------------------------------------------------------------------------------ the cohort


@pytest.fixture(scope="module")
def amputed() -> Cohort:
    truth = generate_cohort(n_sle=8000, seed=1)
    return apply_missingness(truth, "mnar", columns=["cyclophosphamide"], seed=2).cohort


def test_cohort_tipping_point_monotone_seeded_and_grid_independent(amputed: Cohort) -> None:
    kwargs = dict(m=4, iterations=3, seed=3)
    res = arm_mortality_tipping_point(amputed, deltas=[-2, -1, 1, 2], **kwargs)
    assert res.column == "cyclophosphamide"
    assert res.term == "mortality of MP+CYC+PLEX"
    assert (np.diff(res.estimate) > 0).all(), res.estimate
    again = arm_mortality_tipping_point(amputed, deltas=[-2, -1, 1, 2], **kwargs)
    pd.testing.assert_frame_equal(res.to_frame(), again.to_frame())
    only_mar = arm_mortality_tipping_point(amputed, deltas=[0], **kwargs)
    assert only_mar.estimate.tolist() == [res.estimate[res.deltas.tolist().index(0.0)]]
    frame = res.to_frame()
    assert list(frame.columns[:6]) == [
        "delta",
        "estimate",
        "ci_lower",
        "ci_upper",
        "conclusion",
        "crosses",
    ]
    json.dumps(res.to_dict())


def test_cohort_tipping_point_refuses_what_it_cannot_judge(amputed: Cohort) -> None:
    with pytest.raises(ArgumentError, match="not an arm"):
        arm_mortality_tipping_point(amputed, arm="CYC alone", m=2, iterations=1)
    with pytest.raises(ArgumentError, match="no missing values"):
        arm_mortality_tipping_point(amputed, flag="rituximab", m=2, iterations=1)
    with pytest.raises(ArgumentError, match="once"):
        arm_mortality_tipping_point(amputed, deltas=[1, 1], m=2, iterations=1)


def test_plot_draws_estimates_threshold_and_tipping_point(amputed: Cohort) -> None:
    res = arm_mortality_tipping_point(
        amputed, deltas=[-3, -1, 1, 3], m=3, iterations=2, seed=1, threshold=0.12
    )
    ax = plot_tipping_point(res, truth=0.13)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("threshold 0.12" in s for s in labels)
    assert any("truth" in s for s in labels)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), res.deltas)
    buffer = io.BytesIO()
    save_figure(ax, buffer, format="svg")
    assert buffer.getvalue().startswith(b"<?xml")


def test_argument_checks() -> None:
    assert check_deltas([1, -1]).tolist() == [-1.0, 0.0, 1.0]
    for bad in ([], [np.nan], "0,1", [[0, 1]]):
        with pytest.raises(ArgumentError):
            check_deltas(bad)
    pooled = {0.0: pool_proportions([10, 11], 100), 1.0: pool_proportions([12, 13], 100)}
    with pytest.raises(ArgumentError, match="threshold"):
        summarise_tipping_point(pooled, threshold=float("nan"))
    with pytest.raises(ArgumentError, match="criterion"):
        summarise_tipping_point(pooled, threshold=0.1, criterion="p-value")
    with pytest.raises(ArgumentError, match="delta 0"):
        summarise_tipping_point({1.0: pooled[1.0]}, threshold=0.1)
    two = {d: pool_proportions([[10, 20]] * 3, 100, terms=["a", "b"]) for d in (0.0, 1.0)}
    with pytest.raises(ArgumentError, match="name the term"):
        summarise_tipping_point(two, threshold=0.1)
    assert summarise_tipping_point(two, threshold=0.15, term="b").reference == "above"
    with pytest.raises(ArgumentError, match="PooledEstimate"):
        delta_sensitivity(
            _flag_frame(),
            column="flag",
            deltas=[1],
            statistic=lambda sets: 0.5,
            threshold=0.1,
            predictors=["died"],
            m=2,
            iterations=1,
        )
