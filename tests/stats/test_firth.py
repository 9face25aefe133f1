"""Firth-penalised Cox: properties, and R's ``coxphf`` (1.13.4, built from its CRAN source by
``tests/reference/build_coxphf.sh``; values by ``make_firth_cox_reference.R`` in
``tests/reference/firth_cox.json``) on right-censored, counting-process and delayed-entry data.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes import SmallSampleWarning
from dah_outcomes.stats.cox import cox_regression
from dah_outcomes.stats.firth import firth_cox
from dah_outcomes.testing import assert_close

REF = json.loads((Path(__file__).parents[1] / "reference" / "firth_cox.json").read_text())
SETS = {s["name"]: s for s in REF["sets"]}


def small_series(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    arm = np.repeat([0, 1], 12)
    t = rng.exponential(30, 24)
    died = (arm == 0) & (rng.random(24) < 0.6)  # no deaths in arm 1
    return pd.DataFrame({"t": np.ceil(t), "e": died.astype(int), "plex": arm})


def test_finite_estimate_where_plain_cox_diverges() -> None:
    df = small_series()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plain = cox_regression(df, time="t", event="e", covariates=["plex"], ties="breslow")
    assert any(issubclass(w.category, SmallSampleWarning) for w in caught)
    assert abs(plain.coef[0]) > 10
    firth = firth_cox(df, time="t", event="e", covariates=["plex"])
    est = firth.coef[0]
    assert np.isfinite(est)
    assert -8 < est < 0
    assert firth.ci_lower[0] < est < firth.ci_upper[0]
    assert np.isfinite(firth.ci_upper[0])  # the upper limit is finite; the lower may not be


def test_close_to_plain_cox_with_many_events() -> None:
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.normal(size=n)
    t = rng.exponential(1 / np.exp(0.5 * x))
    df = pd.DataFrame({"t": t, "e": (rng.random(n) < 0.8).astype(int), "x": x})
    plain = cox_regression(df, time="t", event="e", covariates=["x"], ties="breslow")
    firth = firth_cox(df, time="t", event="e", covariates=["x"])
    assert firth.coef[0] == pytest.approx(plain.coef[0], abs=0.01)
    frame = firth.to_frame()
    assert frame.loc[0, "ci_lower"] < frame.loc[0, "hazard_ratio"] < frame.loc[0, "ci_upper"]


@pytest.mark.parametrize("name", sorted(SETS))
def test_matches_coxphf(name: str) -> None:
    ref = SETS[name]
    df = pd.DataFrame(ref["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converged, nothing to announce
        fit = firth_cox(
            df,
            time=ref["time"],
            event=ref["event"],
            entry=ref["entry"],
            covariates=ref["covariates"],
        )
    # coxphf stops at a standardised change of 1e-6 and a score of 1e-4, we at BFGS's
    # tolerance: the estimates and bounds agree to about 1e-6
    assert_close(fit.coef, ref["coef"], rtol=0, atol=1e-5)
    assert_close(fit.ci_lower, ref["ci_lower"], rtol=0, atol=1e-5)
    assert_close(fit.ci_upper, ref["ci_upper"], rtol=0, atol=1e-5)
    assert_close(fit.p_value, ref["p_value"], rtol=1e-6, atol=1e-10)
    # coxphf works on covariates divided by their SD, which moves the penalty
    # (half the log-determinant of the information) by -sum(log sd)
    assert fit.penalized_loglik == pytest.approx(
        ref["loglik"][1] + np.sum(np.log(ref["sd"])), abs=1e-8
    )
    assert fit.n == len(df)
    assert fit.n_events == int(df[ref["event"]].sum())


def test_counting_process_rows_split_anywhere_give_the_same_fit() -> None:
    # an independent check of the (start, stop] path: splitting each row at day 15 into two
    # rows of the same subject leaves every risk set, hence the fit, unchanged
    ref = SETS["dah_arm_no_deaths"]
    df = pd.DataFrame(ref["data"])
    whole = firth_cox(df, time="t", event="e", covariates=["plex", "age"])
    early = df[df["t"] > 15].assign(start=0.0, t=15.0, e=0)
    late = df.assign(start=np.where(df["t"] > 15, 15.0, 0.0))
    split = pd.concat([early, late], ignore_index=True)
    pieces = firth_cox(split, time="t", event="e", entry="start", covariates=["plex", "age"])
    assert pieces.n == len(df) + len(early)
    np.testing.assert_allclose(pieces.coef, whole.coef, atol=1e-7)
    np.testing.assert_allclose(pieces.ci_upper, whole.ci_upper, atol=1e-6)
    assert pieces.penalized_loglik == pytest.approx(whole.penalized_loglik, abs=1e-9)


def test_entry_must_precede_exit() -> None:
    from dah_outcomes.errors import ArgumentError

    df = pd.DataFrame({"start": [0.0, 5, 0], "t": [3.0, 4, 6], "e": [1, 1, 0], "x": [0, 1, 1]})
    with pytest.raises(ArgumentError):
        firth_cox(df, time="t", event="e", entry="start", covariates=["x"])
