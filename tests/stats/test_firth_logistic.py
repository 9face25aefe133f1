"""Firth logistic regression against R's ``logistf`` 1.26.1 (built from its CRAN source;
``tests/reference/make_firth_logistic_reference.R``): logistf's ``sex2`` data and small
simulated DAH series, one with separation (no deaths in an arm). Profile penalised-likelihood
bounds, penalised likelihood-ratio p-values and the penalised log-likelihood agree to 1e-9;
the coefficients to 1e-6 (logistf stops at its xconv/gconv of 1e-5, ours at 1e-8).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, EstimationError, SmallSampleWarning
from dah_outcomes.stats.logistic import firth_logistic

REF = json.loads((Path(__file__).parents[1] / "reference" / "firth_logistic.json").read_text())
FITS = [(c, f) for c in REF["cases"] for f in c["fits"]]


@pytest.mark.parametrize(
    ("case", "ref"), FITS, ids=[f"{c['name']}-{f['conf_level']}" for c, f in FITS]
)
def test_matches_logistf(case: dict, ref: dict) -> None:
    data = pd.DataFrame(case["data"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SmallSampleWarning)  # tested below
        r = firth_logistic(
            data,
            outcome=case["outcome"],
            covariates=case["covariates"],
            conf_level=ref["conf_level"],
        )
    assert list(r.terms) == ref["terms"]
    np.testing.assert_allclose(r.coef, ref["coef"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(r.ci_lower, ref["ci_lower"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.ci_upper, ref["ci_upper"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(r.p_value, ref["p_value"], rtol=0, atol=1e-9)
    assert abs(r.penalized_loglik - ref["loglik"]) < 1e-9
    assert r.converged
    frame = r.to_frame()
    np.testing.assert_allclose(frame["odds_ratio"], np.exp(ref["coef"]), rtol=1e-5)


def separated() -> pd.DataFrame:
    case = next(c for c in REF["cases"] if c["name"] == "dah20_separated")
    return pd.DataFrame(case["data"])


def test_separation_gives_finite_estimates() -> None:
    data = separated()
    assert data.loc[data["arm"] == "rituximab", "died"].sum() == 0  # the separation
    with pytest.warns(SmallSampleWarning, match="per variable"):
        r = firth_logistic(data, outcome="died", covariates=["age", "arm"])
    assert np.isfinite(r.coef).all()
    assert np.isfinite(r.ci_lower).all()
    assert np.isfinite(r.ci_upper).all()


def test_events_per_variable_warning_fires_and_not() -> None:
    rng = np.random.default_rng(3)
    n = 400
    big = pd.DataFrame({"x": rng.normal(size=n)})
    big["y"] = (rng.random(n) < 0.4).astype(int)  # ~160 of the rarer outcome for 1 term
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        firth_logistic(big, outcome="y", covariates=["x"])
    small = big.iloc[:40]
    with pytest.warns(SmallSampleWarning, match=r"firth_logistic: \d+ outcomes of the rarer"):
        firth_logistic(small, outcome="y", covariates=["x"], min_events_per_variable=50)


def test_bad_input() -> None:
    data = separated()
    with pytest.raises(ArgumentError, match="not in the data"):
        firth_logistic(data, outcome="dead", covariates=["age"])
    with pytest.raises(ArgumentError, match="0/1"):
        firth_logistic(data.assign(died=data["died"] * 2), outcome="died", covariates=["age"])
    collinear = data.assign(age2=data["age"] * 2)
    with pytest.raises(EstimationError, match="singular"):
        firth_logistic(collinear, outcome="died", covariates=["age", "age2"])
