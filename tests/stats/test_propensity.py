"""Propensity scores, weights, balance and standardised risks against R (nnet::multinom,
survival::survfit, glm and hand formulas: tests/reference/make_propensity_reference.R)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from dah_outcomes.errors import ArgumentError, PositivityWarning
from dah_outcomes.stats.balance import balance_table, standardised_difference
from dah_outcomes.stats.propensity import (
    PositivityDiagnostics,
    effective_sample_size,
    multinomial_logit,
    positivity_diagnostics,
    propensity_weights,
    truncate_weights,
)
from dah_outcomes.stats.standardisation import RiskEndpoint, standardised_arm_risks
from dah_outcomes.testing import assert_close

REF = json.loads((Path(__file__).parents[1] / "reference" / "propensity.json").read_text())
ARMS = REF["arms"]
COVARIATES = ["age", "severe", "era"]


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    d = pd.DataFrame(REF["data"])
    return d.assign(
        arm=pd.Categorical(d["arm"], ARMS), era=pd.Categorical(d["era"], ["historical", "modern"])
    )


def test_scores_match_multinom(data: pd.DataFrame) -> None:
    w = propensity_weights(data, treatment="arm", confounders=COVARIATES)
    assert w.arms == tuple(ARMS)
    assert w.converged
    # multinom's BFGS stops near, not at, the optimum: probabilities agree to ~1e-7
    assert_close(w.scores, REF["scores"], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize(
    ("key", "estimand", "stabilized"),
    [
        ("ATE", "ATE", False),
        ("ATE_stabilized", "ATE", True),
        ("ATT", "ATT", False),
        ("ATT_stabilized", "ATT", True),
        ("overlap", "overlap", False),
        ("overlap_stabilized", "overlap", True),
    ],
)
def test_weights_match_the_hand_formulas(
    data: pd.DataFrame, key: str, estimand: str, stabilized: bool
) -> None:
    w = propensity_weights(
        data,
        treatment="arm",
        confounders=COVARIATES,
        estimand=estimand,
        reference=REF["reference"] if estimand == "ATT" else None,
        stabilized=stabilized,
    )
    assert_close(w.weights, REF["weights"][key], rtol=1e-5)


def test_truncation_and_effective_sizes(data: pd.DataFrame) -> None:
    q = propensity_weights(data, treatment="arm", confounders=COVARIATES, truncate_quantile=0.95)
    assert_close(q.weights, REF["weights"]["truncated_quantile_0.95"], rtol=1e-5)
    # 5% of 600 weights above the 95th percentile and 5% below the 5th
    assert q.n_truncated == pytest.approx(60, abs=2)
    fixed = propensity_weights(data, treatment="arm", confounders=COVARIATES, truncate_at=3)
    assert_close(fixed.weights, REF["weights"]["truncated_at_3"], rtol=1e-5)
    assert fixed.weights.max() <= 3
    plain = propensity_weights(data, treatment="arm", confounders=COVARIATES)
    assert_close(
        list(plain.effective_sizes().values()), REF["effective_n_ate_stabilized"], rtol=1e-5
    )
    frame = plain.to_frame()
    assert list(frame["arm"]) == ARMS
    assert (frame["effective_n"] <= frame["n"]).all()
    assert plain.to_dict()["per_arm"][0]["arm"] == ARMS[0]


def test_effective_sample_size_is_kish() -> None:
    assert effective_sample_size(np.ones(10)) == pytest.approx(10)
    assert effective_sample_size(np.array([1.0, 0.0, 0.0])) == pytest.approx(1)
    assert effective_sample_size(np.array([2.0, 1.0])) == pytest.approx(9 / 5)
    assert effective_sample_size(np.zeros(3)) == 0


def test_smds_match_the_hand_formula(data: pd.DataFrame) -> None:
    w = propensity_weights(data, treatment="arm", confounders=COVARIATES)
    table = balance_table(data, treatment="arm", covariates=COVARIATES, weights=w.weights)
    ours = table.pairs.set_index(["term", "arm", "comparator"])
    for row in REF["smd"]:
        got = ours.loc[(row["term"], row["arm"], row["comparator"])]
        assert got["smd_unweighted"] == pytest.approx(row["smd_unweighted"], rel=1e-9)
        assert got["smd_weighted"] == pytest.approx(row["smd_weighted"], rel=1e-5, abs=1e-7)
    summary = table.to_frame().set_index("term")
    assert summary.loc["age", "binary"] == False  # noqa: E712
    assert summary.loc["severe", "binary"] == True  # noqa: E712
    # the model's own covariates are balanced by its ATE weights
    assert (summary["max_smd_weighted"] < 0.1).all()
    assert (summary["max_smd_unweighted"] > summary["max_smd_weighted"]).all()


def test_standardised_difference_edges() -> None:
    ones, zeros = np.ones(5), np.zeros(5)
    assert standardised_difference(ones, zeros, binary=True) == np.inf
    assert standardised_difference(zeros, ones, binary=True) == -np.inf
    assert standardised_difference(ones, ones, binary=True) == 0.0
    assert np.isnan(standardised_difference(ones, np.array([]), binary=False))


def test_standardised_risks_match_r(data: pd.DataFrame) -> None:
    endpoints = [
        RiskEndpoint("30", "event", "time", REF["horizon"]),
        RiskEndpoint("in_hospital", "in_hospital"),
    ]
    r = standardised_arm_risks(
        data, treatment="arm", covariates=COVARIATES, endpoints=endpoints, bootstrap=0
    )
    est = r.estimates.set_index(["endpoint", "method", "arm"])["risk"]
    for endpoint, methods in REF["risks"].items():
        for method, values in methods.items():
            got = [est[(endpoint, method, a)] for a in ARMS]
            assert_close(got, values, rtol=2e-5)
    # the IPC-weighted proportion of each arm is one minus its Kaplan-Meier at the horizon
    observed = [est[("30", "observed", a)] for a in ARMS]
    assert_close(observed, REF["km_risk_30"], rtol=1e-12)
    assert r.bootstrap == 0
    assert np.isnan(r.estimates["ci_lower"]).all()


def test_multinomial_with_two_classes_is_logistic_regression() -> None:
    rng = np.random.default_rng(4)
    x = rng.normal(size=(3000, 2))
    y = (rng.random(3000) < 1 / (1 + np.exp(-(0.3 + x @ np.array([0.8, -0.5]))))).astype(int)
    coef, converged = multinomial_logit(x, y, 2)
    from dah_outcomes.stats.weighting import logistic_fit

    assert converged
    np.testing.assert_allclose(coef[:, 0], logistic_fit(x, y.astype(float)), rtol=1e-8)


def test_bad_arguments(data: pd.DataFrame) -> None:
    with pytest.raises(ArgumentError, match="reference"):
        propensity_weights(data, treatment="arm", confounders=COVARIATES, estimand="ATT")
    with pytest.raises(ArgumentError, match="'ATT' only"):
        propensity_weights(data, treatment="arm", confounders=COVARIATES, reference="MP+CYC")
    with pytest.raises(ArgumentError, match="estimand"):
        propensity_weights(data, treatment="arm", confounders=COVARIATES, estimand="ATC")
    with pytest.raises(ArgumentError, match="not both"):
        truncate_weights(np.ones(3), quantile=0.99, at=5)
    with pytest.raises(ArgumentError, match=r"\(0.5, 1\)"):
        truncate_weights(np.ones(3), quantile=0.2)
    with pytest.raises(ArgumentError, match="positive"):
        truncate_weights(np.ones(3), at=0)
    with pytest.raises(ArgumentError, match="two arms"):
        propensity_weights(data[data["arm"] == ARMS[0]], treatment="arm", confounders=["age"])
    holed = data.assign(age=data["age"].where(data.index > 0))
    with pytest.raises(ArgumentError, match="missing"):
        propensity_weights(holed, treatment="arm", confounders=COVARIATES)
    with pytest.raises(ArgumentError, match="both time and horizon"):
        standardised_arm_risks(
            data,
            treatment="arm",
            covariates=COVARIATES,
            endpoints=[RiskEndpoint("x", "event", "time")],
        )
    with pytest.raises(ArgumentError, match="0/1"):
        standardised_arm_risks(
            data, treatment="arm", covariates=["severe"], endpoints=[RiskEndpoint("x", "age")]
        )


def test_positivity_diagnostics_thresholds() -> None:
    """Each threshold is crossed alone, and the fit warns once with the numbers."""
    rng = np.random.default_rng(0)
    fine = rng.uniform(0.2, 0.8, 200)
    even = np.ones(200)

    def check(p: np.ndarray, w: np.ndarray, **options: Any) -> PositivityDiagnostics:
        return positivity_diagnostics(
            what="score", where="here", groups=["a"], probabilities=[p], weights=[w], **options
        )

    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        ok = check(fine, even)
    assert not ok.flagged
    assert ok.effective_n == (200.0,)
    low = fine.copy()
    low[:3] = [0.004, 0.009, 0.0101]  # 0.0101 is inside the bounds
    with pytest.warns(PositivityWarning, match=r"'a': 2 with a score below 0.01 \(lowest 0.004\)"):
        assert check(low, even).n_low == (2,)
    high = fine.copy()
    high[0] = 0.995
    with pytest.warns(PositivityWarning, match="1 with a score above 0.99"):
        assert check(high, even).n_high == (1,)
    with warnings.catch_warnings():  # a high probability of remaining uncensored is no concern
        warnings.simplefilter("error", PositivityWarning)
        assert check(high, even, check_high=False).n_high == (0,)
    heavy = even.copy()
    heavy[0] = 12.0  # mean (199 + 12) / 200 = 1.055: 11.4 times the mean
    with pytest.warns(PositivityWarning, match=r"a weight 11.4 times the mean \(> 10\)"):
        check(fine, heavy)
    skewed = np.r_[np.full(20, 9.0), np.ones(180)]  # Kish: 360^2 / 1800 = 72 of 200
    with pytest.warns(PositivityWarning, match=r"effective sample size 72 of 200 \(< 50%\)"):
        check(fine, skewed)
    with pytest.warns(PositivityWarning) as record:
        both = positivity_diagnostics(
            what="score",
            where="here",
            groups=["a", "b"],
            probabilities=[low, high],
            weights=[heavy, skewed],
        )
    assert len(record) == 1  # once per fit, every group and threshold in it
    assert both.message == str(record[0].message)
    assert "'a': 2 with a score below" in both.message
    assert "'b': 1 with a score above" in both.message
    frame = both.to_frame()
    assert frame["group"].tolist() == ["a", "b"]
    assert both.to_dict()["flagged"] is True


def test_propensity_weights_record_positivity(data: pd.DataFrame) -> None:
    """The R reference data overlap: no warning, the diagnostics recorded; a covariate that
    nearly decides the arm gives a near-violation, announced once."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PositivityWarning)
        w = propensity_weights(data, treatment="arm", confounders=COVARIATES)
    assert w.positivity is not None
    assert not w.positivity.flagged
    assert w.positivity.groups == tuple(ARMS)
    assert list(w.positivity.effective_n) == pytest.approx(list(w.effective_sizes().values()))
    assert w.to_dict()["positivity"]["flagged"] is False
    rng = np.random.default_rng(3)
    x = rng.normal(size=400)
    arm = np.where(rng.random(400) < 1 / (1 + np.exp(-4 * x)), "B", "A")
    sharp = pd.DataFrame({"arm": arm, "x": x})
    with pytest.warns(PositivityWarning, match="propensity_weights: near-violations") as record:
        s = propensity_weights(sharp, treatment="arm", confounders=["x"])
    assert len([r for r in record if r.category is PositivityWarning]) == 1
    assert s.positivity is not None
    assert s.positivity.n_low[0] > 0
    assert s.positivity.n_high[0] > 0
